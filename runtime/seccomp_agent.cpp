#include "runtime/seccomp_agent.hpp"

#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/fd_passing.hpp"

namespace nyx {

void send_to_seccomp_agent(const std::string& path, const std::string& metadata, pid_t pid,
                           const nlohmann::json& state, int listener) {
  const std::string object = "linux.seccomp.listenerPath";
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) throw Error(object, "path too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock || ::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throw_errno(object, "failed to connect with seccomp agent at \"" + path + "\"");
  }
  nlohmann::json msg = {{"ociVersion", "1.0.2"},
                        {"fds", {"seccompFd"}},
                        {"pid", pid},
                        {"metadata", metadata},
                        {"state", state}};
  std::string text = msg.dump();
  FdMessage m;
  fd_message(m, text.data(), text.size(), listener);
  if (::sendmsg(sock.get(), &m.msg, MSG_NOSIGNAL) != static_cast<ssize_t>(text.size())) {
    throw_errno(object, "cannot send the listener to the seccomp agent");
  }
}

}  // namespace nyx
