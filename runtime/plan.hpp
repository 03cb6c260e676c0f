// Building the hardening plan from a validated config, in the parent, once: everything the
// caller decides (fds, terminal, hooks, join target, what the host refused) is an input, and
// nobody edits the plan after it is built.
#pragma once

#include <sys/types.h>

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/fd.hpp"
#include "bundle/config.hpp"
#include "runtime/ablation.hpp"
#include "runtime/child_abi.hpp"
#include "runtime/outcome.hpp"

namespace nyx {

// exec: the running container the process joins.
struct JoinTarget {
  pid_t init = 0;  // its init, pinned by the caller's pidfd
};

struct PlanInput {
  const Config* cfg = nullptr;
  std::string bundle;  // absolute
  std::string rootfs;  // absolute, checked to be a directory
  Ablation ablation;
  bool enforce = false;
  bool no_pivot = false;
  bool rootless = false;       // the runtime itself is not root
  std::vector<int> preserved;  // fds of the caller handed to the container
  // The container's cgroup directories, for "cgroup" mounts: {controllers, host path}.
  std::vector<std::pair<std::string, std::string>> cgroups;
  // The parent writes cgroup.procs before the child goes on (no CLONE_INTO_CGROUP for all).
  bool cgroup_join_by_pid = false;

  int status_sock = -1;  // the child's end of the status socket
  int exec_fifo = -1;    // create: the init blocks on it until `start`
  bool hooks_stop = false;
  TerminalPlan terminal;
  std::optional<JoinTarget> join;
  // Namespace types (bit per NsType) the host refused to create at clone, with the errno:
  // planned as not there, and recorded failed.
  std::uint32_t refused_namespaces = 0;
  int refused_errno = 0;
  // The kernel's Landlock ABI version as planned for; 0: ask the running kernel.
  int landlock_abi = 0;
};

// Owns every string and array a ChildPlan points into.
struct PlanStorage {
  ChildPlan plan;
  std::deque<std::string> strings;
  std::vector<MountStep> mount_steps;
  std::vector<DeviceNode> devices;
  std::vector<DevSymlink> dev_links;
  std::vector<const char*> dev_dirs;
  std::vector<const char*> masked;
  std::vector<const char*> readonly;
  std::vector<SysctlStep> sysctls;
  std::vector<RlimitStep> rlimits;
  std::vector<NsJoin> joins;
  std::vector<gid_t> groups;
  std::vector<const char*> argv;
  std::vector<const char*> envp;
  std::vector<int> keep_fds;
  std::vector<int> preserved;
  std::vector<UniqueFd> fds;  // opened by the parent for the child (bind sources)
  std::vector<const char*> cap_names;
  std::vector<LandlockPathStep> landlock_rules;
  std::vector<LandlockPortStep> landlock_ports;
  std::vector<sock_filter> seccomp_code;
  sock_fprog seccomp_prog{};

  const char* keep(std::string s) { return strings.emplace_back(std::move(s)).c_str(); }
};

// What the parent does for the namespaces around clone, beside the child's plan.
struct NamespaceSetup {
  std::uint64_t clone_flags = 0;  // CLONE_NEW* passed to clone3
  UniqueFd pid_join;              // setns'd by the parent around clone (pid_for_children)
  UniqueFd userns_join;
  std::vector<UniqueFd> join_fds;
  std::vector<NsType> requested;  // asked for and not ablated
  bool new_user = false;
  bool mount_ns = false;  // the container has a mount namespace of its own (new or joined)
};

struct BuiltPlan {
  std::unique_ptr<PlanStorage> storage;
  NamespaceSetup ns;
  Outcome planned;                  // requests, ablation marks, planned details
  std::vector<ParentEvent> events;  // what planning already knows failed (a path not opened)
  std::vector<std::string> warnings;
};

// The context a primitive's parent half works in (PrimitiveOps::plan).
class PlanBuilder {
 public:
  explicit PlanBuilder(const PlanInput& in);
  const PlanInput& in;
  const Config& cfg;
  BuiltPlan out;
  PlanStorage& st;
  ChildPlan& plan;

  PrimOutcome& record(Prim p) { return out.planned[p]; }
  // Marks `p` requested, or ablated when the ablation names its row.
  bool request(Prim p);
  void event(Prim p, int err, std::uint16_t what = 0, std::string note = {});
  void warn(std::string w) { out.warnings.push_back(std::move(w)); }
  void keep_fd(int fd) { st.keep_fds.push_back(fd); }
};

// Throws Error naming the config field for anything that cannot be planned.
BuiltPlan build_plan(const PlanInput& in);

}  // namespace nyx
