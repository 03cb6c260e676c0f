#include "runtime/causes.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "base/error.hpp"
#include "bundle/config.hpp"
#include "runtime/primitives/cgroups.hpp"
#include "runtime/primitives/landlock.hpp"
#include "runtime/primitives/mounts.hpp"

namespace nyx {

namespace {

class RealHost final : public HostView {
 public:
  std::optional<std::string> read(const std::string& path) const override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) return std::nullopt;
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0 && out.size() < (1u << 20))
      out.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    if (n < 0) return std::nullopt;
    while (!out.empty() && out.back() == '\n')
      out.pop_back();
    return out;
  }
  bool has_cap(int cap) const override {
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    if (::syscall(SYS_capget, &hdr, data) != 0) return false;
    return (data[cap / 32].effective & (1U << (cap % 32))) != 0;
  }
  std::uint64_t bounding_set() const override {
    std::uint64_t set = 0;
    if (auto status = read("/proc/self/status")) {
      auto at = status->find("CapBnd:");
      if (at != std::string::npos) set = std::strtoull(status->c_str() + at + 7, nullptr, 16);
    }
    return set;
  }
  bool initial_userns() const override {
    auto map = read("/proc/self/uid_map");
    if (!map) return true;
    std::istringstream in(*map);
    std::uint64_t inside = 1, outside = 1, count = 0;
    in >> inside >> outside >> count;
    return inside == 0 && outside == 0 && count == 4294967295ULL;
  }
  int landlock_abi() const override { return nyx::landlock_abi(); }
  bool readonly(const std::string& path) const override {
    struct statvfs st {};
    return ::statvfs(path.c_str(), &st) == 0 && (st.f_flag & ST_RDONLY) != 0;
  }
  std::optional<struct rlimit> rlimit_of(int resource) const override {
    struct rlimit r {};
    if (::getrlimit(resource, &r) != 0) return std::nullopt;
    return r;
  }
};

Cause cause(std::string code, std::string message) {
  return Cause{std::move(code), std::move(message)};
}

std::string err_words(int err) {
  return errno_name(err) + " (" + std::strerror(err) + ")";
}

Cause unexplained(int err) {
  return cause("unexplained",
               "the kernel answered " + err_words(err) + "; no host setting nyx knows explains it");
}

// "Seccomp:" of /proc/self/status: 0 none, 1 strict, 2 filtered; -1 when the kernel has none.
int seccomp_mode(const HostView& host) {
  auto status = host.read("/proc/self/status");
  if (!status) return -1;
  auto at = status->find("\nSeccomp:");
  if (at == std::string::npos) return -1;
  return std::atoi(status->c_str() + at + 9);
}

bool sysctl_is(const HostView& host, const char* path, const char* value) {
  auto v = host.read(path);
  return v && *v == value;
}

Cause no_sys_admin(const HostView& host) {
  bool bounded = (host.bounding_set() & (std::uint64_t{1} << CAP_SYS_ADMIN)) == 0;
  if (!host.initial_userns() || bounded) {
    return cause("no_cap_sys_admin",
                 "the runtime has no CAP_SYS_ADMIN: it runs inside a container (" +
                     std::string(bounded ? "its bounding set lacks it"
                                         : "a user namespace that is not the host's") +
                     ") that did not grant it");
  }
  return cause("no_cap_sys_admin", "the runtime has no CAP_SYS_ADMIN (not run as root?)");
}

std::optional<Cause> runtime_filtered(const HostView& host, int err) {
  if (seccomp_mode(host) != 2 || (err != EPERM && err != ENOSYS && err != EACCES)) {
    return std::nullopt;
  }
  return cause("runtime_seccomp",
               "the runtime itself runs under a seccomp filter (Seccomp: 2 in /proc/self/status), "
               "as under a container engine's default profile, and the call answered " +
                   errno_name(err));
}

// ---- per primitive ------------------------------------------------------------------------

std::string ns_name(std::uint16_t what) {
  return what < kNsTypeCount ? std::string(ns_type_name(static_cast<NsType>(what))) : "?";
}

