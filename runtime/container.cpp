#include "runtime/container.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>

#include "hooks/hooks.hpp"
#include "runtime/error.hpp"
#include "runtime/log.hpp"
#include "runtime/plan_builder.hpp"
#include "runtime/terminal.hpp"

namespace nyx {

namespace {

constexpr const char* kStateVersion = "1.0.2";

std::string object_for(const std::string& id) { return "container \"" + id + "\""; }

std::string absolute_dir(const std::string& path, const std::string& object) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) throw_errno(object, "\"" + path + "\"");
  struct stat st {};
  if (::stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw Error(object, "\"" + path + "\" is not a directory");
  }
  return buf;
}

void write_pid_file(const std::string& path, pid_t pid) {
  // containerd parses the file with Atoi: no trailing newline. Written to a temporary name
  // first so a reader never sees an empty file.
  std::string tmp = path + ".nyx-tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  std::string text = std::to_string(pid);
  if (!fd || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    throw_errno("--pid-file", "cannot write " + path);
  }
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) throw_errno("--pid-file", "cannot write " + path);
}

bool enforce_requested(const CreateOptions& opts, const Config& cfg) {
  auto it = cfg.annotations.find("org.nyx.hardening.mode");
  return opts.enforce || (it != cfg.annotations.end() && it->second == "enforce");
}

// Everything create makes, undone in reverse unless the container is committed.
class Creation {
 public:
  Creation(const StateStore& store, const CreateOptions& opts) : store_(store), opts_(opts) {}
  Creation(const Creation&) = delete;
  Creation& operator=(const Creation&) = delete;
  ~Creation() {
    if (!committed_) rollback();
  }

  CreatedContainer run();

 private:
  void load();
  void prepare_state();
  void make_fds();
  void spawn();
  int clone_without_namespaces(std::uint64_t flags, int err);
  UniqueFd enter_pid_namespace();
  void after_clone();
  void write_recovery() const;
  void talk_to_child();
  void on_hook_point();
  void on_new_init(pid_t pid);
  void merge_report(const ChildReport& r);
  void finish_outcome();
  nlohmann::json base_state(const char* phase) const;
  void rollback();

  const StateStore& store_;
  CreateOptions opts_;
  Config cfg_;
  std::string bundle_;
  std::string rootfs_;
  bool enforce_ = false;
  BuiltPlan bp_;
  Cgroups cgroups_;
  std::optional<ContainerDir> dir_;
  ChildProcess init_;
  UniqueFd parent_sock_;
  UniqueFd child_sock_;
  UniqueFd fifo_;
  Terminal terminal_;
  bool cloned_into_cgroup_ = false;
  std::string created_time_;
  std::vector<HookRun> hook_runs_;
  bool committed_ = false;
};

void Creation::load() {
  StateStore::validate_id(opts_.id);
  bundle_ = absolute_dir(opts_.bundle.empty() ? "." : opts_.bundle, "bundle");
  cfg_ = load_config(bundle_ + "/config.json");
  if (!cfg_.process) throw Error("process", "missing required field");
  enforce_ = enforce_requested(opts_, cfg_);
  std::string root = cfg_.root.path[0] == '/' ? cfg_.root.path : bundle_ + "/" + cfg_.root.path;
  rootfs_ = absolute_dir(root, "root.path");
  if (cfg_.process->terminal && opts_.console_socket.empty() && opts_.mode != StartMode::Run) {
    throw Error("process.terminal", "a terminal needs --console-socket when the runtime detaches");
  }
  PlanInput in;
  in.cfg = &cfg_;
  in.bundle = bundle_;
  in.rootfs = rootfs_;
  in.ablation = opts_.ablation;
  in.enforce = enforce_;
  in.no_pivot = opts_.no_pivot;
  in.preserve_fds = opts_.preserve_fds;
  in.rootless = ::geteuid() != 0;
  bp_ = build_plan(in);
  for (const auto& w : bp_.warnings) log::warn(w);
  if (!cfg_.linux.resources.empty() || !cfg_.linux.cgroups_path.empty()) {
    if (opts_.ablation.has(Ablate::Cgroups)) {
      bp_.outcome[Prim::Cgroups].requested = false;
      bp_.outcome[Prim::Cgroups].ablated = true;
    }
  }
  if (!opts_.ablation.has(Ablate::Cgroups)) cgroups_ = Cgroups::plan(cfg_, opts_.id);
}

