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

#include "runtime/error.hpp"

namespace nyx {

Terminal Terminal::open(const Process& proc) {
  Terminal t;
  t.master_.reset(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!t.master_) throw_errno("process.terminal", "cannot open a pty");
  if (::grantpt(t.master_.get()) != 0 || ::unlockpt(t.master_.get()) != 0) {
    throw_errno("process.terminal", "cannot unlock the pty");
  }
  char name[128];
  if (::ptsname_r(t.master_.get(), name, sizeof name) != 0) {
    throw_errno("process.terminal", "ptsname");
  }
  t.slave_path_ = name;
  t.slave_.reset(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!t.slave_) throw_errno("process.terminal", std::string("cannot open ") + name);
  winsize ws{};
  if (proc.console_size) {
    ws.ws_row = static_cast<unsigned short>(proc.console_size->height);
    ws.ws_col = static_cast<unsigned short>(proc.console_size->width);
  } else if (::ioctl(0, TIOCGWINSZ, &ws) != 0) {
    ws = winsize{24, 80, 0, 0};
  }
  ::ioctl(t.master_.get(), TIOCSWINSZ, &ws);
  return t;
}

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
  iovec iov{payload, sizeof payload - 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cm), &master, sizeof master);
  if (::sendmsg(sock.get(), &msg, 0) < 0) throw_errno("--console-socket", "sendmsg");
}

namespace {

bool copy_once(int from, int to) {
  char buf[4096];
  ssize_t n = ::read(from, buf, sizeof buf);
  if (n <= 0) return false;
  for (ssize_t off = 0; off < n;) {
    ssize_t w = ::write(to, buf + off, static_cast<std::size_t>(n - off));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    off += w;
  }
  return true;
}

}  // namespace

void relay_terminal(int master, int stop_fd) {
  termios saved{};
  bool raw = ::isatty(0) && ::tcgetattr(0, &saved) == 0;
  if (raw) {
    termios t = saved;
    ::cfmakeraw(&t);
    ::tcsetattr(0, TCSANOW, &t);
  }
  bool stdin_open = true;
  for (;;) {
    pollfd fds[3] = {{master, POLLIN, 0}, {stop_fd, POLLIN, 0}, {0, POLLIN, 0}};
    int n = ::poll(fds, stdin_open ? 3 : 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    if (fds[0].revents & POLLIN) {
      if (!copy_once(master, 1)) break;
    } else if (fds[0].revents & (POLLHUP | POLLERR)) {
      break;
    }
    if (stdin_open && (fds[2].revents & (POLLIN | POLLHUP))) {
      stdin_open = copy_once(0, master);
    }
    if ((fds[1].revents & POLLIN) && !(fds[0].revents & POLLIN)) break;
  }
  if (raw) ::tcsetattr(0, TCSANOW, &saved);
}

}  // namespace nyx
