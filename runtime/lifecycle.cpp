#include "runtime/lifecycle.hpp"

#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <future>
#include <iostream>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "base/error.hpp"
#include "base/files.hpp"
#include "bundle/json_reader.hpp"
#include "hooks/hooks.hpp"
#include "runtime/foreground.hpp"
#include "runtime/log.hpp"
#include "runtime/notify_socket.hpp"
#include "runtime/primitives/apparmor.hpp"
#include "runtime/record_view.hpp"
#include "runtime/signals.hpp"
#include "runtime/state_index.hpp"
#include "runtime/systemd_cgroup.hpp"
#include "runtime/terminal.hpp"

namespace nyx {

namespace {

ContainerDir must_open(const StateStore& store, const std::string& id, bool lock) {
  auto dir = store.open(id, lock);
  if (!dir) throw Error(container_object(id), "does not exist");
  return std::move(*dir);
}

bool unlinked(const ContainerDir& dir) {
  struct stat st {};
  return ::fstat(dir.fd(), &st) != 0 || st.st_nlink == 0;
}

// What `read` takes from state.json, for readers that do not lock (state, list). A missing or
// unreadable file may only mean that a delete holds the container's lock and is removing it: wait
// for that to settle. nullopt when the container went away meanwhile; throws the read error when
// the file stays damaged with nobody working on it.
template <class Read>
auto settled(const ContainerDir& dir, Read read) -> std::optional<decltype(read())> {
  for (int attempt = 0;; ++attempt) {
    try {
      return read();
    } catch (const Error&) {
      if (unlinked(dir)) return std::nullopt;
      if (::flock(dir.fd(), LOCK_SH | LOCK_NB) == 0) {
        ::flock(dir.fd(), LOCK_UN);
        if (unlinked(dir)) return std::nullopt;
        return read();
      }
      // Held for longer than any create or delete takes between its writes: report it.
      if (attempt >= 2000) throw;
      ::usleep(1000);
    }
  }
}

// What is left of a container whose state file is damaged: the second record's init.
std::string damage_note(const ContainerDir& dir) {
  nlohmann::json rec = dir.read_recovery();
  if (!rec.is_object()) return "; no recovery record either";
  pid_t pid = rec.value("pid", 0);
  bool alive = process_is(pid, rec.value("startTime", std::uint64_t{0}));
  return alive ? "; its init (pid " + std::to_string(pid) + ") is still running: `delete --force " +
                     dir.id() + "` removes it"
               : "; its init is gone";
}

// A saved state or --report file, at most 16 MiB (a record is a few KiB).
std::string read_saved(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) throw_errno("--file", "\"" + path + "\"");
  std::string text;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd.get(), buf, sizeof buf)) > 0 && text.size() < (16u << 20))
    text.append(buf, static_cast<std::size_t>(n));
  if (n < 0) throw_errno("--file", "\"" + path + "\"");
  return text;
}

void print(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

// `run BUNDLE`: a directory holding config.json, with no --bundle, is the bundle; the ID is its
// name plus a short random suffix.
bool resolve_run_target(RunOptions& opts) {
  struct stat st {};
  std::string cfg = opts.target + "/config.json";
  if (opts.create.bundle.empty() && !opts.target.empty() && ::stat(cfg.c_str(), &st) == 0) {
    opts.create.bundle = opts.target;
    std::string base = opts.target;
    while (base.size() > 1 && base.back() == '/')
      base.pop_back();
    base = base.substr(base.rfind('/') + 1);
    if (base.empty() || base == "." || base == "..") base = "nyx";
    std::string clean;
    for (char c : base) {
      bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '+';
      clean += ok ? c : '-';
    }
    unsigned short r = 0;
    if (::getrandom(&r, sizeof r, 0) != sizeof r) r = static_cast<unsigned short>(::getpid());
    char suffix[8];
    std::snprintf(suffix, sizeof suffix, "-%04x", r);
    opts.create.id = clean + suffix;
    return true;
  }
  if (opts.target.empty()) throw Error("run", "needs a container ID or a bundle directory");
  opts.create.id = opts.target;
  return false;
}

std::optional<double> annotation_timeout(const Config& cfg) {
  auto it = cfg.annotations.find("org.nyx.timeout");
  if (it == cfg.annotations.end()) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(it->second.c_str(), &end);
  if (end == it->second.c_str() || v <= 0) return std::nullopt;
  return v;
}

// Runs poststart hooks (failures are warnings) and appends every run to the state's record.
void run_poststart(const Hooks& hooks, nlohmann::json& state, std::vector<HookRun>& runs) {
  if (!hooks.poststart.empty()) {
    run_hooks(hooks, HookPoint::Poststart, public_state(state, "running").dump(), 0, false, runs);
    for (const auto& r : runs) {
      if (r.point == HookPoint::Poststart && !r.ok()) {
        log::warn("poststart hook " + r.path + " failed (exit " + std::to_string(r.exit_code) +
                  ")");
      }
    }
  }
  nlohmann::json& rec = state["hardening"]["hooks"];
  if (!rec.is_array()) rec = nlohmann::json::array();
  for (const auto& r : runs)
    rec.push_back(r.to_json());
}

// startContainer hooks, in the container's namespaces, before the harness starts: a failing
// one kills the container and is the command's error (`start` and `run` alike).
void run_start_container(const Hooks& hooks, const ContainerDir& dir, const nlohmann::json& state,
                         std::vector<HookRun>& runs) {
  if (hooks.start_container.empty()) return;
  try {
    run_hooks(hooks, HookPoint::StartContainer, public_state(state, "created").dump(),
              state.value("pid", 0), true, runs);
  } catch (const Error&) {
    kill_container(dir, &state);
    throw;
  }
}

// Orphans re-parented to us (no pid namespace) are reaped so nothing is left as a zombie.
void reap_orphans() {
  int status = 0;
  while (::waitpid(-1, &status, WNOHANG) > 0) {
  }
}

}  // namespace

