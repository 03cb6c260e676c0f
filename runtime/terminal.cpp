#include "runtime/terminal.hpp"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/error.hpp"
#include "base/fd_passing.hpp"

namespace nyx {

void send_console(const std::string& path, int master) {
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) throw_errno("--console-socket", "socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) throw Error("--console-socket", "path too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throw_errno("--console-socket", "cannot connect to " + path);
  }
  char payload[] = "/dev/ptmx";
  FdMessage m;
  fd_message(m, payload, sizeof payload - 1, master);
  if (::sendmsg(sock.get(), &m.msg, 0) < 0) throw_errno("--console-socket", "sendmsg");
}

}  // namespace nyx
