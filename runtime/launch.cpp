#include "runtime/launch.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/error.hpp"
#include "base/fd_passing.hpp"
#include "runtime/causes.hpp"
#include "runtime/primitives/cgroups.hpp"
#include "runtime/primitives/namespaces.hpp"

namespace nyx {

namespace {

// One message from the child, with the fd it passed (SCM_RIGHTS) if any.
ssize_t receive(int sock, ChildReport& r, int& fd) {
  FdMessage m;
  fd_message(m, &r, sizeof r, -1);
  ssize_t n;
  do {
    n = ::recvmsg(sock, &m.msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n >= 0) fd = passed_fd(m.msg);
  return n;
}

std::uint32_t ns_bit(NsType t) {
  return 1u << static_cast<unsigned>(t);
}

}  // namespace

TerminalPlan terminal_plan(const Process& proc, bool console_mount) {
  TerminalPlan t;
  t.enabled = proc.terminal;
  t.console_mount = console_mount;
  winsize ws{};
  if (proc.console_size) {
    ws.ws_row = static_cast<unsigned short>(proc.console_size->height);
    ws.ws_col = static_cast<unsigned short>(proc.console_size->width);
  } else if (!proc.terminal || ::ioctl(0, TIOCGWINSZ, &ws) != 0) {
    ws = winsize{};
  }
  t.rows = ws.ws_row;
  t.cols = ws.ws_col;
  return t;
}

Launch::Launch(PlanInput in, Cgroups cgroups, std::string object)
    : in_(std::move(in)), cgroups_(std::move(cgroups)), object_(std::move(object)) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    throw_errno(object_, "socketpair");
  }
  parent_sock_.reset(sv[0]);
  child_sock_.reset(sv[1]);
  in_.status_sock = child_sock_.get();
  for (const auto& d : cgroups_.dirs())
    in_.cgroup_join_by_pid = in_.cgroup_join_by_pid || !d.v2;
  build();
}

Launch::~Launch() {
  if (released_ || init_.pid <= 0) return;
  if (init_.pidfd) send_signal(init_.pidfd.get(), SIGKILL);
  ::kill(init_.pid, SIGKILL);
  int status = 0;
  while (::waitpid(init_.pid, &status, 0) < 0 && errno == EINTR) {
  }
}

void Launch::build() {
  bp_ = build_plan(in_);
}

void Launch::add_events(std::vector<ParentEvent> events) {
  for (auto& e : events)
    events_.push_back(std::move(e));
}

