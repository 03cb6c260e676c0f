#include "runtime/launch.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "runtime/error.hpp"
#include "runtime/namespaces.hpp"

namespace nyx {

namespace {

// One message from the child, with the fd it passed (SCM_RIGHTS) if any.
ssize_t receive(int sock, ChildReport& r, int& fd) {
  iovec iov{&r, sizeof r};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm != nullptr; cm = CMSG_NXTHDR(&msg, cm)) {
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
      std::memcpy(&fd, CMSG_DATA(cm), sizeof fd);
    }
  }
  return n;
}

}  // namespace

Launch::Launch(BuiltPlan plan, Cgroups cgroups, bool enforce, std::string object)
    : bp_(std::move(plan)),
      cgroups_(std::move(cgroups)),
      enforce_(enforce),
      object_(std::move(object)) {}

Launch::~Launch() {
  if (released_ || init_.pid <= 0) return;
  if (init_.pidfd) send_signal(init_.pidfd.get(), SIGKILL);
  ::kill(init_.pid, SIGKILL);
  int status = 0;
  while (::waitpid(init_.pid, &status, 0) < 0 && errno == EINTR) {
  }
}

// Best effort: a sandbox may forbid some namespaces. Retry without the user namespace, then
// without any; the record says what did not hold. Returns the errno of the last attempt.
int Launch::clone_without_namespaces(std::uint64_t flags, int err) {
  ChildPlan& plan = bp_.storage->plan;
  NamespaceSetup& ns = bp_.ns;
  auto mark = [&](std::uint64_t failed_flags, int e) {
    for (NsType t : ns.requested) {
      if ((failed_flags & static_cast<std::uint64_t>(clone_flag(t))) != 0) {
        ns.err[static_cast<std::size_t>(t)] = e;
      }
    }
  };
  plan.userns_new = false;
  ns.new_user = false;
  plan.wait_for_go = !cgroups_.empty();
  if ((flags & CLONE_NEWUSER) != 0) {
    std::uint64_t without_user = flags & ~static_cast<std::uint64_t>(CLONE_NEWUSER);
    if (clone_child(without_user, -1, plan, init_) == 0) {
      mark(CLONE_NEWUSER, err);
      return 0;
    }
  }
  mark(flags, err);
  plan.mounts = false;
  plan.readonly_root = false;
  if (plan.root_method == RootMethod::PivotRoot) plan.root_method = RootMethod::Chroot;
  PrimOutcome& mounts = bp_.outcome[Prim::Mounts];
  if (mounts.requested) {
    mounts.status = PrimStatus::Failed;
    mounts.err = err;
    mounts.detail["reason"] = "the mount namespace could not be created";
  }
  return clone_child(0, -1, plan, init_);
}

// A pid namespace given by path applies to our next child: enter it around the clone only.
UniqueFd Launch::enter_pid_namespace() {
  NamespaceSetup& ns = bp_.ns;
  if (!ns.pid_join) return {};
  UniqueFd own(::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
  if (!own || ::setns(ns.pid_join.get(), CLONE_NEWPID) != 0) {
    ns.err[static_cast<std::size_t>(NsType::Pid)] = errno;
    return {};
  }
  return own;
}

void Launch::spawn() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    throw_errno(object_, "socketpair");
  }
  parent_sock_.reset(sv[0]);
  child_sock_.reset(sv[1]);
  PlanStorage& st = *bp_.storage;
  ChildPlan& plan = st.plan;
  plan.sock = child_sock_.get();
  st.keep_fds.push_back(child_sock_.get());
  std::sort(st.keep_fds.begin(), st.keep_fds.end());
  plan.keep_fds = st.keep_fds;

  bool v1_joins = false;
  for (const auto& d : cgroups_.dirs())
    v1_joins = v1_joins || !d.v2;
  UniqueFd cgroup_fd = cgroups_.unified_fd();
  plan.wait_for_go = bp_.ns.new_user || v1_joins || (!cgroups_.empty() && !cgroup_fd);

  UniqueFd own_pidns = enter_pid_namespace();
  std::uint64_t flags = bp_.ns.clone_flags;
  int err = clone_child(flags, cgroup_fd.get(), plan, init_);
  if (err != 0 && cgroup_fd) {
    // CLONE_INTO_CGROUP can be refused (e.g. a threaded cgroup): join by pid instead.
    cgroup_fd.reset();
    plan.wait_for_go = true;
    err = clone_child(flags, -1, plan, init_);
  }
  if (err != 0 && flags != 0 && !enforce_) err = clone_without_namespaces(flags, err);
  if (own_pidns) ::setns(own_pidns.get(), CLONE_NEWPID);
  if (err != 0) throw Error(object_, "cannot create the container process", err);
  cloned_into_cgroup_ = static_cast<bool>(cgroup_fd);
  child_sock_.reset();
}

