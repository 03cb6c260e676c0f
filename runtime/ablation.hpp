// --ablate: switching single hardening primitives off, for experiments (SPEC §4).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bundle/config.hpp"

namespace nyx {

enum class Ablate : std::uint32_t {
  UserNs = 1u << 0,
  PidNs = 1u << 1,
  MntNs = 1u << 2,
  IpcNs = 1u << 3,
  UtsNs = 1u << 4,
  NetNs = 1u << 5,
  CgroupNs = 1u << 6,
  Chroot = 1u << 7,
  Nnp = 1u << 8,
  Rlimits = 1u << 9,
  Caps = 1u << 10,
  Seccomp = 1u << 11,
  SeccompSocket = 1u << 12,
  SeccompSetuid = 1u << 13,
  Mounts = 1u << 14,
  Cgroups = 1u << 15,
};

class Ablation {
 public:
  // Parses "userns,pidns,..."; throws Error naming an unknown entry and listing the known ones.
  static Ablation parse(std::string_view list);
  static Ablation from_names(const std::vector<std::string>& names);

  bool has(Ablate a) const { return (mask_ & static_cast<std::uint32_t>(a)) != 0; }
  bool namespace_ablated(NsType type) const;
  bool empty() const { return mask_ == 0; }
  // Canonical names in a fixed order, as recorded in hardening.ablation.
  std::vector<std::string> names() const;

 private:
  std::uint32_t mask_ = 0;
};

}  // namespace nyx
