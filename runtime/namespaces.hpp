// Namespaces: which are created by clone flags, unshared or joined in the child, or entered by
// the parent for its children (pid), and the id maps the parent writes for a new user namespace.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <vector>

#include "bundle/config.hpp"
#include "runtime/ablation.hpp"
#include "runtime/fd.hpp"
#include "runtime/plan.hpp"

namespace nyx {

int clone_flag(NsType type);

struct NamespaceSetup {
  std::uint64_t clone_flags = 0;  // CLONE_NEW* passed to clone3
  UniqueFd pid_join;              // setns'd by the parent around clone (pid_for_children)
  UniqueFd userns_join;
  std::vector<UniqueFd> join_fds;
  std::vector<NsType> requested;        // asked for and not ablated
  std::array<int, kNsTypeCount> err{};  // per type: errno when it did not hold
  bool new_user = false;
  bool new_mount = false;
  bool mount_ns = false;  // the container has a mount namespace of its own (new or joined)
};

// Decides how each namespace is made, opens the paths to join and fills the plan's namespace
// part. A path that cannot be opened is recorded in `err` (best-effort), not thrown.
NamespaceSetup plan_namespaces(const Config& cfg, const Ablation& ablation, PlanStorage& st);

// Writes uid_map/gid_map (and setgroups=deny when `deny_setgroups`) of `pid`.
void write_id_maps(pid_t pid, const Linux& lx, bool deny_setgroups);

}  // namespace nyx
