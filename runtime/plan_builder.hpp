// Building the hardening plan from a validated config, in the parent.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "bundle/config.hpp"
#include "runtime/ablation.hpp"
#include "runtime/namespaces.hpp"
#include "runtime/outcome.hpp"
#include "runtime/plan.hpp"
#include "runtime/seccomp.hpp"

namespace nyx {

struct PlanInput {
  const Config* cfg = nullptr;
  std::string bundle;  // absolute
  std::string rootfs;  // absolute, checked to be a directory
  Ablation ablation;
  bool enforce = false;
  bool no_pivot = false;
  std::vector<int> preserved;  // fds of the caller handed to the container
  bool rootless = false;       // the runtime itself is not root
  // The container's cgroup directories, for "cgroup" mounts: {controllers, host path}.
  std::vector<std::pair<std::string, std::string>> cgroups;
};

struct BuiltPlan {
  std::unique_ptr<PlanStorage> storage;
  NamespaceSetup ns;
  std::optional<CompiledSeccomp> seccomp;
  Outcome outcome;  // requested/ablated/details; statuses are filled as steps run
  std::vector<std::string> warnings;
};

// Throws Error naming the config field for anything that cannot be planned.
BuiltPlan build_plan(const PlanInput& in);

}  // namespace nyx
