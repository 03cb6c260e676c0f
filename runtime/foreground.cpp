#include "runtime/foreground.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

namespace nyx {

namespace {

double monotonic_s() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Copies one chunk; false at end-of-file or error.
bool pump(int from, int to) {
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

// Puts our terminal in raw mode while a container's terminal is relayed through it.
class RawTerminal {
 public:
  explicit RawTerminal(bool want) {
    if (!want || !::isatty(0) || ::tcgetattr(0, &saved_) != 0) return;
    termios t = saved_;
    ::cfmakeraw(&t);
    active_ = ::tcsetattr(0, TCSANOW, &t) == 0;
  }
  ~RawTerminal() {
    if (active_) ::tcsetattr(0, TCSANOW, &saved_);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  termios saved_{};
  bool active_ = false;
};

}  // namespace

ForwardedSignals::ForwardedSignals() {
  sigemptyset(&set_);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD}) {
    sigaddset(&set_, s);
  }
  ::sigprocmask(SIG_BLOCK, &set_, &old_);
  fd_.reset(::signalfd(-1, &set_, SFD_CLOEXEC | SFD_NONBLOCK));
}

ForwardedSignals::~ForwardedSignals() {
  ::sigprocmask(SIG_SETMASK, &old_, nullptr);
}

WaitResult wait_foreground(const ChildProcess& proc, int master, std::optional<double> timeout_s,
                           const ForwardedSignals& signals,
                           const std::function<void()>& on_timeout) {
  WaitResult res;
  RawTerminal raw(master >= 0);
  double deadline = timeout_s ? monotonic_s() + *timeout_s : 0;
  bool stdin_open = master >= 0;
  for (;;) {
    int wait_ms = -1;
    if (timeout_s && !res.timed_out) {
      double left = deadline - monotonic_s();
      wait_ms = left <= 0 ? 0 : static_cast<int>(left * 1000) + 1;
    }
    pollfd fds[4] = {{proc.pidfd.get(), POLLIN, 0},
                     {signals.fd(), POLLIN, 0},
                     {master, POLLIN, 0},
                     {0, POLLIN, 0}};
    nfds_t n = master < 0 ? 2 : (stdin_open ? 4 : 3);
    int rc = ::poll(fds, n, wait_ms);
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0 && timeout_s && !res.timed_out) {
      res.timed_out = true;
      on_timeout();
      continue;
    }
    signalfd_siginfo si{};
    while (::read(signals.fd(), &si, sizeof si) == sizeof si) {
      if (si.ssi_signo == SIGWINCH && master >= 0) {
        winsize ws{};
        if (::ioctl(0, TIOCGWINSZ, &ws) == 0) ::ioctl(master, TIOCSWINSZ, &ws);
      } else if (si.ssi_signo != SIGCHLD) {
        send_signal(proc.pidfd.get(), static_cast<int>(si.ssi_signo));
      }
    }
    if (master >= 0 && (fds[2].revents & POLLIN)) pump(master, 1);
    if (stdin_open && (fds[3].revents & (POLLIN | POLLHUP))) stdin_open = pump(0, master);
    if (fds[0].revents & POLLIN) break;
  }
  while (::waitpid(proc.pid, &res.status, 0) < 0 && errno == EINTR) {
  }
  if (master >= 0) {
    // What the process wrote just before it exited.
    ::fcntl(master, F_SETFL, O_NONBLOCK);
    while (pump(master, 1)) {
    }
  }
  return res;
}

}  // namespace nyx
