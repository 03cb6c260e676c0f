// The mounts primitive's pieces used elsewhere: option parsing (tests), and the masked and
// read-only paths, which the root step covers right before it changes the root.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/child_abi.hpp"

namespace nyx {

class ChildContext;

// StepEntry::what of the mounts primitive.
inline constexpr std::uint16_t kMountConfig = 0;       // value: index in config mounts
inline constexpr std::uint16_t kMountDev = 1;          // /dev nodes and links
inline constexpr std::uint16_t kMountMasked = 2;       // value: index in maskedPaths
inline constexpr std::uint16_t kMountReadonly = 3;     // value: index in readonlyPaths
inline constexpr std::uint16_t kMountCount = 4;        // value: config mounts made
inline constexpr std::uint16_t kMountNoNamespace = 5;  // the mount namespace was refused

// linux.rootfsPropagation as mount(2) flags; rslave when unset.
unsigned long rootfs_propagation_flags(const std::string& name);

// Parses one option list into mount(2) flags; exposed for tests.
struct ParsedOptions {
  unsigned long flags = 0;        // MS_* to set
  unsigned long propagation = 0;  // MS_SHARED etc.
  bool bind = false;
  bool recursive = false;
  std::uint64_t attr_set = 0;  // MOUNT_ATTR_* of the r-options (rro, rnosuid, ...), recursive
  std::uint64_t attr_clr = 0;
  std::string data;  // everything mount(2) does not know as a flag
  // idmap / ridmap (runtime-spec 1.2): an idmapped bind mount, on its submounts too for ridmap.
  bool idmap = false;
  bool idmap_recursive = false;
  std::string idmap_custom;  // crun's "idmap=uids=...;gids=..." spelling, refused
};
ParsedOptions parse_mount_options(const std::vector<std::string>& options);

// The plan has anything for the mounts primitive to do.
bool mounts_planned(const ChildPlan& p);
// Child: covers linux.maskedPaths and makes linux.readonlyPaths read-only (recorded as mounts).
void protect_paths(ChildContext& c);

}  // namespace nyx