int cmd_spec(const SpecOptions& opts, const std::string& bundle) {
  std::string dir = bundle.empty() ? "." : bundle;
  std::string path = dir + "/config.json";
  if (::access(path.c_str(), F_OK) == 0) {
    throw Error(path, "already exists; remove it first");
  }
  write_file_atomic(path, make_spec(opts).dump(2) + "\n", "spec");
  return 0;
}

namespace {

// Socket activation (systemd's LISTEN_FDS): the fds passed to the runtime go on to the
// container, which is told so with LISTEN_FDS and LISTEN_PID=1, as runc and crun do.
void pass_listen_fds(CreateOptions& o) {
  const char* fds = std::getenv("LISTEN_FDS");
  int n = fds != nullptr ? std::atoi(fds) : 0;
  if (n <= 0) return;
  o.preserve_fds = std::max(o.preserve_fds, n);
  o.extra_env.push_back("LISTEN_FDS=" + std::to_string(n));
  o.extra_env.emplace_back("LISTEN_PID=1");
}

void pass_notify_socket(CreateOptions& o) {
  if (auto path = notify_socket_from_env()) o.notify_socket = *path;
}

// `start` and `run --detach` return once the service in the container says it is ready (or
// its init is gone), as runc's and crun's do: a systemd unit around them starts only then.
void wait_until_ready(const ContainerDir& dir, const nlohmann::json& state, int sock) {
  if (sock < 0) return;
  UniqueFd init = open_init(dir, &state);
  if (!init) return;
  dir.unlock();  // the wait may be long: kill and delete go on meanwhile
  forward_notify(sock, notify_host_socket(state), state.value("pid", 0), init.get(), true);
}

}  // namespace

int cmd_create(const GlobalOptions& g, CreateOptions opts) {
  pass_listen_fds(opts);
  pass_notify_socket(opts);
  opts.preserved = reserve_preserved_fds(opts.preserve_fds);
  opts.systemd_cgroup = g.systemd_cgroup;
  StateStore store(g.root);
  CreatedContainer c = create_container(store, opts);
  c.keep();
  return 0;
}

