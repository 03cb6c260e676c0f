// The command line: runc's, so that engines can drive nyx unchanged (SPEC §3).
#include "runtime/cli.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <string_view>

#include "base/error.hpp"
#include "runtime/doctor.hpp"
#include "runtime/exec.hpp"
#include "runtime/lifecycle.hpp"
#include "runtime/log.hpp"

namespace nyx {

namespace {

// The feature line is crun's: what the build can do, read by scripts (crun's own test suite
// runs its sd_notify tests when it says +SYSTEMD).
constexpr const char* kVersion =
    "nyx-runtime version 0.1.0\nspec: 1.0.2\n+SYSTEMD +APPARMOR +SECCOMP +CAP +EBPF +LANDLOCK\n";

std::string default_root() {
  if (::geteuid() == 0) return "/run/nyx-runtime";
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  return std::string(xdg != nullptr && *xdg != '\0' ? xdg : "/tmp") + "/nyx-runtime";
}

struct Cli {
  CLI::App app{"nyx-runtime: a hardening container runtime with a per-primitive record",
               "nyx-runtime"};
  GlobalOptions global;
  std::string log_path;
  std::string log_format = "text";
  std::string log_level;
  bool debug = false;
  std::string cgroup_manager;
  std::string rootless;

  CreateOptions create;
  std::string ablate;
  RunOptions run;
  std::string run_ablate;
  bool no_new_keyring = false;  // runc's --no-new-keyring: the keyring primitive, ablated
  SpecOptions spec;
  std::string spec_bundle;
  std::string allow;
  std::string id;
  std::string signal;
  bool all = false;
  bool force = false;
  bool regex = false;
  std::string format = "table";
  std::string state_format = "json";
  std::string state_file;
  std::string doctor_bundle;
  bool doctor_enforce = false;
  bool quiet = false;
  std::vector<std::string> ps_args;
  std::string resources;
  std::map<std::string, std::string> update_values;
  bool stats = false;
  std::string interval = "5s";
  ExecOptions exec;
  std::function<int()> action;

  // Only the subcommand named on the command line is built (all of them when there is none,
  // for help and errors): CLI11 options are costly to construct, and every container start
  // pays for them (docs/benchmarks.md).
  explicit Cli(std::string_view command) : only(command) {
    app.set_version_flag("-v,--version", std::string(kVersion));
    app.add_option("--root", global.root, "state directory");
    app.add_option("--log", log_path, "log file");
    app.add_option("--log-format", log_format, "text or json")
        ->check(CLI::IsMember({"text", "json"}));
    app.add_option("--log-level", log_level, "accepted for compatibility");
    app.add_flag("--debug", debug, "debug messages");
    app.add_flag("--systemd-cgroup", global.systemd_cgroup, "use systemd for cgroups");
    app.add_option("--cgroup-manager", cgroup_manager, "cgroupfs, systemd or disabled");
    app.add_option("--rootless", rootless, "accepted for compatibility");
    app.require_subcommand(1);
    app.fallthrough();
    if (want("spec")) add_spec();
    if (want("create")) add_create();
    if (want("run")) add_run();
    add_simple();
    if (want("exec")) add_exec();
  }

  std::string_view only;  // "" builds every subcommand, "-" none
  bool want(std::string_view name) const { return only.empty() || only == name; }

  void add_lifecycle_flags(CLI::App* c, CreateOptions& o, std::string& ablation) {
    c->add_option("-b,--bundle", o.bundle, "bundle directory");
    c->add_option("--config", o.config, "config file, relative to the bundle (config.json)");
    c->add_option("--pid-file", o.pid_file, "file to write the init's pid to");
    c->add_option("--console-socket", o.console_socket, "unix socket to send the pty master to");
    c->add_flag("--no-pivot", o.no_pivot, "chroot instead of pivot_root");
    c->add_flag("--no-new-keyring", no_new_keyring,
                "keep the caller's session keyring (ablates the keyring primitive)");
    c->add_option("--preserve-fds", o.preserve_fds, "pass fds 3..3+N-1 to the container");
    c->add_option("--ablate", ablation, "turn hardening primitives off (experiments)");
    c->add_flag("--enforce", o.enforce, "fail when any hardening primitive fails");
  }

  std::string with_keyring_flag(const std::string& list) const {
    return no_new_keyring ? list + ",keyring" : list;
  }

