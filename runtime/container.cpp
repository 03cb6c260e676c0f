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
#include <cstring>

#include "base/error.hpp"
#include "base/files.hpp"
#include "base/passwd.hpp"
#include "hooks/hooks.hpp"
#include "runtime/causes.hpp"
#include "runtime/launch.hpp"
#include "runtime/log.hpp"
#include "runtime/notify_socket.hpp"
#include "runtime/primitives/cgroups.hpp"
#include "runtime/seccomp_agent.hpp"
#include "runtime/terminal.hpp"

namespace nyx {

namespace {

constexpr const char* kStateVersion = "1.0.2";

std::string absolute_dir(const std::string& path, const std::string& object) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) throw_errno(object, "\"" + path + "\"");
  struct stat st {};
  if (::stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw Error(object, "\"" + path + "\" is not a directory");
  }
  return buf;
}

bool enforce_requested(const CreateOptions& opts, const Config& cfg) {
  auto it = cfg.annotations.find("org.nyx.hardening.mode");
  return opts.enforce || (it != cfg.annotations.end() && it->second == "enforce");
}

bool has_container_hooks(const Hooks& h) {
  return !h.prestart.empty() || !h.create_runtime.empty() || !h.create_container.empty();
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
  void plan();
  void prepare_state();
  void make_fifo();
  void write_recovery() const;
  void on_hook_point();
  nlohmann::json base_state(const char* phase) const;
  void rollback();

  const StateStore& store_;
  CreateOptions opts_;
  Config cfg_;
  std::string bundle_;
  std::string rootfs_;
  bool enforce_ = false;
  std::optional<Launch> launch_;
  std::optional<ContainerDir> dir_;
  std::optional<NotifyDir> notify_;
  UniqueFd fifo_;  // the exec FIFO's fd number, reserved before the plan is built
  std::string created_time_;
  std::string owner_;  // who created it, as `list` shows (runc)
  std::vector<HookRun> hook_runs_;
  bool committed_ = false;
};

void Creation::load() {
  StateStore::validate_id(opts_.id);
  bundle_ = absolute_dir(opts_.bundle.empty() ? "." : opts_.bundle, "bundle");
  const std::string& file = opts_.config.empty() ? "config.json" : opts_.config;
  cfg_ = load_config(file[0] == '/' ? file : bundle_ + "/" + file);
  if (!cfg_.process) throw Error("process", "missing required field");
  for (const auto& e : opts_.extra_env)
    cfg_.process->env.push_back(e);
  if (!opts_.notify_socket.empty()) notify_.emplace(store_, opts_.notify_socket, cfg_);
  enforce_ = enforce_requested(opts_, cfg_);
  std::string root = cfg_.root.path[0] == '/' ? cfg_.root.path : bundle_ + "/" + cfg_.root.path;
  rootfs_ = absolute_dir(root, "root.path");
  if (cfg_.process->terminal && opts_.console_socket.empty() && opts_.mode != StartMode::Run) {
    throw Error("process.terminal",
                "cannot allocate a tty when the runtime detaches: use --console-socket");
  }
}

// The plan is built before anything is made, so a config it refuses leaves nothing behind. The
// exec FIFO does not exist yet: its fd number is held by /dev/null until make_fifo.
void Creation::plan() {
  if (opts_.mode == StartMode::Create) {
    fifo_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!fifo_) throw_errno(container_object(opts_.id), "open /dev/null");
  }
  PlanInput in;
  in.cfg = &cfg_;
  in.bundle = bundle_;
  in.rootfs = rootfs_;
  in.ablation = opts_.ablation;
  in.enforce = enforce_;
  in.no_pivot = opts_.no_pivot;
  in.preserved = opts_.preserved;
  in.rootless = ::geteuid() != 0;
  in.exec_fifo = fifo_.get();
  in.hooks_stop = has_container_hooks(cfg_.hooks);
  in.terminal = terminal_plan(*cfg_.process, true);
  Cgroups cgroups;
  if (!opts_.ablation.primitive(Prim::Cgroups)) {
    cgroups = Cgroups::plan(cfg_, opts_.id, CgroupOptions{.systemd = opts_.systemd_cgroup});
  }
  for (const auto& d : cgroups.dirs())
    in.cgroups.emplace_back(d.controllers, d.path);
  launch_.emplace(std::move(in), std::move(cgroups), container_object(opts_.id));
  for (const auto& w : launch_->warnings())
    log::warn(w);
}

