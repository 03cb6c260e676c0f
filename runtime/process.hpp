// Processes: cloning the container init, identifying a pid across recycling, signalling and
// waiting through pidfds.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "base/fd.hpp"
#include "runtime/child_abi.hpp"

namespace nyx {

struct ChildProcess {
  pid_t pid = -1;
  UniqueFd pidfd;
  std::uint64_t start_time = 0;  // process_start_time, read once when the pid is known
};

// clone3 with `flags` (CLONE_NEW*), into the cgroup `cgroup_fd` when >= 0, running
// run_child(plan) in the child. Returns 0 or the errno of the failed clone.
int clone_child(std::uint64_t flags, int cgroup_fd, const ChildPlan& plan, ChildProcess& out);

// Field 22 of /proc/PID/stat (start time in clock ticks since boot); nullopt when the process
// is gone. `zombie` is set when it has exited but was not reaped.
std::optional<std::uint64_t> process_start_time(pid_t pid, bool* zombie = nullptr);

// True when `pid` is alive, not a zombie, and started at `start_time` (so not a recycled pid).
bool process_is(pid_t pid, std::uint64_t start_time);

// A pidfd of `pid` that is checked to be the process that started at `start_time`.
UniqueFd open_process(pid_t pid, std::uint64_t start_time);

int send_signal(int pidfd, int sig);

// Waits until the process behind `pidfd` has exited or `timeout_ms` passed (-1: forever).
// Returns true when it exited.
bool wait_exit(int pidfd, int timeout_ms);

// --preserve-fds N hands the caller's fds among 3..3+N-1 to the container; returns those that
// are open. The others are filled with close-on-exec /dev/null placeholders, so that no fd the
// runtime opens later takes their number and reaches the container.
std::vector<int> reserve_preserved_fds(int count);

// Decodes a wait status into the shell convention: the exit code, or 128+N for signal N.
int exit_code_of(int wait_status);

}  // namespace nyx
