// Launching a planned process: clone (into its cgroup, with best-effort fallbacks), the parent's
// part of the setup (id maps, cgroup joins), and the conversation over the status socket up to
// the child's report. Shared by create/run and exec.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "bundle/config.hpp"
#include "runtime/cgroups.hpp"
#include "runtime/plan_builder.hpp"
#include "runtime/process.hpp"

namespace nyx {

class Launch {
 public:
  // `object` names the container in errors ("container \"x\"").
  Launch(BuiltPlan plan, Cgroups cgroups, bool enforce, std::string object);
  Launch(const Launch&) = delete;
  Launch& operator=(const Launch&) = delete;
  ~Launch();

  BuiltPlan& plan() { return bp_; }
  Outcome& outcome() { return bp_.outcome; }
  ChildProcess& init() { return init_; }
  const ChildProcess& init() const { return init_; }
  pid_t pid() const { return init_.pid; }
  Cgroups& cgroups() { return cgroups_; }
  const Cgroups& cgroups() const { return cgroups_; }

  // The child keeps `fd` open until execve (exec FIFO, pty slave).
  void keep_fd(int fd) { bp_.storage->keep_fds.push_back(fd); }
  // Creates the status socket and clones the child. Throws Error when no process could be made.
  void spawn();
  // Parent's share of the setup, then lets the child go: id maps when `maps` is given, cgroup
  // joins, oom_score_adj.
  void setup(const Linux* maps, std::optional<int> oom_score_adj);
  // Reads the child's messages up to its report. `on_hook_point` runs while the child waits
  // before pivot_root; `on_new_init` when an intermediate process handed over the real init.
  void talk(const std::function<void()>& on_hook_point,
            const std::function<void(pid_t)>& on_new_init);
  // One line per failed primitive; throws in enforce mode.
  std::vector<std::string> check_outcome() const;

  void send(ParentMsg msg) const;
  void keep() const;
  UniqueFd take_sock() { return std::move(parent_sock_); }
  // The pty master the child allocated for process.terminal (empty without one).
  UniqueFd take_console() { return std::move(console_); }
  // Terminal size for the child's pty: consoleSize, else our own terminal's.
  void set_terminal(const Process& proc, bool console_mount);
  // From now on the process is the caller's: no kill on destruction.
  void release() { released_ = true; }

 private:
  int clone_without_namespaces(std::uint64_t flags, int err);
  UniqueFd enter_pid_namespace();
  void merge_report(const struct ChildReport& r);

  BuiltPlan bp_;
  Cgroups cgroups_;
  bool enforce_;
  std::string object_;
  ChildProcess init_;
  UniqueFd parent_sock_;
  UniqueFd child_sock_;
  UniqueFd console_;
  bool cloned_into_cgroup_ = false;
  bool released_ = false;
};

}  // namespace nyx