int cmd_start(const GlobalOptions& g, const std::string& id) {
  StateStore store(g.root);
  ContainerDir dir = must_open(store, id, true);
  nlohmann::json state = dir.read_state();
  std::string status = container_status(dir, state);
  if (status != "created") {
    throw Error(container_object(id), status == "stopped"
                                          ? "cannot start a container that has stopped"
                                          : "cannot start an already " + status + " container");
  }
  Hooks hooks = stored_hooks(state);
  std::vector<HookRun> runs;
  run_start_container(hooks, dir, state, runs);
  UniqueFd notify = bind_notify_socket(dir, state);
  UniqueFd fifo(::open(dir.fifo_path().c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fifo) throw_errno(container_object(id), "the init is not waiting to start");
  if (::write(fifo.get(), "0", 1) != 1) throw_errno(container_object(id), "cannot start");
  // The init holds the only reader; it goes away at execve (close-on-exec) or exit.
  pollfd pfd{fifo.get(), 0, 0};
  ::poll(&pfd, 1, 30000);
  fifo.reset();
  ::unlink(dir.fifo_path().c_str());
  if (!hooks.start_container.empty() || !hooks.poststart.empty()) {
    run_poststart(hooks, state, runs);
    dir.write_state(state);
  }
  wait_until_ready(dir, state, notify.get());
  return 0;
}

int cmd_run(const GlobalOptions& g, RunOptions opts) {
  pass_listen_fds(opts.create);
  pass_notify_socket(opts.create);
  opts.create.preserved = reserve_preserved_fds(opts.create.preserve_fds);
  opts.create.systemd_cgroup = g.systemd_cgroup;
  bool generated = resolve_run_target(opts);
  opts.create.mode = opts.detach ? StartMode::RunDetached : StartMode::Run;
  StateStore store(g.root);
  if (opts.detach) {
    CreatedContainer c = create_container(store, opts.create);
    c.keep();
    std::vector<HookRun> runs;
    run_start_container(c.config.hooks, *c.dir, c.state, runs);
    UniqueFd notify = bind_notify_socket(*c.dir, c.state);
    c.send(ParentMsg::Start);
    if (generated) print(opts.create.id + "\n");
    run_poststart(c.config.hooks, c.state, runs);
    if (!runs.empty()) c.dir->write_state(c.state);
    wait_until_ready(*c.dir, c.state, notify.get());
    return 0;
  }
  // Signals that arrive while the container starts queue up, then go to the harness.
  ForwardedSignals signals;
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  CreatedContainer c = create_container(store, opts.create);
  c.dir->unlock();
  std::vector<HookRun> runs;
  try {
    run_start_container(c.config.hooks, *c.dir, c.state, runs);
  } catch (const Error&) {
    c.dir->lock();
    remove_container(*c.dir, &c.state);
    throw;
  }
  UniqueFd notify = bind_notify_socket(*c.dir, c.state);
  std::future<void> forwarded;
  if (notify) {
    // For as long as the container runs: after READY=1 come STATUS= and WATCHDOG=1. Detached,
    // so that an error on the way out never waits for it; waited for once the init is gone.
    UniqueFd init(::fcntl(c.init.pidfd.get(), F_DUPFD_CLOEXEC, 0));
    std::packaged_task<void()> task(
        [fd = notify.get(), host = notify_host_socket(c.state), pid = c.init.pid,
         init = std::move(init)] { forward_notify(fd, host, pid, init.get(), false); });
    forwarded = task.get_future();
    std::thread(std::move(task)).detach();
  }
  c.send(ParentMsg::Start);
  run_poststart(c.config.hooks, c.state, runs);
  std::optional<double> timeout = opts.timeout_s ? opts.timeout_s : annotation_timeout(c.config);
  WaitResult res = wait_foreground(c.init, c.console_master.get(), timeout, signals,
                                   [&c] { kill_container(*c.dir, &c.state); });
  if (forwarded.valid()) forwarded.wait();
  reap_orphans();
  int code = res.timed_out ? 124 : exit_code_of(res.status);
  bool signaled = !res.timed_out && WIFSIGNALED(res.status);
  c.state["exit"] = {{"code", code},
                     {"signal", signaled ? nlohmann::json(WTERMSIG(res.status)) : nlohmann::json()},
                     {"timedOut", res.timed_out}};
  // An OOM kill in the container's memory cgroup (memory.events or memory.oom_control).
  if (c.cgroups.oom_kills() > 0) c.state["exit"]["oomKilled"] = true;
  c.state["status"] = "stopped";
  c.dir->lock();
  if (!opts.report.empty()) {
    std::string text = public_state(c.state, "stopped").dump(2) + "\n";
    if (opts.report == "-") {
      print(text);
    } else {
      write_file_atomic(opts.report, text, "--report");
    }
  }
  if (opts.keep) {
    c.dir->write_state(c.state);
  } else {
    kill_container(*c.dir, &c.state);
    reap_orphans();
    remove_container(*c.dir, &c.state);
  }
  return code;
}

int cmd_state(const GlobalOptions& g, const std::string& id, const std::string& format,
              const std::string& file) {
  if (!file.empty()) {
    std::string text =
        file == "-" ? std::string(std::istreambuf_iterator<char>(std::cin), {}) : read_saved(file);
    nlohmann::json saved = json_reader::parse_strict(text, file);
    print(format == "table" ? record_table(saved, want_color()) : saved.dump(2) + "\n");
    return 0;
  }
  StateStore store(g.root);
  ContainerDir dir = must_open(store, id, false);
  std::optional<nlohmann::json> state;
  try {
    state = settled(dir, [&] { return dir.read_state(); });
  } catch (const Error& e) {
    throw Error(e.object(), e.cause() + damage_note(dir));
  }
  if (!state) throw Error(container_object(id), "does not exist");
  // Ordered as the record is: the sequence of primitives, OCI fields first.
  nlohmann::ordered_json pub = public_state(*state, container_status(dir, *state));
  print(format == "table" ? record_table(nlohmann::json(pub), want_color()) : pub.dump(2) + "\n");
  return 0;
}

int cmd_kill(const GlobalOptions& g, const std::string& id, const std::string& signal, bool all) {
  StateStore store(g.root);
  int sig = parse_signal(signal.empty() ? "SIGTERM" : signal);
  ContainerDir dir = must_open(store, id, false);
  std::optional<nlohmann::json> state;
  try {
    state = dir.read_state();
  } catch (const Error& e) {
    log::warn(e.what());
  }
  std::string status = state ? container_status(dir, *state) : "unknown";
  UniqueFd init = open_init(dir, state ? &*state : nullptr);
  if (!init && status != "unknown") status = "stopped";
  if (status == "stopped" || (!init && status == "unknown")) {
    if (all) return 0;
    throw Error(container_object(id), "container not running");
  }
  if (all) {
    Cgroups cg = Cgroups::from_json(
        state ? state->value("nyx", nlohmann::json::object()).value("cgroups", nlohmann::json())
              : dir.read_recovery().value("cgroups", nlohmann::json()));
    cg.kill_all(sig);
  }
  int err = init ? send_signal(init.get(), sig) : ESRCH;
  if (err != 0 && !all) throw Error(container_object(id), "cannot send signal " + signal, err);
  return 0;
}

int cmd_delete(const GlobalOptions& g, const std::string& id, bool force) {
  StateStore store(g.root);
  if (force) store.remove_stale();
  std::optional<ContainerDir> dir = store.open(id, true);
  if (!dir) {
    if (force) return 0;
    throw Error(container_object(id), "does not exist");
  }
  std::optional<nlohmann::json> state;
  try {
    state = dir->read_state();
  } catch (const Error&) {
    if (!force) throw;
  }
  const nlohmann::json* sp = state ? &*state : nullptr;
  std::string status = state ? container_status(*dir, *state) : "unknown";
  if (!force && status != "stopped" && status != "created") {
    throw Error(container_object(id), "cannot delete a container that is not stopped: " + status);
  }
  if (status != "stopped") {
    // Its state stays while a process of it lives: a later delete --force can finish.
    if (std::string why = kill_container(*dir, sp); !why.empty()) {
      throw Error(container_object(id), "cannot delete: " + why);
    }
  }
  remove_container(*dir, sp);
  return 0;
}

int cmd_delete_matching(const GlobalOptions& g, const std::string& pattern, bool force) {
  regex_t re;
  if (::regcomp(&re, ("^(" + pattern + ")$").c_str(), REG_EXTENDED | REG_NOSUB) != 0) {
    throw Error("--regex", "invalid regular expression \"" + pattern + "\"");
  }
  std::vector<std::string> ids;
  for (const auto& id : StateStore(g.root).ids()) {
    if (::regexec(&re, id.c_str(), 0, nullptr, 0) == 0) ids.push_back(id);
  }
  ::regfree(&re);
  for (const auto& id : ids)
    cmd_delete(g, id, force);
  return 0;
}

namespace {

// One line of `list`.
struct ListEntry {
  std::string oci_version, id, status, bundle, rootfs, created, owner, error;
  pid_t pid = 0;

  // runc's order: ociVersion, id, pid, status, bundle, rootfs, created, owner.
  nlohmann::ordered_json to_json() const {
    nlohmann::ordered_json j;
    if (!error.empty()) {
      j = {{"id", id}, {"pid", pid}, {"status", status}, {"error", error}};
      return j;
    }
    j = {{"ociVersion", oci_version}, {"id", id},         {"pid", pid},         {"status", status},
         {"bundle", bundle},          {"rootfs", rootfs}, {"created", created}, {"owner", owner}};
    return j;
  }
};

ListEntry entry_of(const std::string& id, StateSummary s, std::string status) {
  pid_t pid = status == "stopped" ? 0 : s.pid;
  return ListEntry{.oci_version = std::move(s.oci_version),
                   .id = id,
                   .status = std::move(status),
                   .bundle = std::move(s.bundle),
                   .rootfs = std::move(s.rootfs),
                   .created = std::move(s.created),
                   .owner = std::move(s.owner),
                   .pid = pid};
}

// From the summary line alone, through --root (no directory opened, no lock, no tree built);
// nullopt when that is not enough: no clean summary, or a container still being created.
std::optional<ListEntry> fast_list_entry(int rootfd, const std::string& id) {
  std::optional<StateSummary> s = StateStore::peek_summary(rootfd, id);
  if (!s || s->phase == "creating") return std::nullopt;
  std::string fifo = id + "/" + ContainerDir::kFifoName;
  std::string status = live_status(*s, rootfd, fifo.c_str());
  return entry_of(id, std::move(*s), std::move(status));
}

// From the index (state_index.hpp): no file of the container read, only its state file's
// identity and liveness checked; nullopt when the index has no entry for this very file.
std::optional<ListEntry> indexed_list_entry(
    int rootfd, const StateStore::Listed& dir,
    const std::unordered_map<std::string_view, state_index::Entry>& index) {
  auto it = index.find(dir.id);
  if (it == index.end()) return std::nullopt;
  // The entry holds only for the state file it was recorded with: one damaged or replaced
  // behind nyx's back is read (and listed as damaged) the careful way.
  struct stat st {};
  std::string file = dir.id + "/state.json";
  if (::fstatat(rootfd, file.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
      state_index::identity(dir.ino, st) != it->second.identity) {
    return std::nullopt;
  }
  std::optional<StateSummary> s = parse_summary_text(it->second.summary);
  if (!s || s->phase == "creating") return std::nullopt;
  std::string fifo = dir.id + "/" + ContainerDir::kFifoName;
  std::string status = live_status(*s, rootfd, fifo.c_str());
  return entry_of(dir.id, std::move(*s), std::move(status));
}

// The careful way: waits out a create or delete at work, reads the whole record when there
// is no summary line, lists damage. nullopt when the container went away meanwhile.
std::optional<ListEntry> list_entry(const ContainerDir& dir) {
  try {
    std::optional<StateSummary> s = settled(dir, [&] {
      std::optional<StateSummary> line = dir.read_summary();
      return line ? *line : summarize(dir.read_state());
    });
    if (!s) return std::nullopt;
    std::string status = container_status(dir, *s);
    return entry_of(dir.id(), std::move(*s), std::move(status));
  } catch (const Error& e) {
    return ListEntry{.id = dir.id(), .status = "damaged", .error = e.cause()};
  }
}

// Columns padded like runc's tabwriter (minimum width 12, 3 spaces of padding).
std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& r : rows) {
    width.resize(std::max(width.size(), r.size()), 12);
    for (std::size_t i = 0; i < r.size(); ++i)
      width[i] = std::max(width[i], r[i].size() + 3);
  }
  std::string out;
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < r.size(); ++i) {
      out += r[i];
      if (i + 1 < r.size()) out += std::string(width[i] - r[i].size(), ' ');
    }
    out += "\n";
  }
  return out;
}

}  // namespace

