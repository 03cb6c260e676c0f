// `exec`: a new process in a running container. It joins every namespace and the cgroups of
// the container and gets the same hardening as its init (no_new_privs, rlimits, capabilities,
// seccomp), recorded in the state under hardening.execs.
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>

#include "bundle/json_reader.hpp"
#include "runtime/error.hpp"
#include "runtime/foreground.hpp"
#include "runtime/launch.hpp"
#include "runtime/lifecycle.hpp"
#include "runtime/log.hpp"
#include "runtime/terminal.hpp"

namespace nyx {

namespace {

constexpr std::size_t kExecsKept = 16;

std::string object_for(const std::string& id) {
  return "container \"" + id + "\"";
}

const char* ns_file(const std::string& type) {
  if (type == "mount") return "mnt";
  if (type == "network") return "net";
  return type.c_str();
}

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("--process", "cannot open \"" + path + "\"");
  std::stringstream ss;
  ss << in.rdbuf();
  return json_reader::parse_strict(ss.str(), path);
}

std::uint32_t parse_id(std::string_view text) {
  std::uint32_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size()) {
    throw Error("--user", "expected UID[:GID], got \"" + std::string(text) + "\"");
  }
  return v;
}

// The process to run: --process, or the container's own with the command line's changes.
nlohmann::json exec_process(const ExecOptions& o, const nlohmann::json& config) {
  if (!o.process_file.empty()) return read_json_file(o.process_file);
  nlohmann::json p = config.value("process", nlohmann::json::object());
  if (o.args.empty()) throw Error("exec", "needs a command to run");
  p["args"] = o.args;
  for (const auto& e : o.env)
    p["env"].push_back(e);
  if (!o.cwd.empty()) p["cwd"] = o.cwd;
  if (o.tty) p["terminal"] = true;
  if (o.no_new_privs) p["noNewPrivileges"] = true;
  if (!o.user.empty()) {
    auto colon = o.user.find(':');
    p["user"]["uid"] = parse_id(o.user.substr(0, colon));
    if (colon != std::string::npos) p["user"]["gid"] = parse_id(o.user.substr(colon + 1));
    p["user"].erase("additionalGids");
  }
  for (const auto& cap : o.caps) {
    for (const char* set : {"bounding", "effective", "permitted"})
      p["capabilities"][set].push_back(cap);
  }
  return p;
}

// The container's config turned into "join everything": namespaces by /proc path, nothing to
// mount, no hooks, no resources.
nlohmann::json exec_config(const nlohmann::json& config, nlohmann::json process, pid_t init) {
  nlohmann::json c = {{"ociVersion", config.value("ociVersion", "1.0.2")},
                      {"root", config.value("root", nlohmann::json::object())},
                      {"process", std::move(process)}};
  nlohmann::json lx = nlohmann::json::object();
  const nlohmann::json& orig = config.value("linux", nlohmann::json::object());
  nlohmann::json ns = nlohmann::json::array();
  for (const auto& n : orig.value("namespaces", nlohmann::json::array())) {
    std::string type = n.value("type", "");
    ns.push_back(
        {{"type", type}, {"path", "/proc/" + std::to_string(init) + "/ns/" + ns_file(type)}});
  }
  lx["namespaces"] = ns;
  if (orig.contains("seccomp")) lx["seccomp"] = orig["seccomp"];
  c["linux"] = lx;
  return c;
}

void record_exec(const StateStore& store, const std::string& id, pid_t pid,
                 const std::vector<std::string>& args, const nlohmann::json& hardening) {
  auto dir = store.open(id, true);
  if (!dir) return;
  nlohmann::json state = dir->read_state();
  nlohmann::json& execs = state["hardening"]["execs"];
  if (!execs.is_array()) execs = nlohmann::json::array();
  nlohmann::json entry = hardening;
  entry["pid"] = pid;
  entry["args"] = args;
  execs.push_back(std::move(entry));
  if (execs.size() > kExecsKept) execs.erase(execs.begin());
  dir->write_state(state);
}

}  // namespace

int cmd_exec(const GlobalOptions& g, const ExecOptions& o) {
  std::vector<int> preserved = reserve_preserved_fds(o.preserve_fds);
  StateStore store(g.root);
  auto dir = store.open(o.id, false);
  if (!dir) throw Error(object_for(o.id), "does not exist");
  nlohmann::json state = dir->read_state();
  std::string status = container_status(*dir, state);
  if (status != "running" && status != "created") {
    throw Error(object_for(o.id), "cannot exec in a " + status + " container");
  }
  UniqueFd init = open_init(*dir, &state);  // pins the init while we join its namespaces
  if (!init) throw Error(object_for(o.id), "its init process is gone");
  const nlohmann::json& nyx = state["nyx"];
  nlohmann::json config = nyx.value("config", nlohmann::json::object());
  Config cfg =
      parse_config_json(exec_config(config, exec_process(o, config), state["pid"].get<pid_t>()));
  if (cfg.process->terminal && o.console_socket.empty() && o.detach) {
    throw Error("exec", "a terminal needs --console-socket with --detach");
  }

  PlanInput in;
  in.cfg = &cfg;
  in.rootfs = state.value("rootfs", "/");
  in.bundle = state.value("bundle", "/");
  in.preserved = preserved;
  in.rootless = ::geteuid() != 0;
  BuiltPlan bp = build_plan(in);
  bp.outcome[Prim::Mounts] = PrimOutcome{};
  bp.outcome[Prim::Root] = PrimOutcome{};
  bp.storage->plan.join_only = true;
  for (const auto& w : bp.warnings)
    log::warn(w);
  Launch launch(std::move(bp), Cgroups::from_json(nyx.value("cgroups", nlohmann::json())), false,
                object_for(o.id));
  launch.set_terminal(*cfg.process, false);
  std::optional<ForwardedSignals> signals;
  if (!o.detach) signals.emplace();
  launch.spawn();
  launch.setup(nullptr, std::nullopt);
  launch.talk([] {}, [](pid_t) {});
  for (const auto& f : launch.check_outcome())
    log::warn(object_for(o.id) + ": exec: " + f);
  pid_t pid = launch.pid();
  record_exec(store, o.id, pid, cfg.process->args, hardening_json(launch.outcome(), false, {}));
  if (!o.pid_file.empty()) write_pid_file(o.pid_file, pid);
  UniqueFd master = launch.take_console();
  if (!o.console_socket.empty() && master) {
    send_console(o.console_socket, master.get());
    master.reset();
  }
  if (o.detach) {
    launch.keep();
    launch.send(ParentMsg::Start);
    launch.release();
    return 0;
  }
  launch.send(ParentMsg::Start);
  launch.release();
  WaitResult res = wait_foreground(launch.init(), master.get(), std::nullopt, *signals, [] {});
  return exit_code_of(res.status);
}

}  // namespace nyx