  void add_spec() {
    CLI::App* c = app.add_subcommand("spec", "write a config.json");
    c->add_option("-b,--bundle", spec_bundle, "bundle directory");
    c->add_option("--profile", spec.profile, "strict or standard");
    c->add_flag("--rootless", spec.rootless, "map container root to the caller");
    c->add_flag("--host-libs", spec.host_libs, "bind the host's libraries read-only");
    c->add_option("--memory", spec.memory_mib, "memory in MiB");
    c->add_option("--timeout", spec.timeout_s, "timeout in seconds");
    c->add_option("--allow", allow, "seccomp groups to allow, comma separated");
    c->add_option("args", spec.args, "the harness command");
    c->callback([this] {
      action = [this] {
        std::string item;
        for (char ch : allow + ",") {
          if (ch != ',') {
            item += ch;
          } else if (!item.empty()) {
            spec.allow.push_back(item);
            item.clear();
          }
        }
        return cmd_spec(spec, spec_bundle);
      };
    });
  }

  void add_create() {
    CLI::App* c = app.add_subcommand("create", "create a container");
    add_lifecycle_flags(c, create, ablate);
    c->add_option("id", create.id, "container ID")->required();
    c->callback([this] {
      action = [this] {
        create.ablation = Ablation::parse(with_keyring_flag(ablate));
        create.mode = StartMode::Create;
        return cmd_create(global, create);
      };
    });
  }

  void add_run() {
    CLI::App* c = app.add_subcommand("run", "create, start, wait for and delete a container");
    add_lifecycle_flags(c, run.create, run_ablate);
    c->add_flag("-d,--detach", run.detach, "do not wait for the container");
    c->add_flag("--keep", run.keep, "keep the container after it exits");
    c->add_option("--timeout", run.timeout_s, "kill the container after this many seconds");
    c->add_option("--report", run.report, "write the final state JSON here");
    c->add_option("target", run.target, "container ID or bundle directory");
    c->callback([this] {
      action = [this] {
        run.create.ablation = Ablation::parse(with_keyring_flag(run_ablate));
        return cmd_run(global, run);
      };
    });
  }

  // The subcommand, when it is one to build; with a required container ID when `with_id`.
  CLI::App* sub(const char* name, const char* what, bool with_id = true) {
    if (!want(name)) return nullptr;
    CLI::App* c = app.add_subcommand(name, what);
    if (with_id) c->add_option("id", id)->required();
    return c;
  }

  void add_simple() {
    if (CLI::App* c = sub("start", "start a created container")) {
      c->callback([this] { action = [this] { return cmd_start(global, id); }; });
    }
    if (CLI::App* c = sub("state", "print the state of a container", false)) {
      c->add_option("id", id, "container ID");
      c->add_option("-f,--format", state_format, "json, or table for a person")
          ->check(CLI::IsMember({"table", "json"}));
      c->add_option("--file", state_file, "a saved state or --report file instead (- for stdin)");
      c->callback([this] {
        action = [this] {
          if (id.empty() == state_file.empty()) {
            throw Error("state", "needs a container ID or --file, not both");
          }
          return cmd_state(global, id, state_format, state_file);
        };
      });
    }
    if (CLI::App* c = sub("doctor", "what on this host would block each primitive", false)) {
      c->add_option("-b,--bundle", doctor_bundle, "bundle directory (default: the strict profile)");
      c->add_option("-f,--format", format, "table or json")
          ->check(CLI::IsMember({"table", "json"}));
      c->add_flag("--enforce", doctor_enforce, "as create --enforce would: skips are failures");
      c->callback([this] {
        action = [this] { return cmd_doctor(doctor_bundle, format, doctor_enforce); };
      });
    }
    if (CLI::App* c = sub("kill", "send a signal to a container")) {
      c->add_flag("-a,--all", all, "signal every process of the container");
      c->add_option("signal", signal);
      c->callback([this] { action = [this] { return cmd_kill(global, id, signal, all); }; });
    }
    if (CLI::App* c = sub("delete", "delete a container")) {
      c->add_flag("-f,--force", force, "kill it first if it is running");
      c->add_flag("-r,--regex", regex, "ID is an extended regular expression (crun)");
      c->callback([this] {
        action = [this] {
          return regex ? cmd_delete_matching(global, id, force) : cmd_delete(global, id, force);
        };
      });
    }
    if (CLI::App* c = sub("list", "list containers", false)) {
      c->add_option("-f,--format", format)->check(CLI::IsMember({"table", "json"}));
      c->add_flag("-q,--quiet", quiet);
      c->callback([this] { action = [this] { return cmd_list(global, format, quiet); }; });
    }
    if (CLI::App* c = sub("pause", "freeze every process of a container")) {
      c->callback([this] { action = [this] { return cmd_pause(global, id, true); }; });
    }
    if (CLI::App* c = sub("resume", "thaw a paused container")) {
      c->callback([this] { action = [this] { return cmd_pause(global, id, false); }; });
    }
    if (CLI::App* c = sub("ps", "list a container's processes")) {
      c->add_option("-f,--format", format)->check(CLI::IsMember({"table", "json"}));
      c->add_option("ps_args", ps_args);
      c->callback([this] { action = [this] { return cmd_ps(global, id, format, ps_args); }; });
    }
    if (CLI::App* c = sub("update", "change a container's resources")) {
      c->add_option("-r,--resources", resources, "linux.resources JSON file, - for stdin");
      for (const char* flag :
           {"memory", "memory-reservation", "memory-swap", "kernel-memory", "kernel-memory-tcp",
            "pids-limit", "cpu-share", "cpu-quota", "cpu-period", "cpu-rt-period", "cpu-rt-runtime",
            "cpuset-cpus", "cpuset-mems", "blkio-weight"}) {
        c->add_option(std::string("--") + flag, update_values[flag]);
      }
      c->callback([this] {
        action = [this] {
          std::erase_if(update_values, [](const auto& kv) { return kv.second.empty(); });
          return cmd_update(global, id, resources, update_values);
        };
      });
    }
    if (CLI::App* c = sub("events", "print a container's state events")) {
      c->add_flag("--stats", stats);
      c->add_option("--interval", interval, "a duration: 5s, 100ms");
      c->callback([this] { action = [this] { return cmd_events(global, id, stats, interval); }; });
    }
    if (CLI::App* c = sub("features", "print the runtime's features", false)) {
      c->callback([this] { action = [] { return cmd_features(); }; });
    }
  }