int cmd_list(const GlobalOptions& g, const std::string& format, bool quiet) {
  StateStore store(g.root);
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  std::vector<std::vector<std::string>> rows = {
      {"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}};
  std::string ids;
  UniqueFd rootfd(::open(g.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  std::string index_text;
  std::unordered_map<std::string_view, state_index::Entry> index;
  if (rootfd && !quiet) index = state_index::read(rootfd.get(), index_text);
  for (const auto& listed : store.listing()) {
    const std::string& id = listed.id;
    if (quiet) {
      ids += id + "\n";
      continue;
    }
    std::optional<ListEntry> e;
    if (rootfd) e = indexed_list_entry(rootfd.get(), listed, index);
    if (!e && rootfd) e = fast_list_entry(rootfd.get(), id);
    if (!e) {
      auto dir = store.open(id, false);
      if (!dir) continue;  // deleted while we listed
      e = list_entry(*dir);
      if (!e) continue;  // deleted while we listed
    }
    if (format == "json") {
      all.push_back(e->to_json());
    } else {
      rows.push_back({id, std::to_string(e->pid), e->status, e->bundle, e->created, e->owner});
    }
  }
  if (quiet) {
    print(ids);
  } else {
    print(format == "json" ? all.dump() + "\n" : table(rows));
  }
  return 0;
}

int cmd_pause(const GlobalOptions& g, const std::string& id, bool pause) {
  StateStore store(g.root);
  ContainerDir dir = must_open(store, id, true);
  nlohmann::json state = dir.read_state();
  std::string status = container_status(dir, state);
  if (pause && status != "running" && status != "created") {
    throw Error(container_object(id), "cannot pause a container that is " + status);
  }
  if (!pause && status != "paused") throw Error(container_object(id), "container not paused");
  Cgroups cg = Cgroups::from_json(state["nyx"].value("cgroups", nlohmann::json()));
  if (int err = cg.freeze(pause); err != 0) {
    throw Error(container_object(id), pause ? "cannot freeze" : "cannot thaw", err);
  }
  state["nyx"]["paused"] = pause;
  dir.write_state(state);
  return 0;
}

namespace {

// The output of a command, or an Error naming it.
std::string output_of(const std::vector<std::string>& argv) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) throw_errno("ps", "pipe");
  UniqueFd rd(pipefd[0]);
  UniqueFd wr(pipefd[1]);
  std::vector<char*> cargv;
  for (const auto& a : argv)
    cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) throw_errno("ps", "fork");
  if (pid == 0) {
    ::dup2(wr.get(), 1);
    ::execvp(cargv[0], cargv.data());
    ::_exit(127);
  }
  wr.reset();
  std::string out;
  char buf[8192];
  ssize_t n;
  while ((n = ::read(rd.get(), buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) out.append(buf, static_cast<std::size_t>(n));
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw Error("ps", "`ps` exited with status " + std::to_string(exit_code_of(status)));
  }
  return out;
}

// ps(1)'s table with only the container's processes: the header, and the rows whose PID column
// is one of `pids` (runc's ps).
std::string ps_rows(const std::string& table, const std::vector<pid_t>& pids) {
  std::stringstream in(table);
  std::string header;
  std::getline(in, header);
  std::stringstream hs(header);
  std::size_t column = 0;
  bool found = false;
  for (std::string word; hs >> word; ++column) {
    if (word == "PID") {
      found = true;
      break;
    }
  }
  if (!found) throw Error("ps", "no PID column in the output of ps");
  std::string out = header + "\n";
  for (std::string line; std::getline(in, line);) {
    std::stringstream ls(line);
    std::string word;
    for (std::size_t i = 0; i <= column && ls >> word; ++i) {
    }
    pid_t pid = static_cast<pid_t>(std::strtol(word.c_str(), nullptr, 10));
    if (std::find(pids.begin(), pids.end(), pid) != pids.end()) out += line + "\n";
  }
  return out;
}

}  // namespace

int cmd_ps(const GlobalOptions& g, const std::string& id, const std::string& format,
           const std::vector<std::string>& ps_args) {
  StateStore store(g.root);
  ContainerDir dir = must_open(store, id, false);
  nlohmann::json state = dir.read_state();
  Cgroups cg = Cgroups::from_json(state["nyx"].value("cgroups", nlohmann::json()));
  std::vector<pid_t> pids = cg.pids();
  if (pids.empty() && container_status(dir, state) != "stopped")
    pids.push_back(state.value("pid", 0));
  if (format == "json") {
    print(nlohmann::json(pids).dump() + "\n");
    return 0;
  }
  std::vector<std::string> argv = {"ps"};
  if (ps_args.empty()) argv.emplace_back("-ef");
  argv.insert(argv.end(), ps_args.begin(), ps_args.end());
  print(ps_rows(output_of(argv), pids));
  return 0;
}

namespace {

// "100m", "1G", "4096": bytes, as runc's update flags take them; "-1" stays -1.
std::int64_t parse_size(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  std::string unit = end == nullptr ? "" : end;
  for (char& c : unit)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!unit.empty() && unit.back() == 'b') unit.pop_back();
  long long mult = unit.empty()  ? 1
                   : unit == "k" ? 1LL << 10
                   : unit == "m" ? 1LL << 20
                   : unit == "g" ? 1LL << 30
                                 : 0;
  if (end == text.c_str() || mult == 0) throw Error("--" + flag, "invalid value \"" + text + "\"");
  return v < 0 ? v : v * mult;
}

nlohmann::json resources_from_flags(const std::map<std::string, std::string>& v) {
  nlohmann::json r = nlohmann::json::object();
  auto num = [&](const char* flag) { return parse_size(flag, v.at(flag)); };
  // Counts and microseconds take no unit suffix: "-1" or digits.
  auto plain = [&](const char* flag) {
    const std::string& text = v.at(flag);
    char* end = nullptr;
    long long n = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0')
      throw Error(std::string("--") + flag, "invalid value \"" + text + "\"");
    return static_cast<std::int64_t>(n);
  };
  if (v.count("memory")) r["memory"]["limit"] = num("memory");
  if (v.count("memory-reservation")) r["memory"]["reservation"] = num("memory-reservation");
  if (v.count("memory-swap")) r["memory"]["swap"] = num("memory-swap");
  if (v.count("kernel-memory")) r["memory"]["kernel"] = num("kernel-memory");
  if (v.count("kernel-memory-tcp")) r["memory"]["kernelTCP"] = num("kernel-memory-tcp");
  if (v.count("pids-limit")) r["pids"]["limit"] = plain("pids-limit");
  if (v.count("cpu-share")) r["cpu"]["shares"] = plain("cpu-share");
  if (v.count("cpu-quota")) r["cpu"]["quota"] = plain("cpu-quota");
  if (v.count("cpu-period")) r["cpu"]["period"] = plain("cpu-period");
  if (v.count("cpu-rt-period")) r["cpu"]["realtimePeriod"] = plain("cpu-rt-period");
  if (v.count("cpu-rt-runtime")) r["cpu"]["realtimeRuntime"] = plain("cpu-rt-runtime");
  if (v.count("cpuset-cpus")) r["cpu"]["cpus"] = v.at("cpuset-cpus");
  if (v.count("cpuset-mems")) r["cpu"]["mems"] = v.at("cpuset-mems");
  if (v.count("blkio-weight")) r["blockIO"]["weight"] = plain("blkio-weight");
  return r;
}

std::string read_resources(const std::string& file) {
  if (file == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd) throw_errno("--resources", "\"" + file + "\"");
  std::string text;
  char buf[8192];
  ssize_t n;
  while ((n = ::read(fd.get(), buf, sizeof buf)) > 0)
    text.append(buf, static_cast<std::size_t>(n));
  return text;
}

}  // namespace

int cmd_update(const GlobalOptions& g, const std::string& id, const std::string& resources_file,
               const std::map<std::string, std::string>& values) {
  StateStore store(g.root);
  ContainerDir dir = must_open(store, id, true);
  nlohmann::json state = dir.read_state();
  nlohmann::json res = resources_file.empty() ? nlohmann::json::object()
                                              : json_reader::parse_strict(
                                                    read_resources(resources_file), "--resources");
  if (!res.is_object()) throw Error("--resources", "expected a JSON object (linux.resources)");
  res.merge_patch(resources_from_flags(values));
  // The config parser checks the object as it would linux.resources.
  Config cfg = parse_config_json(
      {{"ociVersion", "1.0.2"}, {"root", {{"path", "/"}}}, {"linux", {{"resources", res}}}});
  Cgroups cg = Cgroups::from_json(state["nyx"].value("cgroups", nlohmann::json()));
  if (cg.empty()) throw Error(container_object(id), "has no cgroups to update");
  std::vector<ParentEvent> events = cg.update(cfg.linux.resources);
  nlohmann::json list = nlohmann::json::array();
  for (const auto& f : events) {
    if (f.entry.status != PrimStatus::Failed) continue;
    list.push_back({{"file", f.note}, {"errno", f.entry.err}, {"error", errno_name(f.entry.err)}});
  }
  if (!list.empty()) {
    throw Error(container_object(id), "cannot update resources: " + list.dump(),
                list.front()["errno"].get<int>());
  }
  // The stored config follows, as runc's does: `state` and a later update read it.
  nlohmann::json& stored = state["nyx"]["config"];
  if (stored.is_object()) {
    stored["linux"]["resources"].merge_patch(res);
    dir.write_state(state);
  }
  return 0;
}

namespace {

// A Go duration as runc's --interval takes it ("5s", "100ms", "1m30s"); a bare number is
// seconds. Returns milliseconds.
long long parse_interval(const std::string& text) {
  double total = 0;
  const char* p = text.c_str();
  if (*p == '\0') throw Error("--interval", "invalid duration \"\"");
  while (*p != '\0') {
    char* end = nullptr;
    double v = std::strtod(p, &end);
    if (end == p || v < 0) throw Error("--interval", "invalid duration \"" + text + "\"");
    p = end;
    std::string unit;
    while (*p != '\0' &&
           (std::isalpha(static_cast<unsigned char>(*p)) || *p == '\xc2' || *p == '\xb5')) {
      unit += *p++;
    }
    double ms = unit == "h"                           ? 3600000
                : unit == "m"                         ? 60000
                : unit == "s" || unit.empty()         ? 1000
                : unit == "ms"                        ? 1
                : unit == "us" || unit == "\xc2\xb5s" ? 0.001
                : unit == "ns"                        ? 0.000001
                                                      : -1;
    if (ms < 0) throw Error("--interval", "invalid duration \"" + text + "\"");
    total += v * ms;
  }
  if (total < 1) throw Error("--interval", "must be at least 1ms");
  return static_cast<long long>(total);
}

void print_event(const char* type, const std::string& id, const nlohmann::ordered_json* data) {
  nlohmann::ordered_json ev = {{"type", type}, {"id", id}};
  if (data != nullptr) ev["data"] = *data;
  print(ev.dump() + "\n");
}

}  // namespace

int cmd_events(const GlobalOptions& g, const std::string& id, bool stats,
               const std::string& interval) {
  StateStore store(g.root);
  long long every_ms = parse_interval(interval.empty() ? "5s" : interval);
  ContainerDir dir = must_open(store, id, false);
  nlohmann::json state = dir.read_state();
  Cgroups cg = Cgroups::from_json(state["nyx"].value("cgroups", nlohmann::json()));
  if (container_status(dir, state) == "stopped") {
    throw Error(container_object(id), "container is stopped");
  }
  if (stats) {
    nlohmann::ordered_json s = cg.stats();
    print_event("stats", id, &s);
    return 0;
  }
  // Stats every interval (the first one after it, as runc's ticker); OOM kills as they
  // happen, watched every 100 ms at most; until the container stops or is deleted.
  std::uint64_t ooms = cg.oom_kills();
  auto next = std::chrono::steady_clock::now() + std::chrono::milliseconds(every_ms);
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    auto wait = std::min<long long>(
        100, std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count());
    if (wait > 0) ::usleep(static_cast<useconds_t>(wait * 1000));
    std::optional<ContainerDir> live = store.open(id, false);
    if (!live) return 0;
    std::optional<nlohmann::json> st;
    try {
      st = live->read_state();
    } catch (const Error&) {
      return 0;
    }
    if (container_status(*live, *st) == "stopped") return 0;
    std::uint64_t now_ooms = cg.oom_kills();
    if (now_ooms > ooms) print_event("oom", id, nullptr);
    ooms = now_ooms;
    if (std::chrono::steady_clock::now() >= next) {
      nlohmann::ordered_json s = cg.stats();
      print_event("stats", id, &s);
      next += std::chrono::milliseconds(every_ms);
    }
  }
}