Cause namespaces_cause(const Failure& f, const HostView& host) {
  auto type = static_cast<NsType>(f.what);
  std::string name = ns_name(f.what);
  if (!f.note.empty()) {  // joined by path
    std::string path(f.note);
    if (f.err == ENOENT) {
      return cause("namespace_path_missing",
                   path + " does not exist (the process that held the namespace has exited?)");
    }
    if (f.err == EINVAL)
      return cause("namespace_path_invalid", path + " is not a " + name + " namespace");
  }
  if (type == NsType::User) {
    if (auto c = userns_blocker(host, f.err)) return *c;
  } else if (f.err == ENOSPC) {
    std::string file = "/proc/sys/user/max_" + name + "_namespaces";
    if (sysctl_is(host, file.c_str(), "0")) {
      return cause(name + "_namespaces_disabled",
                   name + " namespaces are disabled: user.max_" + name + "_namespaces is 0");
    }
  }
  if (f.err == EPERM && !host.has_cap(CAP_SYS_ADMIN)) return no_sys_admin(host);
  if (auto c = runtime_filtered(host, f.err)) return *c;
  return unexplained(f.err);
}

std::string cgroup_controller_of(std::string_view file) {
  auto slash = file.rfind('/');
  if (slash != std::string_view::npos) file = file.substr(slash + 1);
  auto dot = file.find('.');
  return dot == std::string_view::npos ? std::string() : std::string(file.substr(0, dot));
}

Cause cgroups_cause(const Failure& f, const HostView& host) {
  std::string note(f.note);
  if (f.what == kCgroupJoinFailed) {
    return cause("cgroup_join_refused",
                 "the kernel refused to move the init into its cgroups (" + err_words(f.err) + ")");
  }
  if (f.err == EOPNOTSUPP && note == "devices") {
    return cause("cgroup_v2_devices",
                 "device rules on cgroup v2 need an eBPF program, which nyx does not load");
  }
  if (f.err == EROFS) {
    return cause("cgroup_readonly",
                 "the cgroup file system is mounted read-only (as inside a container that does "
                 "not delegate cgroups)");
  }
  if (f.err == EACCES || f.err == EPERM) {
    return cause("cgroup_not_delegated", "the runtime may not write " + note +
                                             ": the cgroup is not delegated to it (owned by "
                                             "another user, or by the host of a nested container)");
  }
  std::string controller = cgroup_controller_of(note);
  if (f.err == ENOENT && !controller.empty() && controller != "cgroup") {
    if (auto c = cgroup_controller_blocker(host, controller)) return *c;
    return cause("cgroup_controller_not_delegated",
                 "the " + controller + " controller is not enabled in the container's cgroup (" +
                     note + " is missing): not delegated by cgroup.subtree_control above it");
  }
  return unexplained(f.err);
}