nlohmann::json Creation::base_state(const char* phase) const {
  pid_t pid = launch_->pid();
  nlohmann::json st = {
      {"ociVersion", kStateVersion},
      {"id", opts_.id},
      {"status", phase},
      {"pid", pid > 0 ? pid : 0},
      {"bundle", bundle_},
      {"rootfs", rootfs_},
      {"created", created_time_},
      {"annotations", cfg_.annotations},
      {"owner", owner_},
      {"exit", nullptr},
  };
  nlohmann::json nyx = {{"version", 1}, {"cgroups", launch_->cgroups().to_json()}};
  nyx["config"] = cfg_.raw;
  if (pid > 0) nyx["startTime"] = launch_->init().start_time;
  if (!opts_.notify_socket.empty()) nyx["notifySocket"] = opts_.notify_socket;
  st["nyx"] = std::move(nyx);
  return st;
}

void Creation::prepare_state() {
  created_time_ = log::now_rfc3339();
  owner_ = user_name(::geteuid());
  // The intent: what this create may make, written before it is made (crash recovery), and
  // there from the moment the directory appears.
  dir_.emplace(store_.create(opts_.id, base_state("creating")));
  if (notify_) notify_->move_into(*dir_);
  Cgroups& cgroups = launch_->cgroups();
  if (cgroups.empty()) return;
  std::vector<ParentEvent> events = cgroups.create(cfg_.linux.resources);
  for (const ParentEvent& e : events) {
    if (e.entry.what == kCgroupWarning) log::warn(container_object(opts_.id) + ": " + e.note);
  }
  // A limit the config sets is part of what the container is: an error in every mode.
  if (launch_->requested(Prim::Cgroups)) {
    for (const ParentEvent& e : events) {
      if (e.entry.status == PrimStatus::Failed) {
        Cause c = diagnose(Prim::Cgroups, e.entry.err, e.entry.what, e.entry.value, e.note);
        throw Error("linux.resources",
                    "cannot apply " + e.note + ": " + std::strerror(e.entry.err) + cause_suffix(c));
      }
    }
  }
  launch_->add_events(std::move(events));
}

void Creation::make_fifo() {
  if (opts_.mode != StartMode::Create) return;
  std::string fifo = dir_->fifo_path();
  if (::mkfifo(fifo.c_str(), 0600) != 0) throw_errno(container_object(opts_.id), "mkfifo " + fifo);
  // O_RDWR: the init is a writer itself, so its read blocks until `start` writes instead of
  // seeing end-of-file.
  UniqueFd fd(::open(fifo.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd || ::dup3(fd.get(), fifo_.get(), O_CLOEXEC) < 0) {
    throw_errno(container_object(opts_.id), "open " + fifo);
  }
}

void Creation::write_recovery() const {
  const ChildProcess& init = launch_->init();
  dir_->write_recovery({{"pid", init.pid},
                        {"startTime", init.start_time},
                        {"cgroups", launch_->cgroups().to_json()}});
}

void Creation::on_hook_point() {
  // The hooks see the container as created (its init exists and waits), as crun says.
  std::string text = public_state(base_state("created"), "created").dump();
  const Hooks& h = cfg_.hooks;
  run_hooks(h, HookPoint::Prestart, text, 0, true, hook_runs_);
  run_hooks(h, HookPoint::CreateRuntime, text, 0, true, hook_runs_);
  // Before the root change: the container root is still at its host path in its namespace.
  run_hooks(h, HookPoint::CreateContainer, text, launch_->init().pid, true, hook_runs_, rootfs_);
}

void Creation::rollback() {
  // Before our state directory exists the ID may belong to another container: touch nothing.
  Cgroups cgroups = launch_ && dir_ ? launch_->cgroups() : Cgroups();
  launch_.reset();  // kills and reaps the init
  if (!cgroups.empty()) {
    cgroups.kill_all(SIGKILL);
    cgroups.destroy();
  }
  if (dir_) dir_->remove();
}

CreatedContainer Creation::run() {
  load();
  plan();
  prepare_state();
  make_fifo();
  launch_->spawn();
  fifo_.reset();
  write_recovery();
  launch_->setup(&cfg_.linux, cfg_.process->oom_score_adj);
  launch_->talk([this] { on_hook_point(); }, [this](pid_t) { write_recovery(); });
  for (const auto& f : launch_->check_outcome())
    log::warn(container_object(opts_.id) + ": " + f);
  if (UniqueFd listener = launch_->take_seccomp_listener()) {
    const Seccomp& sc = *cfg_.linux.seccomp;
    nlohmann::json oci = public_state(base_state("creating"), "creating");
    oci.erase("hardening");
    send_to_seccomp_agent(sc.listener_path, sc.listener_metadata, launch_->pid(), oci,
                          listener.get());
  }

  nlohmann::json state = base_state("created");
  state["hardening"] = hardening_json(launch_->outcome(), enforce_, opts_.ablation.names());
  if (!hook_runs_.empty()) {
    nlohmann::json hooks = nlohmann::json::array();
    for (const auto& h : hook_runs_)
      hooks.push_back(h.to_json());
    state["hardening"]["hooks"] = hooks;
  }
  dir_->write_state(state);
  if (!opts_.pid_file.empty()) write_pid_file(opts_.pid_file, launch_->init().pid);

  CreatedContainer c;
  c.state = std::move(state);
  c.config = std::move(cfg_);
  c.cgroups = launch_->cgroups();
  c.init = std::move(launch_->init());
  c.sock = launch_->take_sock();
  c.console_master = launch_->take_console();
  if (!opts_.console_socket.empty() && c.console_master) {
    send_console(opts_.console_socket, c.console_master.get());
    c.console_master.reset();
  }
  c.dir = std::move(dir_);
  launch_->release();
  committed_ = true;
  return c;
}

}  // namespace

