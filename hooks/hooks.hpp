// OCI hooks: each runs with the container state on stdin, with its own args, env and timeout,
// in the runtime's namespaces or in the container's (createContainer, startContainer).
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "bundle/config.hpp"

namespace nyx {

enum class HookPoint {
  Prestart,
  CreateRuntime,
  CreateContainer,
  StartContainer,
  Poststart,
  Poststop
};

std::string_view hook_point_name(HookPoint point);
const std::vector<Hook>& hooks_at(const Hooks& hooks, HookPoint point);

struct HookRun {
  HookPoint point;
  std::string path;
  int exit_code = 0;  // 128+N when killed by signal N
  bool timed_out = false;
  double ms = 0;
  bool ok() const { return exit_code == 0 && !timed_out; }
  nlohmann::json to_json() const;
};

// Runs the hooks of `point` in order. With `enter_pid` > 0 each hook first joins that
// process's mount, network, ipc, uts and cgroup namespaces. Stops at the first failing hook
// when `stop_on_failure`. Results are appended to `runs`. A non-empty `cwd` is where each hook
// starts, named after the namespaces are joined.
void run_hooks(const Hooks& hooks, HookPoint point, const std::string& state_json, pid_t enter_pid,
               bool stop_on_failure, std::vector<HookRun>& runs, const std::string& cwd = {});

// Parses the "hooks" section kept in the state (for poststop at delete).
Hooks hooks_from_json(const nlohmann::json& j);

}  // namespace nyx
