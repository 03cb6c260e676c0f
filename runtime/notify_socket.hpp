// systemd's readiness protocol through the container (NOTIFY_SOCKET, sd_notify(3)), as runc and
// crun pass it on: the service in the container says READY=1 on a socket of the runtime's,
// and the runtime tells the socket it was given, with the init as MAINPID.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "base/fd.hpp"
#include "runtime/state_store.hpp"

namespace nyx {

struct Config;

// The runtime's NOTIFY_SOCKET when it is a path the container can be given: absolute, and short
// enough for a socket address with "/notify" added. nullopt (and a warning) otherwise.
std::optional<std::string> notify_socket_from_env();

// Create: a private directory for the container's socket, bind-mounted at `host_socket` in the
// container (which is told NOTIFY_SOCKET=<host_socket>/notify), and moved into the container's
// state directory once that exists.
class NotifyDir {
 public:
  NotifyDir(const StateStore& store, std::string host_socket, Config& cfg);
  NotifyDir(const NotifyDir&) = delete;
  NotifyDir& operator=(const NotifyDir&) = delete;
  ~NotifyDir();

  void move_into(const ContainerDir& dir);

 private:
  const StateStore& store_;
  std::string name_;  // under --root until moved
};

// Start: binds <state dir>/notify/notify before the init runs, writable by any uid of the
// container. Returns an invalid fd when the container was created without NOTIFY_SOCKET.
UniqueFd bind_notify_socket(const ContainerDir& dir, const nlohmann::json& state);
// The host socket that `bind_notify_socket`'s messages go to ("" when none).
std::string notify_host_socket(const nlohmann::json& state);

// Passes the container's messages on, adding MAINPID=`pid` after READY=1, until the init
// (`pidfd`) is gone, and with `until_ready` only until READY=1 (start, run --detach).
void forward_notify(int sock, const std::string& host_socket, pid_t pid, int pidfd,
                    bool until_ready);

}  // namespace nyx