  void add_exec() {
    CLI::App* c = app.add_subcommand("exec", "run a process in a container");
    c->add_option("-p,--process", exec.process_file, "process.json");
    c->add_flag("-d,--detach", exec.detach);
    c->add_option("--pid-file", exec.pid_file);
    c->add_flag("-t,--tty", exec.tty);
    c->add_option("--console-socket", exec.console_socket);
    // One value per occurrence: a repeatable flag must not swallow the command after the ID.
    auto repeated = [](CLI::Option* o) {
      o->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    };
    repeated(c->add_option("-e,--env", exec.env));
    c->add_option("--cwd", exec.cwd);
    c->add_option("-u,--user", exec.user);
    repeated(c->add_option("-c,--cap", exec.caps));
    c->add_flag("--no-new-privs", exec.no_new_privs);
    c->add_option("--preserve-fds", exec.preserve_fds);
    c->add_option("--process-label", exec.process_label, "SELinux label of the process");
    c->add_option("--apparmor", exec.apparmor, "AppArmor profile of the process");
    repeated(
        c->add_option("--cgroup", exec.cgroups, "[CONTROLLERS:]PATH below the container's cgroup"));
    repeated(c->add_option("-g,--additional-gids", exec.additional_gids, "additional group ids"));
    c->add_flag("--ignore-paused", exec.ignore_paused, "exec in a paused container (it waits)");
    c->add_option("id", exec.id, "container ID")->required();
    // The command: everything after the ID, taken before parsing (normalize_exec).
    c->callback([this] { action = [this] { return cmd_exec(global, exec); }; });
  }
};

// --systemd-cgroup (or --cgroup-manager systemd) makes the container's cgroup a systemd scope;
// on a host without systemd that is an error now rather than a confusing D-Bus one later.
void check_cgroup_manager(const Cli& cli) {
  bool systemd = cli.global.systemd_cgroup || cli.cgroup_manager == "systemd";
  if (systemd && ::access("/run/systemd/system", F_OK) != 0) {
    throw Error("--systemd-cgroup",
                "systemd is not running on this host; use the cgroupfs manager");
  }
}

// Index of the subcommand in args (args.size() when there is none): the first word after the
// global options.
std::size_t command_index(const std::vector<std::string>& args) {
  static const std::set<std::string> kGlobalValues = {
      "--root", "--log", "--log-format", "--log-level", "--cgroup-manager", "--rootless"};
  std::size_t i = 1;
  while (i < args.size() && args[i].size() > 1 && args[i][0] == '-') {
    i += kGlobalValues.count(args[i]) != 0 ? 2 : 1;
  }
  return std::min(i, args.size());
}

// Which subcommands Cli builds: the one named, if nyx has it; none for a bare --version; all
// otherwise, so that help lists them and an unknown word gets CLI11's usual error.
std::string_view command_to_build(const std::vector<std::string>& args) {
  static const std::set<std::string_view> kCommands = {
      "spec",  "create", "run", "start",  "state",  "kill",     "delete", "list",
      "pause", "resume", "ps",  "update", "events", "features", "exec",   "doctor"};
  std::size_t i = command_index(args);
  if (i < args.size()) {
    auto it = kCommands.find(args[i]);
    return it != kCommands.end() ? *it : std::string_view();
  }
  bool version = false;
  for (std::size_t k = 1; k < args.size(); ++k) {
    if (args[k] == "-h" || args[k] == "--help") return {};
    version = version || args[k] == "-v" || args[k] == "--version";
  }
  return version ? "-" : "";
}

// `ps ID -e -x`: everything after the ID goes to ps(1), as with runc.
std::vector<std::string> normalize_ps(std::vector<std::string> args, std::size_t i) {
  for (++i; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") return args;
    if (a.size() < 2 || a[0] != '-') break;
    if (a == "-f" || a == "--format") ++i;
  }
  if (i + 1 < args.size()) args.insert(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, "--");
  return args;
}

// Everything after exec's container ID is the command, options included (as with runc): it is
// cut off here and never reaches the parser, which sees the options and the ID only.
std::vector<std::string> normalize_exec(int argc, char** argv, std::vector<std::string>& command) {
  static const std::set<std::string> kExecValues = {"-p",
                                                    "--process",
                                                    "--pid-file",
                                                    "--console-socket",
                                                    "-e",
                                                    "--env",
                                                    "--cwd",
                                                    "-u",
                                                    "--user",
                                                    "-c",
                                                    "--cap",
                                                    "--preserve-fds",
                                                    "--process-label",
                                                    "--apparmor",
                                                    "--cgroup",
                                                    "-g",
                                                    "--additional-gids"};
  std::vector<std::string> args(argv, argv + argc);
  std::size_t i = command_index(args);
  if (i < args.size() && args[i] == "ps") return normalize_ps(std::move(args), i);
  if (i >= args.size() || args[i] != "exec") return args;
  for (++i; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      // exec [OPTIONS] -- ID COMMAND...
      if (i + 1 < args.size()) {
        command.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 2, args.end());
        args.erase(args.begin() + static_cast<std::ptrdiff_t>(i) + 2, args.end());
      }
      return args;
    }
    if (a.size() < 2 || a[0] != '-') break;
    if (kExecValues.count(a) != 0) ++i;
  }
  if (i + 1 < args.size()) {
    command.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
    args.erase(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
  }
  return args;
}

// Engines probe for checkpoint support with `checkpoint --help`: it must fail.
bool unsupported(const std::vector<std::string>& args) {
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "checkpoint" || args[i] == "restore") return true;
    if (args[i].empty() || args[i][0] != '-') return false;
  }
  return false;
}

