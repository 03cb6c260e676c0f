// Terminals: handing the container's pty master to an engine's --console-socket.
#pragma once

#include <string>

#include "base/fd.hpp"

namespace nyx {

// Connects to the unix socket at `path` and passes `master` with SCM_RIGHTS (runc protocol).
void send_console(const std::string& path, int master);

}  // namespace nyx
