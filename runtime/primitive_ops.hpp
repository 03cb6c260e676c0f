// What each primitive's file (runtime/primitives/<name>.cpp) defines as `<name>_ops`: its
// parent half, its child half and how its entries read in the record.
#pragma once

#include <span>
#include <string_view>

#include "runtime/outcome.hpp"

namespace nyx {

class PlanBuilder;
class ChildContext;

struct PrimitiveOps {
  // Parent half: reads the config, fills the plan, marks the record's request and details.
  // Called in table order, so it may read what earlier rows planned.
  void (*plan)(PlanBuilder& b) = nullptr;
  // Child half: runs in its row's stage of run_child, with system calls only.
  void (*child)(ChildContext& c) = nullptr;
  // Confine stage: the load itself, after the report has gone and the start has come. Returns
  // 0 or the errno; nothing of the runtime's but execve runs after the last one.
  int (*commit)(ChildContext& c) = nullptr;
  // Folds one entry into the record's details (status and errno are folded for every row).
  void (*merge)(PrimOutcome& o, const StepEntry& e, std::string_view note) = nullptr;
  // --ablate names finer than the row (one namespace type, one seccomp family).
  std::span<const std::string_view> finer_ablations;
  // docs/state.md: when the config requests it, and the extra fields of its entry.
  std::string_view requested_when;
  std::string_view fields;
};

}  // namespace nyx
