// Turns config mounts, /dev, masked and read-only paths into the child's mount steps.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "bundle/config.hpp"
#include "runtime/plan.hpp"

namespace nyx {

struct MountContext {
  std::string bundle;           // absolute bundle directory (relative bind sources start here)
  std::string rootfs;           // absolute rootfs
  bool user_namespace = false;  // device nodes are bound from the host instead of mknod
  bool cgroup_namespace = false;
  // The container's cgroup directories: {controllers ("" = unified), host path}.
  std::vector<std::pair<std::string, std::string>> cgroups;
};

// Fills the mount part of `storage.plan`. Throws Error naming mounts[i].<field> for bad input.
void plan_mounts(const Config& cfg, const MountContext& ctx, PlanStorage& storage);

// linux.rootfsPropagation as mount(2) flags; rslave when unset.
unsigned long rootfs_propagation_flags(const std::string& name);

// Parses one option list into mount(2) flags; exposed for tests.
struct ParsedOptions {
  unsigned long flags = 0;        // MS_* to set
  unsigned long propagation = 0;  // MS_SHARED etc.
  bool bind = false;
  bool recursive = false;
  std::string data;  // everything mount(2) does not know as a flag
};
ParsedOptions parse_mount_options(const std::vector<std::string>& options);

}  // namespace nyx