int run_cli(Cli& cli, std::vector<std::string> args) {
  if (unsupported(args))
    throw Error(args[1] == "restore" ? "restore" : "checkpoint", "not supported by nyx-runtime");
  std::vector<char*> ptrs;
  for (auto& a : args)
    ptrs.push_back(a.data());
  try {
    cli.app.parse(static_cast<int>(ptrs.size()), ptrs.data());
  } catch (const CLI::CallForHelp& e) {
    return cli.app.exit(e);
  } catch (const CLI::CallForVersion&) {
    std::fputs(kVersion, stdout);
    return 0;
  } catch (const CLI::ParseError& e) {
    cli.app.exit(e);
    return 1;
  }
  log::configure(cli.log_path, cli.log_format == "json" ? log::Format::Json : log::Format::Text,
                 cli.debug);
  if (cli.global.root.empty()) cli.global.root = default_root();
  check_cgroup_manager(cli);
  cli.global.systemd_cgroup = cli.global.systemd_cgroup || cli.cgroup_manager == "systemd";
  return cli.action();
}

}  // namespace

int cli_main(int argc, char** argv) {
  std::vector<std::string> command;
  std::vector<std::string> args = normalize_exec(argc, argv, command);
  Cli cli(command_to_build(args));
  cli.exec.args = std::move(command);
  try {
    return run_cli(cli, std::move(args));
  } catch (const Error& e) {
    log::error(e.what());
    return cli.want("exec") && cli.app.got_subcommand("exec") ? 255 : 1;
  }
}

}  // namespace nyx
