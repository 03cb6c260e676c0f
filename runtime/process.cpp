#include "runtime/process.hpp"

#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "runtime/child.hpp"

namespace nyx {

int clone_child(std::uint64_t flags, int cgroup_fd, const ChildPlan& plan, ChildProcess& out) {
  int pidfd = -1;
  clone_args args{};
  args.flags = flags | CLONE_PIDFD | (cgroup_fd >= 0 ? CLONE_INTO_CGROUP : 0);
  args.pidfd = reinterpret_cast<std::uint64_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  if (cgroup_fd >= 0) args.cgroup = static_cast<std::uint64_t>(cgroup_fd);
  long rc = ::syscall(SYS_clone3, &args, sizeof args);
  if (rc < 0) return errno;
  if (rc == 0) run_child(plan);
  out.pid = static_cast<pid_t>(rc);
  out.pidfd.reset(pidfd);
  out.start_time = process_start_time(out.pid).value_or(0);
  return 0;
}

std::optional<std::uint64_t> process_start_time(pid_t pid, bool* zombie) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[1024];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return std::nullopt;
  buf[n] = '\0';
  // The command name may contain spaces and parentheses: fields start after the last ')'.
  char* p = std::strrchr(buf, ')');
  if (p == nullptr || p[1] == '\0') return std::nullopt;
  p += 2;
  if (zombie != nullptr) *zombie = *p == 'Z' || *p == 'X';
  // p is at field 3 (state); the start time is field 22.
  for (int field = 3; field < 22 && *p != '\0'; ++p) {
    if (*p == ' ') ++field;
  }
  return std::strtoull(p, nullptr, 10);
}

bool process_is(pid_t pid, std::uint64_t start_time) {
  if (pid <= 0) return false;
  bool zombie = false;
  auto st = process_start_time(pid, &zombie);
  return st && *st == start_time && !zombie;
}

UniqueFd open_process(pid_t pid, std::uint64_t start_time) {
  if (pid <= 0) return {};
  UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!fd) return {};
  // Checked after opening: the pidfd pins the process, so a match now cannot be recycled later.
  if (!process_is(pid, start_time)) return {};
  return fd;
}

int send_signal(int pidfd, int sig) {
  return ::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) == 0 ? 0 : errno;
}

bool wait_exit(int pidfd, int timeout_ms) {
  pollfd pfd{pidfd, POLLIN, 0};
  for (;;) {
    int rc = ::poll(&pfd, 1, timeout_ms);
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) return true;
  }
}

bool keep_child(int sock) {
  char c = static_cast<char>(ParentMsg::Keep);
  if (::write(sock, &c, 1) != 1) return false;
  char ack = 0;
  ssize_t n;
  do {
    n = ::read(sock, &ack, 1);
  } while (n < 0 && errno == EINTR);
  return n == 1 && ack == c;
}

std::vector<int> reserve_preserved_fds(int count) {
  std::vector<int> open_fds;
  for (int fd = 3; fd < 3 + count; ++fd) {
    if (::fcntl(fd, F_GETFD) >= 0) {
      open_fds.push_back(fd);
      continue;
    }
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0 && null != fd) {
      ::dup3(null, fd, O_CLOEXEC);
      ::close(null);
    }
  }
  return open_fds;
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

}  // namespace nyx