namespace {

// A pid namespace given by path applies to our next child: the parent enters it around the
// clone only. Returns 0 or the errno of the clone; a pid namespace that cannot be entered is an
// error, as every namespace given by path.
int clone_once(const BuiltPlan& bp, int cgroup_fd, ChildProcess& init, const std::string& object) {
  UniqueFd own;
  if (bp.ns.pid_join) {
    own.reset(::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
    if (!own || ::setns(bp.ns.pid_join.get(), CLONE_NEWPID) != 0) {
      throw_errno(object, "cannot join the pid namespace given by path");
    }
  }
  int err = clone_child(bp.ns.clone_flags, cgroup_fd, bp.storage->plan, init);
  if (own) ::setns(own.get(), CLONE_NEWPID);
  return err;
}

}  // namespace

// Best effort: a sandbox may forbid some namespaces. Retry without the user namespace, then
// without any new one; each retry is a plan of its own that records what the host refused.
int Launch::clone_with_fallbacks(UniqueFd& cgroup_fd) {
  int err = clone_once(bp_, cgroup_fd.get(), init_, object_);
  if (err != 0 && cgroup_fd) {
    // CLONE_INTO_CGROUP can be refused (e.g. a threaded cgroup): join by pid instead.
    cgroup_fd.reset();
    in_.cgroup_join_by_pid = true;
    build();
    err = clone_once(bp_, -1, init_, object_);
  }
  std::uint64_t flags = bp_.ns.clone_flags;
  if (err != 0 && flags != 0 && !in_.enforce) {
    in_.refused_errno = err;
    in_.cgroup_join_by_pid = !cgroups_.empty();
    if ((flags & CLONE_NEWUSER) != 0) {
      in_.refused_namespaces = ns_bit(NsType::User);
      build();
      err = clone_once(bp_, -1, init_, object_);
    }
    if (err != 0) {
      for (NsType t : bp_.ns.requested) {
        if ((flags & static_cast<std::uint64_t>(clone_flag(t))) != 0) {
          in_.refused_namespaces |= ns_bit(t);
        }
      }
      build();
      err = clone_once(bp_, -1, init_, object_);
    }
  }
  return err;
}

void Launch::spawn() {
  UniqueFd cgroup_fd = cgroups_.clone_fd();
  if (!cgroup_fd && !cgroups_.empty() && !in_.cgroup_join_by_pid) {
    in_.cgroup_join_by_pid = true;
    build();
  }
  int err = clone_with_fallbacks(cgroup_fd);
  if (err != 0) throw Error(object_, "cannot create the container process", err);
  cloned_into_cgroup_ = static_cast<bool>(cgroup_fd);
  child_sock_.reset();
}

void Launch::setup(const Linux* maps, std::optional<int> oom_score_adj) {
  if (maps != nullptr && bp_.ns.new_user) write_id_maps(init_.pid, *maps, ::geteuid() != 0);
  if (cgroups_.systemd() && !in_.join) {
    // The scope is started with the init in it, then given the resources.
    std::vector<ParentEvent> events = cgroups_.start_unit(init_.pid, in_.cfg->linux.resources);
    for (const ParentEvent& e : events) {
      bool unit = e.note.rfind("systemd unit ", 0) == 0;
      if (e.entry.status == PrimStatus::Failed && (unit || requested(Prim::Cgroups))) {
        throw Error(unit ? object_ : "linux.resources", "cannot apply " + e.note, e.entry.err);
      }
    }
    add_events(std::move(events));
  }
  if (!cgroups_.empty()) {
    // Outside its cgroups the container would run without the limits it was given, and
    // escape the engine's accounting and kill: an error in every mode (an empty v1 cpuset, a
    // cgroup the host refuses) when the config sets resources or names the cgroup. Only nyx's
    // own tracking cgroup may be missing (a rootless runtime cannot make it): recorded.
    int err = cgroups_.join(init_.pid, cloned_into_cgroup_);
    bool named = in_.cfg != nullptr && !in_.cfg->linux.cgroups_path.empty();
    if (err != 0 && (requested(Prim::Cgroups) || named || cgroups_.systemd() || in_.join)) {
      throw Error(object_, "cannot move the container process into its cgroups", err);
    }
    if (err != 0) events_.push_back(cgroup_event(err, kCgroupJoinFailed));
  }
  if (oom_score_adj) {
    std::string path = "/proc/" + std::to_string(init_.pid) + "/oom_score_adj";
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    std::string v = std::to_string(*oom_score_adj);
    if (!fd || ::write(fd.get(), v.data(), v.size()) < 0) {
      throw_errno("process.oomScoreAdj", "cannot write " + path);
    }
  }
  if (bp_.storage->plan.wait_for_go) send(ParentMsg::Go);
}

void Launch::keep() const {
  if (!keep_child(parent_sock_.get())) throw Error(object_, "the process died before it started");
}

void Launch::send(ParentMsg msg) const {
  char c = static_cast<char>(msg);
  if (::write(parent_sock_.get(), &c, 1) != 1)
    throw_errno(object_, "cannot talk to the container process");
}

void Launch::talk(const std::function<void()>& on_hook_point,
                  const std::function<void(pid_t)>& on_new_init) {
  for (;;) {
    int fd = -1;
    ssize_t n = receive(parent_sock_.get(), report_, fd);
    if (n != static_cast<ssize_t>(sizeof report_) || report_.magic != kReportMagic) {
      int status = 0;
      std::string how;
      if (::waitpid(init_.pid, &status, WNOHANG) == init_.pid) {
        how = " (exit status " + std::to_string(exit_code_of(status)) + ")";
        init_.pid = -1;
      }
      throw Error(object_, "the container process died during setup" + how);
    }
    switch (report_.kind) {
      case ChildMsg::Pid: {
        // The intermediate process forked the real init into the new pid namespace and exited.
        adopt(report_.pid);
        on_new_init(report_.pid);
        break;
      }
      case ChildMsg::HookPoint:
        on_hook_point();
        send(ParentMsg::Continue);
        break;
      case ChildMsg::Console:
        console_.reset(fd);
        break;
      case ChildMsg::SeccompListener:
        seccomp_listener_.reset(fd);
        break;
      case ChildMsg::Fatal: {
        // The child's message already says what failed, in the words engines look for; the
        // cause, found on this host, follows.
        std::string msg = report_.fatal_msg;
        if (report_.fatal_has_step) {
          const StepEntry& e = report_.fatal_step;
          msg += cause_suffix(
              diagnose(Failure{e.prim, e.err, e.what, e.value, {}, bp_.planned[e.prim]}));
        }
        throw Error(object_, msg);
      }
      case ChildMsg::Report: {
        std::size_t count = std::min<std::size_t>(report_.count, kMaxReportEntries);
        std::vector<ParentEvent> events = bp_.events;
        events.insert(events.end(), events_.begin(), events_.end());
        outcome_ = merge_outcome(bp_.planned, events, {report_.entries, count}, host_diagnose());
        return;
      }
    }
  }
}

void Launch::adopt(pid_t pid) {
  int status = 0;
  while (::waitpid(init_.pid, &status, 0) < 0 && errno == EINTR) {
  }
  init_.pid = pid;
  init_.start_time = process_start_time(pid).value_or(0);
  // Not open_process: a harness that already exited is a zombie until waited for, and still ours.
  init_.pidfd.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
}

namespace {

// Field 4 of /proc/PID/stat, or -1.
pid_t parent_of(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
  char buf[512];
  ssize_t n = fd ? ::read(fd.get(), buf, sizeof buf - 1) : -1;
  if (n <= 0) return -1;
  buf[n] = '\0';
  const char* p = std::strrchr(buf, ')');
  int ppid = -1;
  if (p == nullptr || std::sscanf(p, ") %*c %d", &ppid) != 1) return -1;
  return ppid;
}

// Whether both live processes are in the same pid namespace (true when one has exited).
bool same_pid_ns(pid_t a, pid_t b) {
  struct stat sa {
  }, sb{};
  if (::stat(("/proc/" + std::to_string(a) + "/ns/pid").c_str(), &sa) != 0) return true;
  if (::stat(("/proc/" + std::to_string(b) + "/ns/pid").c_str(), &sb) != 0) return true;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

}  // namespace

void Launch::follow_fork() {
  if (!bp_.storage->plan.fork_at_start) return;
  int fd = -1;
  ssize_t n = receive(parent_sock_.get(), report_, fd);
  if (fd >= 0) ::close(fd);
  if (n != static_cast<ssize_t>(sizeof report_) || report_.magic != kReportMagic) {
    throw Error(object_, "the process died before it started");
  }
  if (report_.kind == ChildMsg::Fatal) throw Error(object_, report_.fatal_msg);
  pid_t pid = report_.pid;
  bool ours = report_.kind == ChildMsg::Pid && pid > 0 && pid != init_.pid &&
              parent_of(pid) == ::getpid() && in_.join && same_pid_ns(pid, in_.join->init);
  if (!ours) throw Error(object_, "the joining process did not hand over the exec'd process");
  adopt(pid);
}

std::vector<std::string> Launch::check_outcome() const {
  return nyx::check_outcome(outcome_, in_.enforce, object_);
}

}  // namespace nyx