nlohmann::json Creation::base_state(const char* phase) const {
  nlohmann::json st = {
      {"ociVersion", kStateVersion},
      {"id", opts_.id},
      {"status", phase},
      {"pid", init_.pid > 0 ? init_.pid : 0},
      {"bundle", bundle_},
      {"rootfs", rootfs_},
      {"created", created_time_},
      {"annotations", cfg_.annotations},
      {"owner", ""},
      {"exit", nullptr},
  };
  nlohmann::json nyx = {{"version", 1}, {"cgroups", cgroups_.to_json()}};
  if (!cfg_.hooks_raw.is_null()) nyx["hooks"] = cfg_.hooks_raw;
  if (init_.pid > 0) {
    nyx["startTime"] = process_start_time(init_.pid).value_or(0);
  }
  st["nyx"] = std::move(nyx);
  return st;
}

void Creation::prepare_state() {
  created_time_ = log::now_rfc3339();
  dir_.emplace(store_.create(opts_.id));
  // The intent: what this create may make, written before it is made (crash recovery).
  dir_->write_state(base_state("creating"));
  if (!cgroups_.empty()) {
    cgroups_.create(cfg_.linux.resources, bp_.outcome[Prim::Cgroups]);
    if (bp_.outcome[Prim::Cgroups].status == PrimStatus::Failed &&
        !bp_.outcome[Prim::Cgroups].requested) {
      // Only the tracking cgroup was wanted; go on without it.
      bp_.outcome[Prim::Cgroups] = PrimOutcome{};
    }
  }
}

void Creation::make_fds() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    throw_errno(object_for(opts_.id), "socketpair");
  }
  parent_sock_.reset(sv[0]);
  child_sock_.reset(sv[1]);
  PlanStorage& st = *bp_.storage;
  st.plan.sock = child_sock_.get();
  st.keep_fds.push_back(child_sock_.get());
  if (opts_.mode == StartMode::Create) {
    std::string fifo = dir_->fifo_path();
    if (::mkfifo(fifo.c_str(), 0600) != 0) throw_errno(object_for(opts_.id), "mkfifo " + fifo);
    // O_RDWR: the init is a writer itself, so its read blocks until `start` writes instead of
    // seeing end-of-file.
    fifo_.reset(::open(fifo.c_str(), O_RDWR | O_CLOEXEC));
    if (!fifo_) throw_errno(object_for(opts_.id), "open " + fifo);
    st.plan.exec_fifo = fifo_.get();
    st.keep_fds.push_back(fifo_.get());
  }
  if (cfg_.process->terminal) {
    terminal_ = Terminal::open(*cfg_.process);
    st.plan.console_slave = terminal_.slave_fd();
    st.plan.console_path = st.keep(terminal_.slave_path());
    st.keep_fds.push_back(terminal_.slave_fd());
  }
  std::sort(st.keep_fds.begin(), st.keep_fds.end());
  st.plan.keep_fds = st.keep_fds;
  const Hooks& h = cfg_.hooks;
  st.plan.hooks_stop =
      !h.prestart.empty() || !h.create_runtime.empty() || !h.create_container.empty();
}

