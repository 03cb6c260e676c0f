// What the reliability tests need beyond the integration harness: runtime processes that can be
// SIGKILLed at a chosen moment, and scans of the host for anything a container left behind
// (processes, mounts, cgroup directories, state entries).
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "tests/integration/harness.hpp"

namespace nyx::test {

// The environment variable that marks every process of one trial: the runtime is started with
// it, the container's init inherits it until execve, and the config gives it to the harness.
constexpr const char* kMarkerVar = "NYX_TRIAL";

// Starts argv with kMarkerVar=marker added to the environment and stdio on /dev/null.
pid_t spawn_marked(const std::vector<std::string>& argv, const std::string& marker);
// waitpid that retries on EINTR; returns the raw status.
int wait_pid(pid_t pid);
double now_ms();
void sleep_us(long us);

// Live (not zombie) processes whose environment holds kMarkerVar=marker or whose command line
// has `id` as one argument; never the calling process.
std::vector<pid_t> marked_processes(const std::string& marker, const std::string& id);
// Directories under any cgroup hierarchy (/sys/fs/cgroup/*) whose name contains `id`.
std::vector<std::string> cgroup_dirs_named(const std::string& id);

// A description of everything a container left on the host (empty when clean): processes,
// mounts under the sandbox, cgroups, state entries.
std::string leftovers(const Sandbox& sb, const std::string& id, const std::string& marker);

// Polls `done` every 5 ms for up to `ms` milliseconds (a bound against hangs, not a timing
// assertion).
bool eventually(const std::function<bool()>& done, int ms);

// Reaps any exited child (the test binary is a subreaper, so orphaned container inits end up
// here).
void reap_children();

// A config running `args` under the strict profile, with resources (so v1 hierarchies get a
// cgroup too) and the trial marker in the harness's environment.
json marked_config(const std::vector<std::string>& args, const std::string& marker);

}  // namespace nyx::test
