// `doctor [--bundle B] [--format table|json]`: what on this host would block each primitive of a
// config (the bundle's, or the strict profile's), before a run. It asks the host the questions
// the record's diagnosis asks after a failure (runtime/causes.cpp), and tries what can only be
// known by trying (namespaces, a seccomp filter) in a throwaway child.
#include "runtime/doctor.hpp"

#include <linux/capability.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <functional>

#include "base/error.hpp"
#include "bundle/profile.hpp"
#include "runtime/causes.hpp"
#include "runtime/primitives/apparmor.hpp"
#include "runtime/primitives/capabilities.hpp"
#include "runtime/primitives/landlock.hpp"
#include "runtime/primitives/namespaces.hpp"
#include "runtime/record_view.hpp"

namespace nyx {

namespace {

using nlohmann::json;

enum class Verdict { Apply, Fail, Skip, NotRequested };

struct Row {
  std::string name;
  Verdict verdict = Verdict::NotRequested;
  std::string detail;
  std::optional<Cause> cause;
};

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::Apply:
      return "will apply";
    case Verdict::Fail:
      return "will fail";
    case Verdict::Skip:
      return "will be skipped";
    case Verdict::NotRequested:
      break;
  }
  return "not requested";
}

Row row(std::string name, std::optional<Cause> blocker, std::string detail = {}) {
  Row r{std::move(name), blocker ? Verdict::Fail : Verdict::Apply, std::move(detail), blocker};
  return r;
}

// 0 when a child of this process may do `try_it`, else the errno it got.
int in_child(const std::function<int()>& try_it) {
  pid_t pid = ::fork();
  if (pid < 0) return errno;
  if (pid == 0) ::_exit(try_it());
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : EFAULT;
}

int try_unshare(int flags) {
  return in_child([flags] { return ::unshare(flags) == 0 ? 0 : errno; });
}

struct NsVerdict {
  Row row;
  bool mount_ok = true;
};

NsVerdict namespaces_row(const Config& cfg, const HostView& host) {
  NsVerdict out;
  out.row.name = "namespaces";
  int flags = 0;
  std::vector<std::string> types;
  for (const Namespace& n : cfg.linux.namespaces) {
    types.emplace_back(ns_type_name(n.type));
    if (!n.path.empty()) {
      if (::access(n.path.c_str(), F_OK) != 0) {
        out.row.verdict = Verdict::Fail;
        out.row.cause =
            diagnose(Prim::Namespaces, ENOENT, static_cast<std::uint16_t>(n.type), 0, n.path, host);
        out.mount_ok = out.mount_ok && n.type != NsType::Mount;
      }
      continue;
    }
    if (n.type != NsType::Time) flags |= clone_flag(n.type);
  }
  if (types.empty()) return out;
  std::string list;
  for (const auto& t : types)
    list += (list.empty() ? "" : ",") + t;
  out.row.detail = list;
  if (out.row.verdict == Verdict::Fail) return out;
  out.row.verdict = Verdict::Apply;
  if ((flags & CLONE_NEWUSER) != 0) {
    if (int err = try_unshare(CLONE_NEWUSER); err != 0) {
      out.row.verdict = Verdict::Fail;
      out.row.cause =
          diagnose(Prim::Namespaces, err, static_cast<std::uint16_t>(NsType::User), 0, {}, host);
      // The runtime then tries again without the user namespace.
      flags &= ~CLONE_NEWUSER;
    }
  }
  if (flags != 0) {
    if (int err = try_unshare(flags); err != 0) {
      out.row.verdict = Verdict::Fail;
      out.mount_ok = false;
      NsType first = NsType::Pid;
      for (const Namespace& n : cfg.linux.namespaces) {
        if (n.path.empty() && n.type != NsType::User) {
          first = n.type;
          break;
        }
      }
      if (!out.row.cause) {
        out.row.cause =
            diagnose(Prim::Namespaces, err, static_cast<std::uint16_t>(first), 0, {}, host);
      }
    }
  }
  if (cfg.linux.find_namespace(NsType::Mount) == nullptr) out.mount_ok = false;
  return out;
}

std::vector<Row> rlimit_rows(const Config& cfg, const HostView& host) {
  std::vector<Row> out;
  std::optional<Cause> other;
  bool others = false;
  for (const Rlimit& r : cfg.process->rlimits) {
    auto blocker = rlimit_blocker(host, r.resource, r.soft, r.hard);
    std::string name = r.resource == RLIMIT_CPU      ? "rlimit_cpu"
                       : r.resource == RLIMIT_NOFILE ? "rlimit_nofile"
                       : r.resource == RLIMIT_AS     ? "rlimit_as"
                                                     : "";
    if (name.empty()) {
      others = true;
      if (!other) other = blocker;
      continue;
    }
    out.push_back(row(name, blocker, std::to_string(r.soft)));
  }
  if (others) out.push_back(row("rlimits", other));
  return out;
}

