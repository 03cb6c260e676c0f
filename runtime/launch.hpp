// Launching a planned process: the plan (built once per attempt from the caller's input),
// clone (into its cgroup, with best-effort fallbacks), the parent's part of the setup (id maps,
// cgroup joins), the conversation over the status socket up to the child's report, and the
// record. Shared by create/run and exec.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bundle/config.hpp"
#include "runtime/cgroups.hpp"
#include "runtime/plan.hpp"
#include "runtime/process.hpp"

namespace nyx {

class Launch {
 public:
  // Makes the status socket and builds the plan: throws Error naming the config field for
  // anything that cannot be planned. `object` names the container in errors.
  Launch(PlanInput in, Cgroups cgroups, std::string object);
  Launch(const Launch&) = delete;
  Launch& operator=(const Launch&) = delete;
  ~Launch();

  const std::vector<std::string>& warnings() const { return bp_.warnings; }
  // The config asks for `p` and it is not ablated.
  bool requested(Prim p) const { return bp_.planned[p].requested; }
  ChildProcess& init() { return init_; }
  const ChildProcess& init() const { return init_; }
  pid_t pid() const { return init_.pid; }
  Cgroups& cgroups() { return cgroups_; }
  const Cgroups& cgroups() const { return cgroups_; }

  // Events the caller saw before the clone (the cgroups it made), for the record.
  void add_events(std::vector<ParentEvent> events);
  // Clones the child. Throws Error when no process could be made.
  void spawn();
  // Parent's share of the setup, then lets the child go: id maps when `maps` is given, cgroup
  // joins, oom_score_adj.
  void setup(const Linux* maps, std::optional<int> oom_score_adj);
  // Reads the child's messages up to its report, then makes the record. `on_hook_point` runs
  // while the child waits before the root change; `on_new_init` when an intermediate process
  // handed over the real init.
  void talk(const std::function<void()>& on_hook_point,
            const std::function<void(pid_t)>& on_new_init);
  // The record, once talk() has returned.
  const Outcome& outcome() const { return outcome_; }
  // One line per failed primitive; throws in enforce mode.
  std::vector<std::string> check_outcome() const;

  void send(ParentMsg msg) const;
  void keep() const;
  // exec into a pid namespace (plan.fork_at_start): after Start, the joining process forks the
  // exec'd process and hands it over. Takes it as the process to wait for once it is checked to
  // be this process's child (CLONE_PARENT) in the container's pid namespace; throws otherwise.
  void follow_fork();
  UniqueFd take_sock() { return std::move(parent_sock_); }
  // The pty master the child allocated for process.terminal (empty without one).
  UniqueFd take_console() { return std::move(console_); }
  // The listener of a seccomp filter with SCMP_ACT_NOTIFY rules (empty without one).
  UniqueFd take_seccomp_listener() { return std::move(seccomp_listener_); }
  // From now on the process is the caller's: no kill on destruction.
  void release() { released_ = true; }

 private:
  void build();
  int clone_with_fallbacks(UniqueFd& cgroup_fd);
  // The intermediate process handed over `pid`: reaps it and takes `pid` as the init.
  void adopt(pid_t pid);

  PlanInput in_;
  BuiltPlan bp_;
  Cgroups cgroups_;
  std::string object_;
  std::vector<ParentEvent> events_;
  ChildReport report_;
  Outcome outcome_;
  ChildProcess init_;
  UniqueFd parent_sock_;
  UniqueFd child_sock_;
  UniqueFd console_;
  UniqueFd seccomp_listener_;
  bool cloned_into_cgroup_ = false;
  bool released_ = false;
};

// Terminal settings for the child's pty: consoleSize, else our own terminal's.
TerminalPlan terminal_plan(const Process& proc, bool console_mount);

}  // namespace nyx
