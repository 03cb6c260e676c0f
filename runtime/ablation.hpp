// --ablate: switching single hardening primitives off, for experiments (SPEC §4). The names are
// the record's (from the primitive table), the table's group names ("rlimits"), each row's
// older spelling ("nnp", "chroot", "caps") and the finer names a primitive's file lists
// ("userns", "seccomp-socket", ...).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/primitives.hpp"

namespace nyx {

class Ablation {
 public:
  // Parses "userns,pidns,..."; throws Error naming an unknown entry and listing the known ones.
  static Ablation parse(std::string_view list);
  static Ablation from_names(const std::vector<std::string>& names);

  // A canonical name: a row's name, a group or a finer name.
  bool has(std::string_view name) const;
  // The row is ablated by its own name or its group's.
  bool primitive(Prim p) const;
  bool empty() const { return mask_ == 0; }
  // Canonical names in the table's order, as recorded in hardening.ablation.
  std::vector<std::string> names() const;

 private:
  std::uint64_t mask_ = 0;
};

// Every canonical ablation name, in the table's order.
const std::vector<std::string_view>& ablation_names();

}  // namespace nyx