void Launch::setup(const Linux* maps, std::optional<int> oom_score_adj) {
  if (maps != nullptr && bp_.ns.new_user) write_id_maps(init_.pid, *maps, ::geteuid() != 0);
  if (!cgroups_.empty()) {
    int err = cgroups_.join(init_.pid, cloned_into_cgroup_);
    PrimOutcome& o = bp_.outcome[Prim::Cgroups];
    if (err != 0 && o.requested && o.status != PrimStatus::Failed) {
      o.status = PrimStatus::Failed;
      o.err = err;
      o.detail["reason"] = "cannot move the process into its cgroups";
    }
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

void Launch::set_terminal(const Process& proc, bool console_mount) {
  ChildPlan& plan = bp_.storage->plan;
  plan.terminal = proc.terminal;
  plan.console_mount = console_mount;
  winsize ws{};
  if (proc.console_size) {
    ws.ws_row = static_cast<unsigned short>(proc.console_size->height);
    ws.ws_col = static_cast<unsigned short>(proc.console_size->width);
  } else if (::ioctl(0, TIOCGWINSZ, &ws) != 0) {
    ws = winsize{};
  }
  plan.rows = ws.ws_row;
  plan.cols = ws.ws_col;
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
    ChildReport r;
    int fd = -1;
    ssize_t n = receive(parent_sock_.get(), r, fd);
    if (n != static_cast<ssize_t>(sizeof r) || r.magic != kReportMagic) {
      int status = 0;
      std::string how;
      if (::waitpid(init_.pid, &status, WNOHANG) == init_.pid) {
        how = " (exit status " + std::to_string(exit_code_of(status)) + ")";
        init_.pid = -1;
      }
      throw Error(object_, "the container process died during setup" + how);
    }
    switch (r.kind) {
      case ChildMsg::Pid: {
        // The intermediate process forked the real init into the new pid namespace and exited.
        int status = 0;
        ::waitpid(init_.pid, &status, 0);
        init_.pid = r.pid;
        init_.start_time = process_start_time(r.pid).value_or(0);
        init_.pidfd = open_process(r.pid, init_.start_time);
        on_new_init(r.pid);
        break;
      }
      case ChildMsg::HookPoint:
        on_hook_point();
        send(ParentMsg::Continue);
        break;
      case ChildMsg::Console:
        console_.reset(fd);
        break;
      case ChildMsg::Fatal:
        // The child's message already says what failed, in the words engines look for.
        throw Error(object_, r.fatal_msg);
      case ChildMsg::Report:
        merge_report(r);
        return;
    }
  }
}

void Launch::merge_report(const ChildReport& r) {
  Outcome& out = bp_.outcome;
  for (std::size_t i = 0; i < kPrimCount; ++i) {
    auto p = static_cast<Prim>(i);
    if (p == Prim::Namespaces || p == Prim::Cgroups) continue;
    if (r.status[i] == PrimStatus::Failed) {
      out.failed(p, r.err[i]);
    } else if (r.status[i] == PrimStatus::Applied && out[p].status != PrimStatus::Failed) {
      out.applied(p);
    }
  }
  // Namespaces: what the parent saw (clone, open) plus what the child saw (setns, unshare).
  PrimOutcome& ns = out[Prim::Namespaces];
  nlohmann::json held = nlohmann::json::array();
  nlohmann::json failed = nlohmann::json::array();
  for (NsType t : bp_.ns.requested) {
    auto i = static_cast<std::size_t>(t);
    int err = bp_.ns.err[i] != 0 ? bp_.ns.err[i] : r.ns_err[i];
    if (err == 0) {
      held.push_back(ns_type_name(t));
      continue;
    }
    failed.push_back({{"type", ns_type_name(t)}, {"errno", err}, {"error", errno_name(err)}});
    if (ns.status != PrimStatus::Failed) out.failed(Prim::Namespaces, err);
  }
  if (ns.requested) {
    ns.detail["types"] = held;
    if (!failed.empty()) ns.detail["failures"] = failed;
    if (ns.status != PrimStatus::Failed) out.applied(Prim::Namespaces);
  }
  if (r.root_method != RootMethod::None) {
    out[Prim::Root].detail["method"] =
        r.root_method == RootMethod::PivotRoot ? "pivot_root" : "chroot";
    if (r.pivot_err != 0) out[Prim::Root].detail["pivotErrno"] = r.pivot_err;
    out[Prim::Root].detail["readonly"] = bp_.storage->plan.readonly_root;
  }
  if (out[Prim::Mounts].requested) {
    out[Prim::Mounts].detail["count"] = r.mounts_done;
    if (r.failed_mount >= 0) out[Prim::Mounts].detail["failedMount"] = r.failed_mount;
  }
  const auto& steps = bp_.storage->rlimits;
  for (std::size_t i = 0; i < steps.size() && i < kMaxRlimitSteps; ++i) {
    if (r.rlimit_err[i] != 0) out[steps[i].prim].detail["failedErrno"] = r.rlimit_err[i];
  }
}

std::vector<std::string> Launch::check_outcome() const {
  const Outcome& out = bp_.outcome;
  std::vector<std::string> failures;
  for (std::size_t i = 0; i < kPrimCount; ++i) {
    const PrimOutcome& o = out.prims[i];
    if (o.status == PrimStatus::Failed) failures.push_back(failure_line(static_cast<Prim>(i), o));
  }
  if (enforce_ && !failures.empty()) {
    throw Error(object_, "hardening failed in enforce mode: " + failures.front());
  }
  return failures;
}

}  // namespace nyx