std::optional<Cause> cgroups_blocker(const Config& cfg, const HostView& host) {
  const Resources& r = cfg.linux.resources;
  std::vector<std::string> needed;
  if (r.memory_limit || r.memory_reservation || r.memory_swap) needed.emplace_back("memory");
  if (r.pids_limit) needed.emplace_back("pids");
  if (r.cpu_shares || r.cpu_quota || r.cpu_period) needed.emplace_back("cpu");
  if (!r.cpuset_cpus.empty() || !r.cpuset_mems.empty()) needed.emplace_back("cpuset");
  for (const auto& c : needed) {
    if (auto b = cgroup_controller_blocker(host, c)) return b;
  }
  if (host.readonly("/sys/fs/cgroup")) {
    return diagnose(Prim::Cgroups, EROFS, 0, 0, "/sys/fs/cgroup", host);
  }
  if (::access("/sys/fs/cgroup", W_OK) != 0 && !needed.empty()) {
    return diagnose(Prim::Cgroups, EACCES, 0, 0, "/sys/fs/cgroup", host);
  }
  return std::nullopt;
}

std::optional<Cause> capabilities_blocker(const Config& cfg, const HostView& host) {
  const CapabilitySets& s = *cfg.process->capabilities;
  std::uint64_t asked = s.bounding | s.permitted | s.effective | s.ambient | s.inheritable;
  std::uint64_t missing = asked & ~host.bounding_set();
  if (missing == 0) return std::nullopt;
  PrimOutcome planned;
  planned.detail = {{"bounding", capability_names(missing)}};
  return diagnose(Failure{Prim::Capabilities, EPERM, 0, 0, {}, planned}, host);
}

Row landlock_row(const Config& cfg, const HostView& host) {
  bool derived = cfg.annotations.count("org.nyx.landlock") != 0;
  const auto& ll = cfg.process->landlock;
  if (!derived && !ll) return Row{"landlock"};
  auto blocker = landlock_blocker(host);
  if (blocker) {
    bool strict = ll && ll->disable_best_effort;
    return Row{"landlock", strict ? Verdict::Fail : Verdict::Skip, "", blocker};
  }
  return row("landlock", std::nullopt, "ABI " + std::to_string(host.landlock_abi()));
}

// As the run decides (runtime/primitives/apparmor.cpp): a host without AppArmor skips the
// profile, which only --enforce turns into a failure.
Row apparmor_row(const Config& cfg, const HostView& host, bool enforce) {
  const std::string& profile = cfg.process->apparmor_profile;
  if (profile.empty()) return Row{"apparmor"};
  AppArmorDecision d = decide_apparmor(profile, host);
  switch (d.action) {
    case AppArmorAction::Skip:
      return Row{"apparmor", enforce ? Verdict::Fail : Verdict::Skip, profile, d.cause};
    case AppArmorAction::Missing:
      return row("apparmor", d.cause, profile);
    case AppArmorAction::Write:
      break;
  }
  return row("apparmor", std::nullopt, profile);
}

Row seccomp_row(const Config& cfg, const HostView& host) {
  if (!cfg.linux.seccomp) return Row{"seccomp"};
  if (auto b = seccomp_blocker(host)) return row("seccomp", b);
  // A NULL program: the kernel checks what it can and stops at the copy (EFAULT).
  int err = in_child([] {
    long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, nullptr);
    return rc == 0 || errno == EFAULT ? 0 : errno;
  });
  if (err != 0) return row("seccomp", diagnose(Prim::Seccomp, err, 0, 0, {}, host));
  return row("seccomp", std::nullopt);
}