struct RlimitName {
  int resource;
  const char* name;
};
constexpr std::array<RlimitName, 16> kRlimitNames = {{
    {RLIMIT_CPU, "RLIMIT_CPU"},
    {RLIMIT_FSIZE, "RLIMIT_FSIZE"},
    {RLIMIT_DATA, "RLIMIT_DATA"},
    {RLIMIT_STACK, "RLIMIT_STACK"},
    {RLIMIT_CORE, "RLIMIT_CORE"},
    {RLIMIT_RSS, "RLIMIT_RSS"},
    {RLIMIT_NPROC, "RLIMIT_NPROC"},
    {RLIMIT_NOFILE, "RLIMIT_NOFILE"},
    {RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK"},
    {RLIMIT_AS, "RLIMIT_AS"},
    {RLIMIT_LOCKS, "RLIMIT_LOCKS"},
    {RLIMIT_SIGPENDING, "RLIMIT_SIGPENDING"},
    {RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE"},
    {RLIMIT_NICE, "RLIMIT_NICE"},
    {RLIMIT_RTPRIO, "RLIMIT_RTPRIO"},
    {RLIMIT_RTTIME, "RLIMIT_RTTIME"},
}};

const char* rlimit_name(int resource) {
  for (const auto& r : kRlimitNames) {
    if (r.resource == resource) return r.name;
  }
  return "RLIMIT_?";
}

Cause rlimits_cause(const Failure& f, const HostView& host) {
  int resource = static_cast<int>(f.value);
  const nlohmann::json& d = f.planned.detail;
  std::uint64_t soft = 0, hard = 0;
  if (d.is_object() && d.contains("value")) {
    soft = d["value"].get<std::uint64_t>();
    hard = d.contains("hard") ? d["hard"].get<std::uint64_t>() : soft;
  } else if (d.is_object() && d.contains("values") && d["values"].contains(rlimit_name(resource))) {
    const auto& v = d["values"][rlimit_name(resource)];
    soft = v.value("soft", std::uint64_t{0});
    hard = v.value("hard", std::uint64_t{0});
  }
  if (auto c = rlimit_blocker(host, resource, soft, hard)) return *c;
  return unexplained(f.err);
}

Cause sysctl_cause(const Failure& f, const HostView& host) {
  if (f.what == 1 && !f.note.empty()) {  // its namespace was refused: not written
    auto ns = sysctl_namespace(f.note);
    std::string name = ns ? std::string(ns_type_name(*ns)) : "its";
    return cause("sysctl_namespace_refused",
                 std::string(f.note) + " was not written: the container's " + name +
                     " namespace could not be created, and writing it would change the host's");
  }
  if (f.err == EROFS || host.readonly("/proc/sys")) {
    return cause("proc_sys_readonly",
                 "/proc/sys is mounted read-only (as in a container that protects it), so the "
                 "sysctl cannot be written");
  }
  if (f.err == ENOENT) return cause("sysctl_unknown", "this kernel has no such sysctl");
  if (f.err == EACCES || f.err == EPERM) {
    return cause("sysctl_not_permitted",
                 "the sysctl belongs to a namespace the container does not own (not namespaced "
                 "for it, or owned by the host's user namespace)");
  }
  return unexplained(f.err);
}

Cause capabilities_cause(const Failure& f, const HostView& host) {
  std::uint64_t bounding = host.bounding_set();
  const nlohmann::json& d = f.planned.detail;
  std::string missing;
  if (d.is_object()) {
    for (const char* set : {"bounding", "permitted", "effective", "ambient", "inheritable"}) {
      if (!d.contains(set) || !d[set].is_array()) continue;
      for (const auto& n : d[set]) {
        auto cap = capability_from_name(n.get<std::string>());
        if (cap && (bounding & (std::uint64_t{1} << *cap)) == 0 &&
            missing.find(n.get<std::string>()) == std::string::npos) {
          missing += (missing.empty() ? "" : ", ") + n.get<std::string>();
        }
      }
    }
  }
  if (!missing.empty()) {
    return cause("cap_not_in_bounding",
                 "the runtime's own bounding set lacks " + missing +
                     ", which the config asks for (a nested container grants fewer)");
  }
  if (f.err == EPERM && !host.has_cap(CAP_SETPCAP)) {
    return cause("no_cap_setpcap", "the runtime has no CAP_SETPCAP to change the bounding set");
  }
  return unexplained(f.err);
}

Cause confine_prereq(const HostView& host) {
  (void)host;
  return cause("no_new_privs_or_sys_admin",
               "loading a filter or a ruleset needs no_new_privs or CAP_SYS_ADMIN, and the init "
               "had neither (process.noNewPrivileges is false and the capability was dropped)");
}

Cause seccomp_cause(const Failure& f, const HostView& host) {
  if (f.err == EACCES) return confine_prereq(host);
  if (f.err == ENOSYS || f.err == EINVAL) {
    if (auto c = seccomp_blocker(host)) return *c;
    if (seccomp_mode(host) == 2) {
      return cause("seccomp_unsupported",
                   "the kernel refuses seccomp filters to the runtime (" + err_words(f.err) +
                       "): the runtime's own seccomp filter hides seccomp(2)");
    }
    if (f.err == EINVAL) {
      return cause("seccomp_flag_unsupported",
                   "the kernel does not know a flag or action of the filter");
    }
  }
  return unexplained(f.err);
}

Cause landlock_cause(const Failure& f, const HostView& host) {
  if (f.what == kLandlockAbi) {
    int abi = host.landlock_abi();
    return cause("landlock_abi",
                 "this kernel's Landlock (ABI " + std::to_string(abi > 0 ? abi : 0) +
                     ") cannot handle every right the config asks for, and disableBestEffort "
                     "is set");
  }
  if (f.what == kLandlockRestrict) return confine_prereq(host);
  if (f.what == kLandlockRule && (f.err == ENOENT || f.err == ENOTDIR)) {
    return cause("landlock_path_missing",
                 "a path of process.landlock does not exist in the container, and "
                 "disableBestEffort is set");
  }
  if (f.what == kLandlockCreate) {
    if (auto c = landlock_blocker(host)) return *c;
  }
  return unexplained(f.err);
}

Cause mounts_cause(const Failure& f, const HostView& host) {
  if (f.what == kMountNoNamespace) {
    Failure ns{Prim::Namespaces, f.err, static_cast<std::uint16_t>(NsType::Mount), 0, {},
               f.planned};
    return namespaces_cause(ns, host);
  }
  if (f.err == ENODEV) {
    return cause("filesystem_unsupported", "the kernel does not know the file system type");
  }
  if (f.err == EPERM && !host.has_cap(CAP_SYS_ADMIN)) return no_sys_admin(host);
  if (f.err == EPERM) {
    return cause("mount_not_permitted",
                 "the kernel refused the mount in the container's user namespace (a file system "
                 "that user namespaces may not mount, or a mount locked by a nested container)");
  }
  return unexplained(f.err);
}

}  // namespace

const HostView& real_host() {
  static const RealHost host;
  return host;
}

std::optional<Cause> userns_blocker(const HostView& host, int err) {
  if (sysctl_is(host, "/proc/sys/user/max_user_namespaces", "0")) {
    return cause("userns_disabled", "user namespaces are disabled: user.max_user_namespaces is 0");
  }
  bool privileged = host.has_cap(CAP_SYS_ADMIN) && host.initial_userns();
  if (!privileged && sysctl_is(host, "/proc/sys/kernel/unprivileged_userns_clone", "0")) {
    return cause("userns_unprivileged_disabled",
                 "unprivileged user namespaces are disabled: kernel.unprivileged_userns_clone is "
                 "0 (Debian's switch)");
  }
  if (!privileged &&
      sysctl_is(host, "/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1")) {
    return cause("userns_apparmor",
                 "AppArmor restricts unprivileged user namespaces: "
                 "kernel.apparmor_restrict_unprivileged_userns is 1 (Ubuntu 23.10 and later) and "
                 "no AppArmor profile allows the runtime \"userns\"");
  }
  if (err == ENOSPC) {
    auto max = host.read("/proc/sys/user/max_user_namespaces");
    return cause("userns_limit", "the user namespace limit (user.max_user_namespaces = " +
                                     max.value_or("?") + ") is reached");
  }
  if (err == EUSERS) {
    return cause("userns_nesting", "user namespaces are nested 32 deep, the kernel's limit");
  }
  if (err != 0) return runtime_filtered(host, err);
  return std::nullopt;
}

std::optional<Cause> landlock_blocker(const HostView& host) {
  int abi = host.landlock_abi();
  if (abi == -EOPNOTSUPP) {
    return cause("landlock_disabled",
                 "Landlock is built into the kernel but not enabled: add landlock to the lsm= "
                 "boot parameter");
  }
  if (abi < 0) {
    std::string why = seccomp_mode(host) == 2
                          ? " (or the runtime's own seccomp filter refuses the call)"
                          : " (built without CONFIG_SECURITY_LANDLOCK, or older than Linux 5.13)";
    return cause("landlock_unsupported", "landlock_create_ruleset answers " + errno_name(-abi) +
                                             ": the kernel has no Landlock" + why);
  }
  return std::nullopt;
}

std::optional<Cause> seccomp_blocker(const HostView& host) {
  auto status = host.read("/proc/self/status");
  if (status && status->find("\nSeccomp:") == std::string::npos) {
    return cause("seccomp_unsupported", "the kernel has no seccomp (built without CONFIG_SECCOMP)");
  }
  return std::nullopt;
}

std::optional<Cause> apparmor_blocker(const HostView& host, const std::string& profile) {
  auto enabled = host.read("/sys/module/apparmor/parameters/enabled");
  if (!enabled || *enabled != "Y") {
    return cause("apparmor_unavailable",
                 "AppArmor is not enabled on this host, so process.apparmorProfile \"" + profile +
                     "\" cannot be applied");
  }
  auto profiles = host.read("/sys/kernel/security/apparmor/profiles");
  if (!profiles) {
    return cause("apparmor_unavailable",
                 "AppArmor's profile list cannot be read (securityfs is not mounted at "
                 "/sys/kernel/security)");
  }
  std::istringstream in(*profiles);
  for (std::string line; std::getline(in, line);) {
    if (line == profile || line.rfind(profile + " (", 0) == 0) return std::nullopt;
  }
  return cause("apparmor_profile_missing",
               "AppArmor profile \"" + profile + "\" is not loaded (apparmor_parser -r loads it)");
}

namespace {

// The profile asked for is in the planned entry; a diagnosis without one (an error message)
// names none.
Cause apparmor_cause(const Failure& f, const HostView& host) {
  std::string profile = "the profile";
  if (f.planned.detail.is_object() && f.planned.detail.contains("profile")) {
    profile = f.planned.detail["profile"].get<std::string>();
  }
  auto enabled = host.read("/sys/module/apparmor/parameters/enabled");
  if (f.err == EOPNOTSUPP || !enabled || *enabled != "Y") {
    if (auto c = apparmor_blocker(host, profile)) return *c;
  }
  if (f.err == ENOENT) {
    return cause("apparmor_profile_missing", "AppArmor profile \"" + profile +
                                                 "\" is not loaded (apparmor_parser -r loads it)");
  }
  // A runtime that is itself confined may only change to the profiles its own allows.
  auto current = host.read("/proc/self/attr/apparmor/current");
  if (!current) current = host.read("/proc/self/attr/current");
  if ((f.err == EACCES || f.err == EPERM) && current && *current != "unconfined") {
    return cause("apparmor_runtime_confined",
                 "the runtime itself runs under AppArmor profile \"" + *current +
                     "\", which does not allow changing to \"" + profile + "\"");
  }
  return unexplained(f.err);
}

}  // namespace

std::optional<Cause> cgroup_controller_blocker(const HostView& host, const std::string& controller,
                                               const std::string& parent) {
  if (auto table = host.read("/proc/cgroups")) {
    std::istringstream in(*table);
    for (std::string line; std::getline(in, line);) {
      std::istringstream fields(line);
      std::string name;
      int hierarchy = 0, count = 0, enabled = 1;
      fields >> name >> hierarchy >> count >> enabled;
      if (name == controller && enabled == 0) {
        return cause("cgroup_controller_disabled", "the " + controller +
                                                       " controller is disabled on the kernel "
                                                       "command line (cgroup_disable=" +
                                                       controller + ")");
      }
    }
  }
  auto root = host.read("/sys/fs/cgroup/cgroup.controllers");
  if (root) {  // cgroup v2 at /sys/fs/cgroup
    std::istringstream in(*root);
    bool found = false;
    for (std::string c; in >> c;)
      found = found || c == controller;
    if (!found) {
      return cause("cgroup_controller_unavailable",
                   "the " + controller +
                       " controller is not in the cgroup v2 hierarchy (cgroup.controllers of "
                       "/sys/fs/cgroup lacks it: bound to a v1 hierarchy, or disabled)");
    }
    if (!parent.empty()) {
      auto here = host.read(parent + "/cgroup.controllers");
      if (here && (" " + *here + " ").find(" " + controller + " ") == std::string::npos) {
        return cause("cgroup_controller_not_delegated",
                     "the " + controller + " controller is not enabled for " + parent +
                         " (cgroup.subtree_control above it): not delegated");
      }
    }
    return std::nullopt;
  }
  auto self = host.read("/proc/self/cgroup");
  bool mounted = false;
  if (self) {
    std::istringstream in(*self);
    for (std::string line; std::getline(in, line);) {
      auto c1 = line.find(':');
      auto c2 = line.find(':', c1 + 1);
      if (c1 == std::string::npos || c2 == std::string::npos) continue;
      std::string list = "," + line.substr(c1 + 1, c2 - c1 - 1) + ",";
      if (list.find("," + controller + ",") != std::string::npos) mounted = true;
    }
  }
  if (!mounted) {
    return cause("cgroup_controller_not_mounted",
                 "no cgroup hierarchy of the " + controller + " controller is mounted");
  }
  return std::nullopt;
}

std::optional<Cause> rlimit_blocker(const HostView& host, int resource, std::uint64_t soft,
                                    std::uint64_t hard) {
  std::string name = rlimit_name(resource);
  if (soft > hard) {
    return cause("rlimit_soft_above_hard", name + " soft limit " + std::to_string(soft) +
                                               " is above its hard limit " + std::to_string(hard));
  }
  if (resource == RLIMIT_NOFILE) {
    auto nr_open = host.read("/proc/sys/fs/nr_open");
    if (nr_open && hard > std::strtoull(nr_open->c_str(), nullptr, 10)) {
      return cause("rlimit_above_nr_open", name + " " + std::to_string(hard) +
                                               " is above fs.nr_open (" + *nr_open +
                                               "), which no process may exceed");
    }
  }
  auto own = host.rlimit_of(resource);
  if (own && own->rlim_max != RLIM_INFINITY && hard > own->rlim_max &&
      !host.has_cap(CAP_SYS_RESOURCE)) {
    return cause("rlimit_above_hard",
                 name + " hard limit " + std::to_string(hard) +
                     " is above the runtime's own hard limit " + std::to_string(own->rlim_max) +
                     ", and raising a hard limit needs CAP_SYS_RESOURCE, which the runtime lacks");
  }
  return std::nullopt;
}

Cause diagnose(const Failure& f, const HostView& host) {
  switch (f.prim) {
    case Prim::Namespaces:
      return namespaces_cause(f, host);
    case Prim::Cgroups:
      return cgroups_cause(f, host);
    case Prim::RlimitCpu:
    case Prim::RlimitNofile:
    case Prim::RlimitAs:
    case Prim::Rlimits:
      return rlimits_cause(f, host);
    case Prim::Sysctl:
      return sysctl_cause(f, host);
    case Prim::Capabilities:
      return capabilities_cause(f, host);
    case Prim::Seccomp:
      return seccomp_cause(f, host);
    case Prim::Landlock:
      return landlock_cause(f, host);
    case Prim::Mounts:
      return mounts_cause(f, host);
    case Prim::Apparmor:
      return apparmor_cause(f, host);
    default:
      break;
  }
  if (f.err == EPERM && !host.has_cap(CAP_SYS_ADMIN)) return no_sys_admin(host);
  if (auto c = runtime_filtered(host, f.err)) return *c;
  return unexplained(f.err);
}

Cause diagnose(Prim p, int err, std::uint16_t what, std::int64_t value, std::string_view note,
               const HostView& host) {
  PrimOutcome none;
  return diagnose(Failure{p, err, what, value, note, none}, host);
}

std::string cause_suffix(const Cause& c) {
  return " (" + c.code + ": " + c.message + ")";
}

Diagnose host_diagnose() {
  return [](const Failure& f) -> std::optional<Cause> { return diagnose(f, real_host()); };
}

}  // namespace nyx