void write_pid_file(const std::string& path, pid_t pid) {
  // containerd parses the file with Atoi: no trailing newline.
  write_file_atomic(path, std::to_string(pid), "--pid-file");
}

void CreatedContainer::send(ParentMsg msg) const {
  char c = static_cast<char>(msg);
  if (::write(sock.get(), &c, 1) != 1)
    throw_errno(container_object(dir->id()), "cannot release the init");
}

void CreatedContainer::keep() const {
  if (!keep_child(sock.get()))
    throw Error(container_object(dir->id()), "the container process died");
}

CreatedContainer create_container(const StateStore& store, const CreateOptions& opts) {
  Creation creation(store, opts);
  return creation.run();
}

std::string container_status(const ContainerDir& dir, const nlohmann::json& state) {
  return container_status(dir, summarize(state));
}

std::string container_status(const ContainerDir& dir, const StateSummary& s) {
  if (s.phase == "creating") {
    nlohmann::json rec = dir.read_recovery();
    bool alive = rec.is_object() &&
                 process_is(rec.value("pid", 0), rec.value("startTime", std::uint64_t{0}));
    return alive ? "creating" : "stopped";
  }
  return live_status(s, dir.fd(), ContainerDir::kFifoName);
}

std::string live_status(const StateSummary& s, int fifo_dirfd, const char* fifo_name) {
  if (s.phase == "stopped") return "stopped";
  // A reader on the exec FIFO is the init itself, alive and not yet started: that answers
  // without reading /proc (the largest per-container cost of `list`).
  if (!s.paused) {
    int fd = ::openat(fifo_dirfd, fifo_name, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) {
      ::close(fd);
      return "created";
    }
  }
  if (!process_is(s.pid, s.start_time)) return "stopped";
  return s.paused ? "paused" : "running";
}

namespace {

nlohmann::ordered_json ordered(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::object: {
      nlohmann::ordered_json o = nlohmann::ordered_json::object();
      for (const auto& [k, v] : j.items())
        o[k] = ordered(v);
      return o;
    }
    case nlohmann::json::value_t::array: {
      nlohmann::ordered_json a = nlohmann::ordered_json::array();
      for (const auto& v : j)
        a.push_back(ordered(v));
      return a;
    }
    case nlohmann::json::value_t::string:
      return j.get<std::string>();
    case nlohmann::json::value_t::boolean:
      return j.get<bool>();
    case nlohmann::json::value_t::number_integer:
      return j.get<std::int64_t>();
    case nlohmann::json::value_t::number_unsigned:
      return j.get<std::uint64_t>();
    case nlohmann::json::value_t::number_float:
      return j.get<double>();
    default:
      return nullptr;
  }
}

