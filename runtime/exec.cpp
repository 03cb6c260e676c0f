// `exec`: the container's config, turned into "join everything" (namespaces by /proc path,
// no mounts, no root change, no hooks, no resources), planned with the container's mode and
// ablation mask, and launched like an init.
#include "runtime/exec.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/error.hpp"
#include "bundle/json_reader.hpp"
#include "runtime/foreground.hpp"
#include "runtime/launch.hpp"
#include "runtime/log.hpp"
#include "runtime/seccomp_agent.hpp"
#include "runtime/self_exe.hpp"
#include "runtime/terminal.hpp"

namespace nyx {

namespace {

constexpr std::size_t kExecsKept = 16;

const char* ns_file(NsType type) {
  switch (type) {
    case NsType::Mount:
      return "mnt";
    case NsType::Network:
      return "net";
    default:
      return ns_type_name(type).data();
  }
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

// An unknown name on the command line is ignored with a warning, as runc does (config.json's
// own names stay strict: the spec says a value that cannot be mapped MUST be an error).
void add_caps(Process& p, const std::vector<std::string>& caps) {
  if (caps.empty()) return;
  if (!p.capabilities) p.capabilities = CapabilitySets{};
  for (const auto& name : caps) {
    auto cap = capability_from_name(name);
    if (!cap) {
      log::warn("--cap: ignoring unknown capability \"" + name + "\"");
      continue;
    }
    std::uint64_t bit = std::uint64_t{1} << *cap;
    p.capabilities->bounding |= bit;
    p.capabilities->effective |= bit;
    p.capabilities->permitted |= bit;
  }
}

// The process of --process: the file's, under the container's AppArmor profile unless the
// file names one (runc's rule: an exec'd process is never less confined by leaving it out);
// --apparmor replaces either.
Process file_process(const ExecOptions& o, const Config& container) {
  Process p = parse_process_json(read_json_file(o.process_file));
  if (p.apparmor_profile.empty() && container.process) {
    p.apparmor_profile = container.process->apparmor_profile;
  }
  if (!o.apparmor.empty()) p.apparmor_profile = o.apparmor;
  return p;
}

// The process to run: --process, or the container's own with the command line's changes.
// Either way it keeps the container's AppArmor profile unless --apparmor names another.
Process exec_process(const ExecOptions& o, const Config& container) {
  if (!o.process_file.empty()) return file_process(o, container);
  if (o.args.empty()) throw Error("exec", "needs a command to run");
  Process p = container.process.value_or(Process{});
  p.args = o.args;
  p.env.insert(p.env.end(), o.env.begin(), o.env.end());
  if (!o.cwd.empty()) p.cwd = o.cwd;
  // A terminal only with -t, whatever the container's own process had (runc).
  p.terminal = o.tty;
  p.console_size.reset();
  if (o.no_new_privs) p.no_new_privileges = true;
  if (!o.apparmor.empty()) p.apparmor_profile = o.apparmor;
  if (!o.process_label.empty()) p.selinux_label = o.process_label;
  if (!o.user.empty()) {
    auto colon = o.user.find(':');
    p.user.uid = parse_id(o.user.substr(0, colon));
    if (colon != std::string::npos) p.user.gid = parse_id(o.user.substr(colon + 1));
    p.user.additional_gids.clear();
  }
  if (!o.additional_gids.empty()) p.user.additional_gids = o.additional_gids;
  add_caps(p, o.caps);
  return p;
}

// What an exec'd process gets of the container: its namespaces, joined through the init, and
// its seccomp filter. The rest is already there.
Config exec_config(const Config& container, Process process, pid_t init) {
  Config c;
  c.oci_version = container.oci_version;
  c.root = container.root;
  c.process = std::move(process);
  for (const Namespace& n : container.linux.namespaces) {
    c.linux.namespaces.push_back(
        {n.type, "/proc/" + std::to_string(init) + "/ns/" + ns_file(n.type)});
  }
  c.linux.seccomp = container.linux.seccomp;
  // Not mounted again (the mounts row plans nothing for a join): Landlock derives its rules
  // from them, so an exec'd process is confined like the init.
  c.mounts = container.mounts;
  c.linux.devices = container.linux.devices;
  c.annotations = container.annotations;
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

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

bool has_controller(const std::string& have, const std::string& wanted) {
  std::vector<std::string> h = split_list(have);
  return std::find(h.begin(), h.end(), wanted) != h.end();
}

// The cgroup below `base` that `exec --cgroup` names, which must already exist.
std::string sub_cgroup(const std::string& base, const std::string& path) {
  std::string sub = base + (path.empty() || path[0] == '/' ? "" : "/") + path;
  while (sub.size() > 1 && sub.back() == '/')
    sub.pop_back();
  if (::access((sub + "/cgroup.procs").c_str(), F_OK) != 0) {
    // In runc's words, lower case as Go prints errno: scripts match "no such file".
    int err = errno;
    std::string why = std::strerror(err);
    if (!why.empty()) why[0] = static_cast<char>(std::tolower(why[0]));
    throw Error("--cgroup", "adding pid to cgroups: " + sub + "/cgroup.procs: " + why);
  }
  return sub;
}

// `exec --cgroup [CONTROLLERS:]PATH`: the process goes into an existing cgroup below the
// container's, in the hierarchies named (every one without CONTROLLERS), as with runc.
// CONTROLLERS is a comma-separated list, each naming the v1 hierarchy that holds it, whether
// the host mounts them together (`cpu,cpuacct`) or apart.
Cgroups exec_cgroups(nlohmann::json dirs, const std::vector<std::string>& specs) {
  const nlohmann::json container = dirs;
  for (const std::string& spec : specs) {
    auto colon = spec.find(':');
    std::string controllers = colon == std::string::npos ? "" : spec.substr(0, colon);
    std::string path = colon == std::string::npos ? spec : spec.substr(colon + 1);
    std::stringstream parts(path);
    for (std::string part; std::getline(parts, part, '/');) {
      if (part == "..")
        throw Error("--cgroup", "the cgroup path " + path + " is not a sub cgroup path");
    }
    std::vector<std::string> wanted = split_list(controllers);
    if (wanted.empty()) {
      for (std::size_t i = 0; i < dirs.size(); ++i)
        dirs[i]["path"] = sub_cgroup(container[i].value("path", ""), path);
      continue;
    }
    for (const std::string& w : wanted) {
      bool matched = false;
      for (std::size_t i = 0; i < dirs.size(); ++i) {
        if (!has_controller(container[i].value("controllers", ""), w)) continue;
        matched = true;
        dirs[i]["path"] = sub_cgroup(container[i].value("path", ""), path);
      }
      if (!matched) throw Error("--cgroup", "unknown controller \"" + w + "\"");
    }
  }
  return Cgroups::from_json(dirs);
}

struct ExecTarget {
  std::optional<ContainerDir> dir;
  nlohmann::json state;
  Config container;
  bool enforce = false;
  Ablation ablation;
};

ExecTarget open_target(const StateStore& store, const std::string& id, bool ignore_paused) {
  ExecTarget t;
  t.dir = store.open(id, false);
  if (!t.dir) throw Error(container_object(id), "does not exist");
  t.state = t.dir->read_state();
  std::string status = container_status(*t.dir, t.state);
  // --ignore-paused: the process joins the frozen cgroup and runs once it is thawed.
  bool paused_ok = ignore_paused && status == "paused";
  if (status != "running" && status != "created" && !paused_ok) {
    throw Error(container_object(id), "cannot exec in a " + status + " container");
  }
  const nlohmann::json& nyx = t.state["nyx"];
  t.container = parse_config_json(nyx.value("config", nlohmann::json::object()));
  const nlohmann::json& h = t.state.value("hardening", nlohmann::json::object());
  t.enforce = h.value("mode", "") == "enforce";
  std::vector<std::string> ablated;
  for (const auto& a : h.value("ablation", nlohmann::json::array()))
    ablated.push_back(a.get<std::string>());
  t.ablation = Ablation::from_names(ablated);
  return t;
}

// CVE-2019-5736: the exec'd process starts as a fork of this one, in the container, and a
// script it runs can name /proc/self/exe as its interpreter. Where the container's credentials
// could write the runtime binary (no user namespace, or one that maps its owner), this process
// first executes itself again from a read-only copy (self_exe.hpp), so that whatever of it the
// container can reach is that copy. With a user namespace that does not map the owner, the
// kernel's permission check already refuses the write and nothing is done.
void protect_runtime_binary(pid_t init) {
  if (exe_is_protected() || !exe_writable_from(init)) return;
  int err = reexec_protected();
  log::warn("exec: cannot run from a read-only copy of the runtime binary (" +
            std::string(errno_name(err)) + "); the container could reach it through its processes");
}

}  // namespace

int cmd_exec(const GlobalOptions& g, const ExecOptions& o) {
  std::vector<int> preserved = reserve_preserved_fds(o.preserve_fds);
  StateStore store(g.root);
  ExecTarget t = open_target(store, o.id, o.ignore_paused);
  protect_runtime_binary(t.state["pid"].get<pid_t>());
  UniqueFd init = open_init(*t.dir, &t.state);  // pinned while we join its namespaces
  if (!init) throw Error(container_object(o.id), "its init process is gone");
  Config cfg = exec_config(t.container, exec_process(o, t.container), t.state["pid"].get<pid_t>());
  if (cfg.process->terminal && o.console_socket.empty() && o.detach) {
    throw Error("exec", "cannot allocate a tty with --detach: use --console-socket");
  }
  PlanInput in;
  in.cfg = &cfg;
  in.rootfs = t.state.value("rootfs", "/");
  in.bundle = t.state.value("bundle", "/");
  in.ablation = t.ablation;
  in.enforce = t.enforce;
  in.preserved = preserved;
  in.rootless = ::geteuid() != 0;
  in.join = JoinTarget{t.state["pid"].get<pid_t>()};
  in.terminal = terminal_plan(*cfg.process, false);
  const nlohmann::json& nyx = t.state["nyx"];
  Launch launch(std::move(in),
                exec_cgroups(nyx.value("cgroups", nlohmann::json::array()), o.cgroups),
                container_object(o.id));
  for (const auto& w : launch.warnings())
    log::warn(w);
  std::optional<ForwardedSignals> signals;
  if (!o.detach) signals.emplace();
  launch.spawn();
  launch.setup(nullptr, std::nullopt);
  launch.talk([] {}, [](pid_t) {});
  for (const auto& f : launch.check_outcome())
    log::warn(container_object(o.id) + ": exec: " + f);
  UniqueFd master = launch.take_console();
  if (!o.console_socket.empty() && master) {
    send_console(o.console_socket, master.get());
    master.reset();
  }
  if (o.detach) launch.keep();
  launch.send(ParentMsg::Start);
  // Into a pid namespace, the process that runs is forked at the start (child.cpp).
  launch.follow_fork();
  pid_t pid = launch.pid();
  if (UniqueFd listener = launch.take_seccomp_listener()) {
    const Seccomp& sc = *cfg.linux.seccomp;
    nlohmann::json oci = public_state(t.state, container_status(*t.dir, t.state));
    oci.erase("hardening");
    send_to_seccomp_agent(sc.listener_path, sc.listener_metadata, pid, oci, listener.get());
  }
  record_exec(store, o.id, pid, cfg.process->args,
              hardening_json(launch.outcome(), t.enforce, t.ablation.names()));
  if (!o.pid_file.empty()) write_pid_file(o.pid_file, pid);
  launch.release();
  if (o.detach) return 0;
  WaitResult res = wait_foreground(launch.init(), master.get(), std::nullopt, *signals, [] {});
  return exit_code_of(res.status);
}

}  // namespace nyx