// Best effort: a sandbox may forbid some namespaces. Retry without the user namespace, then
// without any; the record says what did not hold. Returns the errno of the last attempt.
int Creation::clone_without_namespaces(std::uint64_t flags, int err) {
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
UniqueFd Creation::enter_pid_namespace() {
  NamespaceSetup& ns = bp_.ns;
  if (!ns.pid_join) return {};
  UniqueFd own(::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
  if (!own || ::setns(ns.pid_join.get(), CLONE_NEWPID) != 0) {
    ns.err[static_cast<std::size_t>(NsType::Pid)] = errno;
    return {};
  }
  return own;
}

void Creation::spawn() {
  ChildPlan& plan = bp_.storage->plan;
  NamespaceSetup& ns = bp_.ns;
  bool v1_joins = false;
  for (const auto& d : cgroups_.dirs()) v1_joins = v1_joins || !d.v2;
  UniqueFd cgroup_fd = cgroups_.unified_fd();
  plan.wait_for_go = ns.new_user || v1_joins || (!cgroups_.empty() && !cgroup_fd);

  UniqueFd own_pidns = enter_pid_namespace();
  std::uint64_t flags = ns.clone_flags;
  int err = clone_child(flags, cgroup_fd.get(), plan, init_);
  if (err != 0 && cgroup_fd) {
    // CLONE_INTO_CGROUP can be refused (e.g. a threaded cgroup): join by pid instead.
    cgroup_fd.reset();
    plan.wait_for_go = true;
    err = clone_child(flags, -1, plan, init_);
  }
  if (err != 0 && flags != 0 && !enforce_) err = clone_without_namespaces(flags, err);
  if (own_pidns) ::setns(own_pidns.get(), CLONE_NEWPID);
  if (err != 0) throw Error(object_for(opts_.id), "cannot create the container process", err);
  cloned_into_cgroup_ = static_cast<bool>(cgroup_fd);
  child_sock_.reset();
  fifo_.reset();
  terminal_.close_slave();
}

void Creation::write_recovery() const {
  auto start = process_start_time(init_.pid).value_or(0);
  dir_->write_recovery({{"pid", init_.pid}, {"startTime", start}, {"cgroups", cgroups_.to_json()}});
}

void Creation::after_clone() {
  write_recovery();
  if (bp_.ns.new_user) {
    write_id_maps(init_.pid, cfg_.linux, ::geteuid() != 0);
  }
  if (!cgroups_.empty()) {
    int err = cgroups_.join(init_.pid, cloned_into_cgroup_);
    PrimOutcome& o = bp_.outcome[Prim::Cgroups];
    if (err != 0 && o.requested && o.status != PrimStatus::Failed) {
      o.status = PrimStatus::Failed;
      o.err = err;
      o.detail["reason"] = "cannot move the init into its cgroups";
    }
  }
  if (cfg_.process->oom_score_adj) {
    std::string path = "/proc/" + std::to_string(init_.pid) + "/oom_score_adj";
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    std::string v = std::to_string(*cfg_.process->oom_score_adj);
    if (!fd || ::write(fd.get(), v.data(), v.size()) < 0) {
      throw_errno("process.oomScoreAdj", "cannot write " + path);
    }
  }
  if (bp_.storage->plan.wait_for_go) {
    char go = static_cast<char>(ParentMsg::Go);
    if (::write(parent_sock_.get(), &go, 1) != 1) throw_errno(object_for(opts_.id), "sync");
  }
}

// The intermediate process forked the real init into the new pid namespace and exited.
void Creation::on_new_init(pid_t pid) {
  int status = 0;
  ::waitpid(init_.pid, &status, 0);
  init_.pid = pid;
  init_.pidfd = open_process(pid, process_start_time(pid).value_or(0));
  write_recovery();
}

void Creation::on_hook_point() {
  nlohmann::json st = public_state(base_state("creating"), "creating");
  std::string text = st.dump();
  const Hooks& h = cfg_.hooks;
  run_hooks(h, HookPoint::Prestart, text, 0, true, hook_runs_);
  run_hooks(h, HookPoint::CreateRuntime, text, 0, true, hook_runs_);
  run_hooks(h, HookPoint::CreateContainer, text, init_.pid, true, hook_runs_);
  char c = static_cast<char>(ParentMsg::Continue);
  if (::write(parent_sock_.get(), &c, 1) != 1) throw_errno(object_for(opts_.id), "sync");
}

void Creation::talk_to_child() {
  for (;;) {
    ChildReport r;
    ssize_t n;
    do {
      n = ::read(parent_sock_.get(), &r, sizeof r);
    } while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(sizeof r) || r.magic != kReportMagic) {
      int status = 0;
      std::string how;
      if (::waitpid(init_.pid, &status, WNOHANG) == init_.pid) {
        how = " (exit status " + std::to_string(exit_code_of(status)) + ")";
        init_.pid = -1;
      }
      throw Error(object_for(opts_.id), "the container process died during setup" + how);
    }
    switch (r.kind) {
      case ChildMsg::Pid:
        on_new_init(r.pid);
        break;
      case ChildMsg::HookPoint:
        on_hook_point();
        break;
      case ChildMsg::Fatal:
        throw Error(object_for(opts_.id), r.fatal_msg, r.fatal_errno);
      case ChildMsg::Report:
        merge_report(r);
        return;
    }
  }
}

void Creation::merge_report(const ChildReport& r) {
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
  // Rlimits beyond CPU/NOFILE/AS: per-limit detail.
  const auto& steps = bp_.storage->rlimits;
  for (std::size_t i = 0; i < steps.size() && i < kMaxRlimitSteps; ++i) {
    if (r.rlimit_err[i] == 0) continue;
    PrimOutcome& o = out[steps[i].prim];
    o.detail["failedErrno"] = r.rlimit_err[i];
  }
}

void Creation::finish_outcome() {
  Outcome& out = bp_.outcome;
  std::vector<std::string> failures;
  for (std::size_t i = 0; i < kPrimCount; ++i) {
    const PrimOutcome& o = out.prims[i];
    if (o.status == PrimStatus::Failed) failures.push_back(failure_line(static_cast<Prim>(i), o));
  }
  if (enforce_ && !failures.empty()) {
    throw Error(object_for(opts_.id), "hardening failed in enforce mode: " + failures.front());
  }
  for (const auto& f : failures) log::warn(object_for(opts_.id) + ": " + f);
}

void Creation::rollback() {
  if (init_.pid > 0) {
    if (init_.pidfd) send_signal(init_.pidfd.get(), SIGKILL);
    ::kill(init_.pid, SIGKILL);
    int status = 0;
    while (::waitpid(init_.pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (!cgroups_.empty()) {
    cgroups_.kill_all(SIGKILL);
    cgroups_.destroy();
  }
  if (dir_) dir_->remove();
}

CreatedContainer Creation::run() {
  load();
  prepare_state();
  make_fds();
  spawn();
  after_clone();
  talk_to_child();
  finish_outcome();

  Outcome& out = bp_.outcome;
  nlohmann::json state = base_state("created");
  nlohmann::json hooks = nlohmann::json::array();
  for (const auto& h : hook_runs_) hooks.push_back(h.to_json());
  state["hardening"] = {
      {"mode", enforce_ ? "enforce" : "best-effort"},
      {"level", level_name(compute_level(out))},
      {"ablation", opts_.ablation.names()},
      {"primitives", primitives_json(out)},
  };
  if (!hooks.empty()) state["hardening"]["hooks"] = hooks;
  dir_->write_state(state);
  if (!opts_.pid_file.empty()) write_pid_file(opts_.pid_file, init_.pid);

  CreatedContainer c;
  c.state = std::move(state);
  c.config = std::move(cfg_);
  c.cgroups = cgroups_;
  c.init = std::move(init_);
  c.sock = std::move(parent_sock_);
  c.console_master = terminal_.take_master();
  if (!opts_.console_socket.empty() && c.console_master) {
    send_console(opts_.console_socket, c.console_master.get());
    c.console_master.reset();
  }
  c.dir = std::move(dir_);
  committed_ = true;
  return c;
}

}  // namespace

void CreatedContainer::send(ParentMsg msg) const {
  char c = static_cast<char>(msg);
  if (::write(sock.get(), &c, 1) != 1) throw_errno(object_for(dir->id()), "cannot release the init");
}

CreatedContainer create_container(const StateStore& store, const CreateOptions& opts) {
  Creation creation(store, opts);
  return creation.run();
}

std::string container_status(const ContainerDir& dir, const nlohmann::json& state) {
  const nlohmann::json& nyx = state.value("nyx", nlohmann::json::object());
  pid_t pid = state.value("pid", 0);
  std::uint64_t start = nyx.value("startTime", std::uint64_t{0});
  std::string phase = state.value("status", "");
  if (phase == "creating") {
    nlohmann::json rec = dir.read_recovery();
    bool alive = rec.is_object() && process_is(rec.value("pid", 0), rec.value("startTime", std::uint64_t{0}));
    return alive ? "creating" : "stopped";
  }
  if (phase == "stopped" || !process_is(pid, start)) return "stopped";
  if (nyx.value("paused", false)) return "paused";
  int fd = ::open(dir.fifo_path().c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd >= 0) {
    ::close(fd);
    return "created";
  }
  return "running";
}

nlohmann::json public_state(const nlohmann::json& state, const std::string& status) {
  nlohmann::json out = state;
  out.erase("nyx");
  out["status"] = status;
  if (status == "stopped" && out.value("pid", 0) != 0 && !out.contains("exit")) out["exit"] = nullptr;
  return out;
}

UniqueFd open_init(const ContainerDir& dir, const nlohmann::json* state) {
  if (state != nullptr && state->value("pid", 0) > 0) {
    pid_t pid = state->value("pid", 0);
    std::uint64_t start =
        state->value("nyx", nlohmann::json::object()).value("startTime", std::uint64_t{0});
    if (UniqueFd fd = open_process(pid, start)) return fd;
  }
  // Damaged or half-written state: the second record still names the init.
  nlohmann::json rec = dir.read_recovery();
  if (!rec.is_object()) return {};
  return open_process(rec.value("pid", 0), rec.value("startTime", std::uint64_t{0}));
}

namespace {

Cgroups cgroups_of(const ContainerDir& dir, const nlohmann::json* state) {
  if (state != nullptr) {
    Cgroups cg = Cgroups::from_json(
        state->value("nyx", nlohmann::json::object()).value("cgroups", nlohmann::json()));
    if (!cg.empty()) return cg;
  }
  nlohmann::json rec = dir.read_recovery();
  return rec.is_object() ? Cgroups::from_json(rec.value("cgroups", nlohmann::json())) : Cgroups();
}

}  // namespace

void kill_container(const ContainerDir& dir, const nlohmann::json* state) {
  Cgroups cg = cgroups_of(dir, state);
  UniqueFd init = open_init(dir, state);
  if (init) send_signal(init.get(), SIGKILL);
  if (!cg.empty()) {
    cg.kill_all(SIGKILL);
    cg.freeze(false);  // a frozen v1 task cannot die
  }
  if (init) wait_exit(init.get(), 10000);
}

void remove_container(const ContainerDir& dir, const nlohmann::json* state) {
  if (state != nullptr) {
    const nlohmann::json& nyx = state->value("nyx", nlohmann::json::object());
    Hooks hooks = hooks_from_json(nyx.value("hooks", nlohmann::json()));
    if (!hooks.poststop.empty()) {
      std::vector<HookRun> runs;
      std::string text = public_state(*state, "stopped").dump();
      run_hooks(hooks, HookPoint::Poststop, text, 0, false, runs);
      for (const auto& r : runs) {
        if (!r.ok()) log::warn("poststop hook " + r.path + " failed (exit " + std::to_string(r.exit_code) + ")");
      }
    }
  }
  cgroups_of(dir, state).destroy();
  ::unlink(dir.fifo_path().c_str());
  dir.remove();
}

}  // namespace nyx