// Copies `keys` of `from` first, in that order, then the rest but `skip`.
nlohmann::ordered_json in_order(const nlohmann::json& from,
                                std::initializer_list<std::string_view> keys,
                                std::string_view skip = {}) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (auto k : keys) {
    if (auto it = from.find(k); it != from.end()) out[std::string(k)] = ordered(*it);
  }
  for (const auto& [k, v] : from.items()) {
    if (k != skip && !out.contains(k)) out[k] = ordered(v);
  }
  return out;
}

}  // namespace

nlohmann::ordered_json public_state(const nlohmann::json& state, const std::string& status) {
  nlohmann::ordered_json out = in_order(state,
                                        {"ociVersion", "id", "status", "pid", "bundle", "rootfs",
                                         "created", "owner", "annotations", "hardening", "exit"},
                                        "nyx");
  out["status"] = status;
  if (state.contains("hardening")) {
    const nlohmann::json& h = state["hardening"];
    nlohmann::ordered_json hardening = in_order(h, {"mode", "level", "ablation", "primitives"});
    if (h.contains("primitives")) {
      std::vector<std::string_view> names;
      for (const PrimitiveInfo& info : kPrimitives)
        names.push_back(info.name);
      nlohmann::ordered_json prims = nlohmann::ordered_json::object();
      for (auto n : names) {
        if (auto it = h["primitives"].find(n); it != h["primitives"].end()) {
          prims[std::string(n)] = in_order(*it, {"status", "errno", "error", "ablated"});
        }
      }
      hardening["primitives"] = prims;
    }
    out["hardening"] = hardening;
  }
  if (!out.contains("exit")) out["exit"] = nullptr;
  return out;
}

Hooks stored_hooks(const nlohmann::json& state) {
  const nlohmann::json& nyx = state.value("nyx", nlohmann::json::object());
  return hooks_from_json(
      nyx.value("config", nlohmann::json::object()).value("hooks", nlohmann::json()));
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
  Cgroups cg =
      rec.is_object() ? Cgroups::from_json(rec.value("cgroups", nlohmann::json())) : Cgroups();
  if (!cg.empty() || state != nullptr) return cg;
  // Both records lost: the cgroups themselves are the third.
  return Cgroups::default_everywhere(dir.id());
}

}  // namespace

std::string kill_container(const ContainerDir& dir, const nlohmann::json* state) {
  Cgroups cg = cgroups_of(dir, state);
  UniqueFd init = open_init(dir, state);
  if (init) send_signal(init.get(), SIGKILL);
  if (!cg.empty()) {
    cg.kill_all(SIGKILL);
    cg.freeze(false);  // a frozen v1 task cannot die
  }
  if (!init) return "";
  pid_t pid = state != nullptr ? state->value("pid", 0) : 0;
  // A task frozen by someone else's v1 freezer cgroup never dies: the container's processes are
  // moved back into its own, thawed, freezer cgroup once (crun's test_simple_delete freezes the
  // init that way). The pidfd held open keeps `pid` from naming another process meanwhile.
  bool reclaimed = false;
  for (int waited = 0; waited < 10000; waited += 100) {
    if (wait_exit(init.get(), 100)) return "";
    std::string where = pid > 0 ? frozen_v1_cgroup(pid) : std::string();
    if (where.empty()) continue;
    if (!reclaimed && !cg.empty() && cg.reclaim_frozen(pid) > 0) {
      reclaimed = true;
      continue;
    }
    if (waited >= 500) {
      return "its init (pid " + std::to_string(pid) + ") is frozen in the freezer cgroup " + where +
             ", which is not the container's: thaw it, then delete --force again";
    }
  }
  return "its init (pid " + std::to_string(pid) + ") is still running 10 s after SIGKILL";
}

void remove_container(const ContainerDir& dir, const nlohmann::json* state) {
  if (state != nullptr) {
    Hooks hooks = stored_hooks(*state);
    if (!hooks.poststop.empty()) {
      std::vector<HookRun> runs;
      std::string text = public_state(*state, "stopped").dump();
      run_hooks(hooks, HookPoint::Poststop, text, 0, false, runs);
      for (const auto& r : runs) {
        if (!r.ok())
          log::warn("poststop hook " + r.path + " failed (exit " + std::to_string(r.exit_code) +
                    ")");
      }
    }
  }
  cgroups_of(dir, state).destroy();
  ::unlink(dir.fifo_path().c_str());
  dir.remove();
}

}  // namespace nyx