namespace {

template <class Names>
std::string joined(const Names& names) {
  std::string out;
  for (std::string_view n : names)
    out += (out.empty() ? "" : ",") + std::string(n);
  return out;
}

std::vector<std::string_view> primitive_names() {
  std::vector<std::string_view> out;
  for (const PrimitiveInfo& info : kPrimitives)
    out.push_back(info.name);
  return out;
}

}  // namespace

int cmd_features() {
  // The systemd driver needs its D-Bus helper beside the binary.
  bool systemd = !systemd_helper().empty();
  nlohmann::json f = {
      {"ociVersionMin", "1.0.0"},
      {"ociVersionMax", "1.1.0"},
      {"hooks",
       {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}},
      {"mountOptions",
       {"async",       "atime",      "bind",       "defaults",      "dev",         "diratime",
        "dirsync",     "exec",       "mand",       "noatime",       "nodev",       "nodiratime",
        "noexec",      "nomand",     "norelatime", "nostrictatime", "nosuid",      "private",
        "rbind",       "relatime",   "ro",         "rprivate",      "rshared",     "rslave",
        "runbindable", "rw",         "shared",     "slave",         "strictatime", "suid",
        "sync",        "unbindable", "lazytime",   "nolazytime",    "rro",         "idmap",
        "ridmap"}},
      {"linux",
       {{"namespaces", {"cgroup", "ipc", "mount", "network", "pid", "user", "uts"}},
        {"capabilities", nlohmann::json::array()},
        {"cgroup", {{"v1", true}, {"v2", true}, {"systemd", systemd}, {"systemdUser", systemd}}},
        {"seccomp",
         {{"enabled", true},
          {"actions",
           {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
            "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE",
            "SCMP_ACT_TRAP"}},
          {"operators",
           {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
            "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"}},
          {"archs", {"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64"}}}},
        // Only where the host has it: nyx applies a profile wherever AppArmor is enabled.
        {"apparmor", {{"enabled", host_has_apparmor(real_host())}}},
        {"selinux", {{"enabled", false}}},
        // runtime-spec 1.2: what containerd asks before it gives a user-namespace pod
        // idmapped volumes.
        {"mountExtensions", {{"idmap", {{"enabled", true}}}}}}},
      {"annotations",
       {{"org.nyx.hardening.record", "true"},
        {"org.nyx.hardening.primitives", joined(primitive_names())},
        {"org.nyx.hardening.ablation", joined(ablation_names())}}},
  };
  print(f.dump(2) + "\n");
  return 0;
}

}  // namespace nyx
