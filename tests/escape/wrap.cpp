// `nyx-escape-matrix --wrap MODE ARGS... -- COMMAND...`: the matrix binary put in front of the
// runtime, to give the runtime's caller what an attacker hopes the container inherits (a
// controlling terminal, a session keyring with a key in it, supplementary groups, inheritable
// capabilities), or to send a detached container's output to a file.
//
//   session SLAVE [PIDFILE WAIT_S]   new session whose controlling terminal is the pty SLAVE
//                                    (also fd 0); runs COMMAND, waits for it (and, with
//                                    PIDFILE, for the detached container whose pid it names),
//                                    then prints what is waiting in the terminal's input queue
//                                    as {"step":"tty-queue","data":...}
//   keyring DESC DATA                a new session keyring holding the user key DESC = DATA
//   groups GID[,GID...]              these supplementary groups
//   inh-caps CAP                     capability number CAP inheritable and ambient
//   out FILE                         stdout and stderr to FILE (a detached container keeps them)
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/keyctl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/escape/matrix.hpp"

namespace nyx::escape {

namespace {

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "nyx-escape-matrix --wrap: %s: %s\n", what.c_str(), std::strerror(errno));
  _exit(125);
}

[[noreturn]] void exec_command(char** cmd) {
  execv(cmd[0], cmd);
  fail(std::string("exec ") + cmd[0]);
}

// What TIOCSTI pushed: the bytes in the terminal's input queue, read without blocking.
std::string drain(int fd) {
  int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  std::string out;
  char buf[256];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;)
    out.append(buf, static_cast<std::size_t>(n));
  return out;
}

pid_t read_pid(const std::string& file) {
  std::ifstream in(file);
  pid_t pid = -1;
  in >> pid;
  return pid;
}

int session(const std::vector<std::string>& args, char** cmd) {
  if (args.empty()) fail("session needs the pty slave");
  if (setsid() < 0) fail("setsid");
  int tty = open(args[0].c_str(), O_RDWR);  // the first terminal a session leader opens is its
  if (tty < 0) fail("open " + args[0]);     // controlling terminal
  if (ioctl(tty, TIOCSCTTY, 0) < 0) fail("TIOCSCTTY");
  termios t{};
  tcgetattr(tty, &t);
  cfmakeraw(&t);  // no echo, no line editing: injected bytes are readable as they arrive
  tcsetattr(tty, TCSANOW, &t);
  dup2(tty, 0);
  if (tty != 0) close(tty);
  pid_t pid = fork();
  if (pid < 0) fail("fork");
  if (pid == 0) exec_command(cmd);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (args.size() >= 3) {
    // --detach: the container outlives the runtime; wait for it to exit.
    pid_t init = read_pid(args[1]);
    double wait_s = std::atof(args[2].c_str());
    int pidfd = init > 0 ? static_cast<int>(syscall(SYS_pidfd_open, init, 0)) : -1;
    if (pidfd >= 0) {
      pollfd p{pidfd, POLLIN, 0};
      poll(&p, 1, static_cast<int>(wait_s * 1000));
      close(pidfd);
    }
  }
  std::string queued = drain(0);
  std::printf("%s\n", nlohmann::json({{"step", "tty-queue"}, {"data", queued}}).dump().c_str());
  std::fflush(stdout);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

[[noreturn]] void keyring(const std::vector<std::string>& args, char** cmd) {
  if (args.size() != 2) fail("keyring needs DESC DATA");
  if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, nullptr) < 0) fail("join session keyring");
  if (syscall(SYS_add_key, "user", args[0].c_str(), args[1].data(), args[1].size(),
              KEY_SPEC_SESSION_KEYRING) < 0) {
    fail("add_key");
  }
  exec_command(cmd);
}

[[noreturn]] void groups(const std::vector<std::string>& args, char** cmd) {
  std::vector<gid_t> gids;
  std::stringstream ss(args.empty() ? "" : args[0]);
  for (std::string g; std::getline(ss, g, ',');)
    gids.push_back(static_cast<gid_t>(std::stoul(g)));
  if (setgroups(gids.size(), gids.data()) < 0) fail("setgroups");
  exec_command(cmd);
}

[[noreturn]] void inh_caps(const std::vector<std::string>& args, char** cmd) {
  int cap = args.empty() ? -1 : std::atoi(args[0].c_str());
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (cap < 0 || syscall(SYS_capget, &hdr, data) < 0) fail("capget");
  data[cap / 32].inheritable |= 1U << (cap % 32);
  if (syscall(SYS_capset, &hdr, data) < 0) fail("capset");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) fail("ambient raise");
  exec_command(cmd);
}

[[noreturn]] void out(const std::vector<std::string>& args, char** cmd) {
  int fd =
      args.empty() ? -1 : open(args[0].c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("open the output file");
  dup2(fd, 1);
  dup2(fd, 2);
  exec_command(cmd);
}

}  // namespace

int wrap_main(int argc, char** argv) {
  // argv: matrix --wrap MODE ARGS... -- COMMAND...
  if (argc < 3) fail("usage: --wrap MODE ARGS... -- COMMAND...");
  std::string mode = argv[2];
  std::vector<std::string> args;
  int i = 3;
  for (; i < argc && std::strcmp(argv[i], "--") != 0; ++i)
    args.emplace_back(argv[i]);
  if (i + 1 >= argc) fail("no command after --");
  char** cmd = argv + i + 1;
  if (mode == "session") return session(args, cmd);
  if (mode == "keyring") keyring(args, cmd);
  if (mode == "groups") groups(args, cmd);
  if (mode == "inh-caps") inh_caps(args, cmd);
  if (mode == "out") out(args, cmd);
  errno = EINVAL;
  fail("unknown mode " + mode);
}

std::vector<std::string> self_wrapper(const std::vector<std::string>& args) {
  static const std::string self = [] {
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    return std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
  }();
  std::vector<std::string> out = {self, "--wrap"};
  out.insert(out.end(), args.begin(), args.end());
  out.emplace_back("--");
  return out;
}

}  // namespace nyx::escape
