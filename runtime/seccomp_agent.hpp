// Handing a seccomp listener (SCMP_ACT_NOTIFY) to the agent at linux.seccomp.listenerPath, in
// the runtime-spec's protocol: the container process state as JSON, the fd by SCM_RIGHTS.
#pragma once

#include <sys/types.h>

#include <string>

#include <nlohmann/json.hpp>

namespace nyx {

// Connects to `path` and sends {"ociVersion", "fds": ["seccompFd"], "pid", "metadata",
// "state"} with `listener`. Throws Error ("failed to connect with seccomp agent") when it
// cannot.
void send_to_seccomp_agent(const std::string& path, const std::string& metadata, pid_t pid,
                           const nlohmann::json& state, int listener);

}  // namespace nyx
