// The container init between clone and execve: run_child is the whole sequence. Each stage runs
// the child halves of its rows of the primitive table (runtime/primitives/), in table order;
// between the stages come the process's own steps. Everything is a system call on the plan:
// the runtime may have threads or a heap in any state, so the child must not allocate, lock,
// throw or touch iostreams.
#include "runtime/child.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "runtime/child_context.hpp"
#include "runtime/primitive_ops.hpp"
#include "runtime/primitives/capabilities.hpp"
#include "runtime/syscalls.hpp"

namespace nyx {

namespace {

using child::Buf;
using child::err_text;

ChildReport g_report;

// ---- the start ------------------------------------------------------------------------------

// Closes every fd but stdio, the preserved ones and the plan's own, so no host fd (a cgroup
// directory, a state dir) can be reached through /proc/self/fd before execve (CVE-2024-21626).
void close_other_fds(const ChildPlan& p) {
  unsigned first = 3;
  for (int fd : p.keep_fds) {
    if (static_cast<unsigned>(fd) < first) continue;
    if (static_cast<unsigned>(fd) > first) {
      sys::call(SYS_close_range, first, static_cast<unsigned>(fd) - 1, 0);
    }
    first = static_cast<unsigned>(fd) + 1;
  }
  sys::call(SYS_close_range, first, ~0U, 0);
  for (int fd : p.preserved)
    sys::call(SYS_fcntl, fd, F_SETFD, 0);
}

// The parent may have died before PR_SET_PDEATHSIG took effect: then its end is closed.
void exit_if_parent_gone(ChildContext& c) {
  pollfd pfd{c.plan.sock, POLLRDHUP, 0};
  if (sys::call(SYS_poll, &pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP)) != 0) {
    c.die_quietly();
  }
}

void become_userns_root(ChildContext& c) {
  // The maps are written; become uid/gid 0 of the namespace (we are its owner, so this keeps
  // every capability in it).
  long rc = sys::call(SYS_setresgid, 0, 0, 0);
  if (rc == 0) rc = sys::call(SYS_setresuid, 0, 0, 0);
  if (rc < 0) c.fatal("namespaces: cannot become root of the new user namespace", -rc);
}

void begin(ChildContext& c) {
  const ChildPlan& p = c.plan;
  sys::call(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  close_other_fds(p);
  sigset_t none;
  sigemptyset(&none);
  sys::call(SYS_rt_sigprocmask, SIG_SETMASK, &none, 0L, sizeof(unsigned long));
  sys::call(SYS_umask, 0);
  exit_if_parent_gone(c);
  if (p.wait_for_go && c.wait_parent() != static_cast<char>(ParentMsg::Go)) c.die_quietly();
  if (p.userns_new) become_userns_root(c);
}

void run_stage(ChildContext& c, Stage stage) {
  for (const PrimitiveInfo& info : kPrimitives) {
    if (info.stage == stage && info.ops->child != nullptr) info.ops->child(c);
  }
}

// ---- stdio ----------------------------------------------------------------------------------

// The pty itself on /dev/console: the slave fd the kernel gave (TIOCGPTPEER), never a
// "/dev/pts/N" path, which the image can make a symlink to a procfs file (CVE-2025-52565); the
// mount point is made inside the root with no symlink on the way. Without open_tree (kernels
// before 5.2), bound through /proc/self/fd.
void bind_console(int slave) {
  long root = sys::call(SYS_openat, AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return;
  int fd = child::make_in_root(static_cast<int>(root), "dev/console", true, true);
  child::close_fd(static_cast<int>(root));
  if (fd < 0) return;
  if (child::attach_tree(slave, fd, false, 0, 0) == ENOSYS) {
    char source[32], target[32];
    child::fd_path(source, slave);
    child::fd_path(target, fd);
    sys::call(SYS_mount, source, target, 0L, MS_BIND, 0L);
  }
  child::close_fd(fd);
}

// The pty comes from the container's own devpts (its /dev/ptmx), so that ttyname() and
// /dev/console work inside; the master goes to the parent.
void open_terminal(ChildContext& c) {
  const TerminalPlan& t = c.plan.terminal;
  long master = sys::call(SYS_openat, AT_FDCWD, "/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) c.fatal("process.terminal: cannot open /dev/ptmx in the container", -master);
  int unlock = 0;
  if (long rc = sys::call(SYS_ioctl, master, TIOCSPTLCK, &unlock); rc < 0)
    c.fatal("process.terminal: cannot unlock the pty", -rc);
  long slave = sys::call(SYS_ioctl, master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) c.fatal("process.terminal: cannot open the pty", -slave);
  if (t.rows != 0 && t.cols != 0) {
    winsize ws{t.rows, t.cols, 0, 0};
    sys::call(SYS_ioctl, master, TIOCSWINSZ, &ws);
  }
  // The pty is the process user's, as runc gives it (its group stays devpts' tty group).
  sys::call(SYS_fchown, slave, c.plan.uid, -1);
  if (t.console_mount) bind_console(static_cast<int>(slave));
  if (!c.send_fd(ChildMsg::Console, static_cast<int>(master))) {
    c.fatal("process.terminal: cannot send the pty", EPIPE);
  }
  child::close_fd(static_cast<int>(master));
  // exec into a pid namespace: the forked process takes the terminal (fork_into_container).
  if (!c.plan.fork_at_start) {
    sys::call(SYS_setsid);
    if (long rc = sys::call(SYS_ioctl, slave, TIOCSCTTY, 0); rc < 0)
      c.fatal("process.terminal: cannot make the pty the controlling terminal", -rc);
  }
  for (int fd = 0; fd < 3; ++fd) {
    if (long rc = sys::call(SYS_dup3, slave, fd, 0); rc < 0) c.fatal("process.terminal: dup3", -rc);
  }
  child::close_fd(static_cast<int>(slave));
}

void setup_stdio(ChildContext& c) {
  for (int fd = 0; fd < 3; ++fd) {
    // An init without stdio would hand its first opened files out as 0-2.
    if (sys::call(SYS_fcntl, fd, F_GETFD) == -EBADF) {
      long nfd = sys::call(SYS_openat, AT_FDCWD, "/dev/null", O_RDWR);
      if (nfd >= 0 && nfd != fd) {
        sys::call(SYS_dup2, nfd, fd);
        child::close_fd(static_cast<int>(nfd));
      }
    }
  }
  if (c.plan.terminal.enabled) open_terminal(c);
}

// ---- the executable -------------------------------------------------------------------------

// process.ioPriority, process.scheduler and linux.personality, while the process still has
// the capabilities a realtime class or policy needs.
void set_process_attributes(ChildContext& c) {
  const ChildPlan& p = c.plan;
  if (p.ioprio >= 0) {
    constexpr long kWhoProcess = 1;  // IOPRIO_WHO_PROCESS
    if (long rc = sys::call(SYS_ioprio_set, kWhoProcess, 0L, p.ioprio); rc < 0) {
      c.fatal("process.ioPriority: ioprio_set", -rc);
    }
  }
  if (p.set_scheduler) {
    if (long rc = sys::call(SYS_sched_setattr, 0L, &p.sched, 0L); rc < 0) {
      c.fatal("process.scheduler: sched_setattr", -rc);
    }
  }
  if (p.personality >= 0) {
    if (long rc = sys::call(SYS_personality, p.personality); rc < 0) {
      c.fatal("linux.personality: personality", -rc);
    }
  }
}

// The cwd is entered before the user switch, so a directory only root may enter still works
// (runc's order), and again after it when that first try was refused.
void try_cwd(ChildContext& c) {
  long rc = sys::call(SYS_chdir, c.plan.cwd);
  c.cwd_entered = rc == 0;
}

void enter_cwd(ChildContext& c) {
  const ChildPlan& p = c.plan;
  char msg[PATH_MAX + 64];
  if (long rc = c.cwd_entered ? 0 : sys::call(SYS_chdir, p.cwd); rc < 0) {
    Buf b(msg, sizeof msg);
    b.add("process.cwd: chdir \"").add(p.cwd).add("\": ").add(err_text(-rc));
    c.fatal(msg, -rc, true);
  }
  // A cwd reached through a leaked fd lies outside the root; the kernel then prefixes
  // getcwd's answer with "(unreachable)".
  char cwd[PATH_MAX];
  long n = sys::call(SYS_getcwd, cwd, sizeof cwd);
  if (n < 0 || cwd[0] != '/') {
    Buf b(msg, sizeof msg);
    b.add("process.cwd: \"").add(p.cwd).add("\" is outside the container root");
    c.fatal(msg, EXDEV, true);
  }
}

bool executable(const char* path, int* err) {
  struct stat st {};
  if (long rc = sys::call(SYS_newfstatat, AT_FDCWD, path, &st, 0); rc < 0) {
    *err = static_cast<int>(-rc);
    return false;
  }
  if (S_ISDIR(st.st_mode)) {
    *err = EISDIR;
    return false;
  }
  long rc = sys::call(SYS_faccessat2, AT_FDCWD, path, X_OK, AT_EACCESS);
  if (rc == -ENOSYS) rc = sys::call(SYS_faccessat, AT_FDCWD, path, X_OK);
  *err = static_cast<int>(-rc);
  return rc == 0;
}

[[noreturn]] void not_found(ChildContext& c, const char* arg0, int err, bool searched) {
  char msg[PATH_MAX * 2 + 64];
  Buf b(msg, sizeof msg);
  b.add("exec: \"").add(arg0).add("\": ");
  if (searched) {
    b.add(err == EACCES ? "permission denied" : "executable file not found in $PATH");
    c.fatal(msg, err != 0 ? err : ENOENT, true);
  }
  if (err == ENOENT || err == ENOTDIR) b.add("stat ").add(arg0).add(": ");
  b.add(err_text(err));
  c.fatal(msg, err, true);
}

// Resolves argv[0] like execvp, in the container, before `create` returns: a missing binary
// is a create error with runc's wording, which engines map to exit codes 126/127.
void find_executable(ChildContext& c) {
  const char* arg0 = c.plan.argv[0];
  int err = 0;
  if (std::strchr(arg0, '/') != nullptr) {
    if (!executable(arg0, &err)) not_found(c, arg0, err, false);
    Buf(c.exe, sizeof c.exe).add(arg0);
    return;
  }
  const char* path = c.plan.path_env != nullptr
                         ? c.plan.path_env
                         : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  int first_err = 0;
  while (*path != '\0') {
    const char* end = std::strchr(path, ':');
    std::size_t len = end != nullptr ? static_cast<std::size_t>(end - path) : std::strlen(path);
    if (len + std::strlen(arg0) + 2 < sizeof c.exe) {
      std::memcpy(c.exe, path, len);
      std::size_t at = len;
      if (at == 0) c.exe[at++] = '.';
      c.exe[at++] = '/';
      std::strcpy(c.exe + at, arg0);
      if (executable(c.exe, &err)) return;
      if (err == EACCES && first_err == 0) first_err = err;
    }
    path += len;
    if (*path == ':') ++path;
  }
  not_found(c, arg0, first_err, true);
}

// ---- the runtime binary is never the harness ------------------------------------------------

bool is_runtime(const ChildPlan& p, int fd) {
  struct stat st {};
  return p.runtime_ino != 0 && sys::call(SYS_fstat, fd, &st) == 0 && st.st_dev == p.runtime_dev &&
         st.st_ino == p.runtime_ino;
}

// The interpreter named by a "#!" line at the start of `fd` (the kernel's binfmt_script rules:
// blanks after "#!", the path ends at a blank or the end of the line), or false.
bool interpreter_of(int fd, char (&out)[256]) {
  char buf[256];
  long n = sys::call(SYS_pread64, fd, buf, sizeof buf - 1, 0L);
  if (n < 2 || buf[0] != '#' || buf[1] != '!') return false;
  buf[n] = '\0';
  const char* p = buf + 2;
  while (*p == ' ' || *p == '\t')
    ++p;
  std::size_t len = 0;
  while (p[len] != '\0' && p[len] != ' ' && p[len] != '\t' && p[len] != '\n')
    ++len;
  if (len == 0) return false;
  std::memcpy(out, p, len);
  out[len] = '\0';
  return true;
}

// CVE-2019-5736: an entrypoint that is the runtime's own binary (/proc/self/exe, which in this
// clone is the runtime, or any path to the same file) or a script whose interpreter chain leads
// to it (#!/proc/self/exe) would start the host's nyx-runtime inside the container, where a
// process could take hold of its /proc/PID/exe and write it once the runtime has exited. The
// executable and each interpreter are opened as execve will find them and compared with the
// runtime binary by device and inode; a script this user cannot read is not looked into.
void refuse_runtime_binary(ChildContext& c) {
  char path[256];
  char by_fd[32];
  const char* name = c.exe;
  if (c.exe_fd >= 0) {
    child::fd_path(by_fd, c.exe_fd);  // root ablated: the host's /proc
    name = by_fd;
  }
  for (int depth = 0; depth < 5; ++depth) {
    long fd = sys::call(SYS_openat, AT_FDCWD, name, O_RDONLY | O_CLOEXEC);
    // exec into a pid namespace: this process has no pid in the container's /proc, so
    // /proc/self there names nothing; for the exec'd process it will name itself, the runtime.
    bool own_proc = c.plan.fork_at_start && fd == -ENOENT && std::strncmp(name, "/proc/", 6) == 0;
    if (fd < 0 && fd != -EACCES && !own_proc) return;  // execve will say what is wrong
    if (fd == -EACCES) fd = sys::call(SYS_openat, AT_FDCWD, name, O_PATH | O_CLOEXEC);
    if (fd < 0 && !own_proc) return;
    bool runtime = own_proc || is_runtime(c.plan, static_cast<int>(fd));
    bool script = !runtime && interpreter_of(static_cast<int>(fd), path);
    if (fd >= 0) child::close_fd(static_cast<int>(fd));
    if (runtime) {
      char msg[PATH_MAX + 128];
      Buf b(msg, sizeof msg);
      b.add("exec: \"").add(c.plan.argv[0]).add("\"");
      if (depth > 0) b.add(" (through its interpreter \"").add(name).add("\")");
      b.add(" is the runtime's own binary, which never runs inside a container");
      c.fatal(msg, EPERM, true);
    }
    if (!script) return;
    name = path;
  }
}

void prepare_exec(ChildContext& c) {
  // A change of uid clears the parent-death signal (commit_creds): arm it again and re-check
  // that the runtime is still there, so a killed `run` never leaves its harness behind.
  sys::call(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  exit_if_parent_gone(c);
  sys::call(SYS_umask, c.plan.umask);
  if (!c.plan.join_only || c.plan.cwd != nullptr) enter_cwd(c);
  if (c.exe_fd < 0) find_executable(c);
  refuse_runtime_binary(c);
}

// ---- the start ------------------------------------------------------------------------------

// Blocks until the container is started: `start` writes to the exec FIFO, or (run) the parent
// sends Start. 'K' from the parent means the container is committed to the state store: the
// init must now outlive the `create` process.
void wait_for_start(ChildContext& c) {
  const ChildPlan& p = c.plan;
  for (;;) {
    char m = c.wait_parent();
    if (m == static_cast<char>(ParentMsg::Start)) return;
    if (m == static_cast<char>(ParentMsg::Keep)) {
      c.detached = true;
      sys::call(SYS_prctl, PR_SET_PDEATHSIG, 0, 0, 0, 0);
      // Acknowledge: the parent must not exit (which would fire the death signal) before this.
      child::write_all(p.sock, &m, 1);
      if (p.exec_fifo >= 0) break;
    }
  }
  char b = 0;
  long n;
  do {
    n = sys::call(SYS_read, p.exec_fifo, &b, 1);
  } while (n == -EINTR);
  if (n != 1) c.die_quietly();
}

// A load that failed after the report said it would hold: the harness must not run. The parent
// of `run` still reads the socket; stderr is the harness's.
[[noreturn]] void late_failure(ChildContext& c, Prim p, int err) {
  char msg[160];
  Buf b(msg, sizeof msg);
  b.add(prim_name(p).data()).add(": failed after the record was sent: ").add(err_text(err));
  char line[200];
  Buf(line, sizeof line).add("nyx-runtime: ").add(msg).add("; the harness was not started\n");
  child::write_all(2, line, std::strlen(line));
  c.fatal(msg, err, true);
}

// The Confine loads and the deferred capability drop, once.
void commit(ChildContext& c) {
  if (c.committed) return;
  c.committed = true;
  for (const PrimitiveInfo& info : kPrimitives) {
    if (info.stage != Stage::Confine || info.ops->commit == nullptr || !c.is_ready(info.id))
      continue;
    if (int err = info.ops->commit(c); err != 0) late_failure(c, info.id, err);
  }
  if (int err = drop_deferred_capabilities(c); err != 0) late_failure(c, Prim::Capabilities, err);
}

// The Confine loads, the deferred capability drop, and execve: nothing else of the runtime's
// runs under the user's filters.
[[noreturn]] void commit_and_exec(ChildContext& c) {
  commit(c);
  const ChildPlan& p = c.plan;
  long rc = c.exe_fd >= 0 ? sys::call(SYS_execveat, c.exe_fd, "", p.argv, p.envp, AT_EMPTY_PATH)
                          : sys::call(SYS_execve, c.exe, p.argv, p.envp);
  int err = static_cast<int>(-rc);
  char msg[PATH_MAX + 96];
  Buf b(msg, sizeof msg);
  b.add("nyx-runtime: exec \"").add(c.exe).add("\": ").add(err_text(err)).add("\n");
  child::write_all(2, msg, std::strlen(msg));
  sys::call(SYS_exit_group, err == ENOENT ? 127 : 126);
  ::_exit(err == ENOENT ? 127 : 126);
}

// exec into a container with a pid namespace. This process joined everything but stayed in
// the runtime's pid namespace, where nothing of the container can see it, ptrace it or stop it
// (CVE-2016-9962: with CAP_SYS_PTRACE a container reaches any process it can see, dumpable or
// not). Only now, with the container's credentials, namespaces, root and session and the
// filter checked, it forks the exec'd process into the container's pid namespace: CLONE_PARENT
// makes it a child of the runtime, which waits for it; CLONE_VFORK runs it at once while this
// process waits, without sharing memory. Then this process reports its pid and exits.
//
// From its first instant the new process holds what the harness will and nothing more, so it
// is the harness as far as the container can tell: its name is the harness's (what execve
// would set), the caller's environment is wiped from its copy of the runtime's memory (what
// /proc/PID/environ shows). When the filter load needs CAP_SYS_ADMIN (noNewPrivileges false),
// the new process keeps it for the load and drops it right after, as every init does: the fork
// and the report stay outside the user's filter (SPEC §4: only the drop and execve run under
// it). That window is closed to a container with a user namespace (the process's memory
// belongs to the runtime's user namespace, and it is not dumpable); docs/security.md has the
// residual for one without. It leads a session of its own and takes the terminal, arms its
// death signal for a foreground exec, loads the filters and execs.
void fork_into_container(ChildContext& c) {
  const ChildPlan& p = c.plan;
  const char* base = std::strrchr(c.exe, '/');
  sys::call(SYS_prctl, PR_SET_NAME, base != nullptr ? base + 1 : c.exe, 0, 0, 0);
  if (p.caller_env != nullptr) std::memset(p.caller_env, 0, p.caller_env_len);
  long pid = sys::call(SYS_clone, CLONE_PARENT | CLONE_VFORK | SIGCHLD, 0L, 0L, 0L, 0L);
  if (pid < 0) c.fatal("exec: cannot fork into the container's pid namespace", -pid);
  if (pid > 0) {
    c.report.pid = static_cast<std::int32_t>(pid);
    c.send(ChildMsg::Pid);
    c.die_quietly();
  }
  // A session of its own (the joining process's is led from outside the pid namespace).
  if (p.wants(Prim::Session) || p.terminal.enabled) sys::call(SYS_setsid);
  if (p.terminal.enabled) {
    if (long rc = sys::call(SYS_ioctl, 0, TIOCSCTTY, 0); rc < 0)
      c.fatal("process.terminal: cannot make the pty the controlling terminal", -rc);
  }
  if (!c.detached) sys::call(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
}

}  // namespace

void run_child(const ChildPlan& p) {
  g_report = ChildReport{};
  ChildContext c(p, g_report);
  begin(c);
  run_stage(c, Stage::Process);
  run_stage(c, Stage::Isolation);
  setup_stdio(c);
  set_process_attributes(c);
  try_cwd(c);
  run_stage(c, Stage::Identity);
  prepare_exec(c);
  run_stage(c, Stage::Confine);
  c.send(ChildMsg::Report);
  wait_for_start(c);
  if (p.fork_at_start) fork_into_container(c);
  commit_and_exec(c);
}

}  // namespace nyx