std::vector<Row> diagnose_config(const Config& cfg, const HostView& host, bool enforce) {
  std::vector<Row> rows;
  const Process& proc = *cfg.process;
  rows.push_back(proc.no_new_privileges ? row("no_new_privs", std::nullopt) : Row{"no_new_privs"});
  for (auto& r : rlimit_rows(cfg, host))
    rows.push_back(std::move(r));
  rows.push_back(row("session", std::nullopt));
  NsVerdict ns = namespaces_row(cfg, host);
  rows.push_back(ns.row);
  if (!cfg.linux.resources.empty()) rows.push_back(row("cgroups", cgroups_blocker(cfg, host)));
  bool has_mounts = !cfg.mounts.empty() || !cfg.linux.masked_paths.empty();
  std::optional<Cause> no_mntns;
  if (!ns.mount_ok) {
    no_mntns = ns.row.cause ? ns.row.cause
                            : std::optional<Cause>(
                                  Cause{"no_mount_namespace", "the config has no mount namespace"});
  }
  if (has_mounts) rows.push_back(row("mounts", no_mntns));
  if (!cfg.linux.sysctl.empty()) {
    std::optional<Cause> b;
    if (!ns.mount_ok && host.readonly("/proc/sys"))
      b = diagnose(Prim::Sysctl, EROFS, 0, 0, {}, host);
    rows.push_back(row("sysctl", b));
  }
  rows.push_back(cfg.linux.find_namespace(NsType::Mount) != nullptr ? row("root", no_mntns)
                                                                    : Row{"root"});
  rows.push_back(proc.capabilities ? row("capabilities", capabilities_blocker(cfg, host))
                                   : Row{"capabilities"});
  if (!proc.apparmor_profile.empty()) rows.push_back(apparmor_row(cfg, host, enforce));
  rows.push_back(landlock_row(cfg, host));
  rows.push_back(seccomp_row(cfg, host));
  return rows;
}

json host_json(const HostView& host) {
  struct utsname u {};
  ::uname(&u);
  int abi = host.landlock_abi();
  std::string cgroup = host.read("/sys/fs/cgroup/cgroup.controllers")           ? "v2"
                       : host.read("/sys/fs/cgroup/unified/cgroup.controllers") ? "hybrid"
                                                                                : "v1";
  return {{"kernel", u.release},
          {"landlockAbi", abi > 0 ? abi : 0},
          {"cgroup", cgroup},
          {"initialUserNamespace", host.initial_userns()},
          {"capSysAdmin", host.has_cap(CAP_SYS_ADMIN)}};
}

std::string table(const std::vector<Row>& rows, const std::string& what, const json& host,
                  bool color) {
  auto paint = [color](const std::string& s, const char* c) {
    return color ? std::string(c) + s + "\033[0m" : s;
  };
  std::string out = "doctor: " + what + " on Linux " + host["kernel"].get<std::string>() +
                    " (cgroup " + host["cgroup"].get<std::string>() + ", Landlock ABI " +
                    std::to_string(host["landlockAbi"].get<int>()) + ")\n";
  for (const Row& r : rows) {
    std::string name = r.name + std::string(r.name.size() < 15 ? 15 - r.name.size() : 1, ' ');
    std::string verdict = verdict_name(r.verdict);
    const char* c = r.verdict == Verdict::Apply  ? "\033[32m"
                    : r.verdict == Verdict::Fail ? "\033[31m"
                                                 : "\033[2m";
    out += name + paint(verdict, c);
    if (r.cause) out += ": " + r.cause->code + ": " + r.cause->message;
    if (!r.detail.empty() && !r.cause) out += " (" + r.detail + ")";
    out += "\n";
  }
  return out;
}

}  // namespace

int cmd_doctor(const std::string& bundle, const std::string& format, bool enforce) {
  Config cfg;
  std::string what;
  if (!bundle.empty()) {
    cfg = load_config(bundle + "/config.json");
    if (!cfg.process) throw Error("process", "missing required field");
    what = "bundle " + bundle;
  } else {
    SpecOptions strict;
    cfg = parse_config_json(json::parse(make_spec(strict).dump()));
    what = "the strict profile";
  }
  auto mode = cfg.annotations.find("org.nyx.hardening.mode");
  enforce = enforce || (mode != cfg.annotations.end() && mode->second == "enforce");
  const HostView& host = real_host();
  std::vector<Row> rows = diagnose_config(cfg, host, enforce);
  json h = host_json(host);
  if (format == "json") {
    nlohmann::ordered_json prims = nlohmann::ordered_json::object();
    for (const Row& r : rows) {
      nlohmann::ordered_json e = {{"verdict", verdict_name(r.verdict)}};
      if (!r.detail.empty()) e["detail"] = r.detail;
      if (r.cause) e["cause"] = {{"code", r.cause->code}, {"message", r.cause->message}};
      prims[r.name] = e;
    }
    nlohmann::ordered_json out = {
        {"bundle", bundle.empty() ? json() : json(bundle)}, {"host", h}, {"primitives", prims}};
    std::string text = out.dump(2) + "\n";
    std::fwrite(text.data(), 1, text.size(), stdout);
  } else {
    std::string text = table(rows, what, h, want_color());
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
  int failing = 0;
  for (const Row& r : rows)
    failing += r.verdict == Verdict::Fail ? 1 : 0;
  return failing == 0 ? 0 : 2;
}

}  // namespace nyx
