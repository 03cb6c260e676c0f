#include "bundle/profile.hpp"

#include <unistd.h>

#include <algorithm>

#include "base/error.hpp"
#include "bundle/seccomp_groups.hpp"

namespace nyx {

namespace {

using ojson = nlohmann::ordered_json;

constexpr unsigned kDefaultMemoryMib = 512;
constexpr unsigned kDefaultTimeoutS = 30;
// CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
// CLONE_NEWNET
constexpr std::uint64_t kCloneNewMask = 0x7E020000;

ojson rlimit(const char* type, std::uint64_t value) {
  return {{"type", type}, {"hard", value}, {"soft", value}};
}

ojson process(const SpecOptions& o, bool strict) {
  std::uint64_t memory = o.memory_mib.value_or(kDefaultMemoryMib);
  std::uint64_t as_mib = std::max<std::uint64_t>(8 * memory, 4096);
  ojson rlimits = ojson::array();
  if (strict) {
    std::uint64_t cpu = std::max<std::uint64_t>(2ull * o.timeout_s.value_or(kDefaultTimeoutS), 2);
    rlimits.push_back(rlimit("RLIMIT_CPU", cpu));
    rlimits.push_back(rlimit("RLIMIT_NOFILE", 256));
  }
  rlimits.push_back(rlimit("RLIMIT_AS", as_mib << 20));
  ojson p = {
      {"terminal", false},
      {"user", {{"uid", 0}, {"gid", 0}}},
      {"args", o.args.empty() ? std::vector<std::string>{"sh"} : o.args},
      {"env",
       {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root",
        "TERM=xterm"}},
      {"cwd", "/"},
  };
  if (strict) {
    ojson none = ojson::array();
    p["capabilities"] = {{"bounding", none},
                         {"effective", none},
                         {"inheritable", none},
                         {"permitted", none},
                         {"ambient", none}};
  }
  p["rlimits"] = rlimits;
  p["noNewPrivileges"] = true;
  return p;
}

ojson mount(const char* dest, const char* type, const char* source,
            std::vector<std::string> options) {
  return {{"destination", dest}, {"type", type}, {"source", source}, {"options", options}};
}

ojson mounts(const SpecOptions& o) {
  ojson m = ojson::array();
  m.push_back(mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}));
  m.push_back(
      mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}));
  std::vector<std::string> pts = {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"};
  if (!o.rootless) pts.emplace_back("gid=5");  // gid 5 (tty) is only mapped with a full range
  m.push_back(mount("/dev/pts", "devpts", "devpts", pts));
  m.push_back(
      mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
  m.push_back(mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}));
  m.push_back(mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}));
  m.push_back(mount("/tmp", "tmpfs", "tmpfs", {"nosuid", "nodev", "mode=1777", "size=262144k"}));
  if (o.host_libs) {
    for (const char* dir : {"/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/bin"}) {
      if (::access(dir, F_OK) != 0) continue;
      m.push_back(mount(dir, "bind", dir, {"rbind", "ro", "nosuid", "nodev"}));
    }
  }
  return m;
}

// Only the native ABI: a strict harness has no business entering the kernel through the
// 32-bit or x32 syscall tables (a classic way around per-ABI filters), and every extra
// architecture multiplies libseccomp's compile time (1 ms for one, 7 ms for three).
const char* native_seccomp_arch() {
#if defined(__x86_64__)
  return "SCMP_ARCH_X86_64";
#elif defined(__aarch64__)
  return "SCMP_ARCH_AARCH64";
#else
#error "nyx-runtime: add the native seccomp architecture for this platform"
#endif
}

// Comparisons of argument `index`, one of which holds (the config's OR of comparisons on one
// argument) exactly when the argument's low 32 bits are none of `values`. seccomp has no
// masked "not equal", so the complement is spelled with masked equalities: one per bit in which
// all the values agree (the argument has the other bit), and the full low word for every
// combination of the bits in which they differ that is not one of them.
ojson allow_low32_except(unsigned index, const std::vector<std::uint32_t>& values) {
  std::uint32_t differ = 0;
  for (std::uint32_t v : values)
    differ |= v ^ values.front();
  std::uint32_t common = ~differ;
  auto masked_eq = [index](std::uint64_t mask, std::uint64_t value) {
    return ojson{
        {"index", index}, {"value", mask}, {"valueTwo", value}, {"op", "SCMP_CMP_MASKED_EQ"}};
  };
  ojson args = ojson::array();
  for (unsigned bit = 0; bit < 32; ++bit) {
    std::uint32_t b = std::uint32_t{1} << bit;
    if ((common & b) != 0) args.push_back(masked_eq(b, ~values.front() & b));
  }
  // Every value of the differing bits, as a sub-mask of `differ` (at most a few bits here).
  std::uint32_t sub = 0;
  do {
    std::uint32_t v = (values.front() & common) | sub;
    if (std::find(values.begin(), values.end(), v) == values.end()) {
      args.push_back(masked_eq(0xFFFFFFFFu, v));
    }
    sub = (sub - differ) & differ;
  } while (sub != 0);
  return args;
}

ojson seccomp(const SpecOptions& o) {
  std::vector<std::string> groups = {"base"};
  for (const auto& g : o.allow) {
    if (find_syscall_group(g) == nullptr) {
      std::string known;
      for (const auto& sg : syscall_groups())
        known += (known.empty() ? "" : ", ") + std::string(sg.name);
      throw Error("--allow", "unknown syscall group \"" + g + "\" (known: " + known + ")");
    }
    if (std::find(groups.begin(), groups.end(), g) == groups.end()) groups.push_back(g);
  }
  std::vector<std::string> allowed;
  for (const auto& g : groups) {
    for (auto name : find_syscall_group(g)->syscalls)
      allowed.emplace_back(name);
  }
  std::vector<std::string> enosys;
  for (auto name : enosys_fallback_syscalls()) {
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) enosys.emplace_back(name);
  }
  ojson rules = ojson::array();
  bool namespaces = std::find(groups.begin(), groups.end(), "namespaces") != groups.end();
  if (!namespaces) {
    // Groups match names only; clone's flags are an argument: allow clone only without
    // CLONE_NEW* bits, so fork and threads work and nested namespaces do not.
    std::erase(allowed, "clone");
    rules.push_back({{"names", {"clone"}},
                     {"action", "SCMP_ACT_ALLOW"},
                     {"args",
                      {{{"index", 0},
                        {"value", kCloneNewMask},
                        {"valueTwo", 0},
                        {"op", "SCMP_CMP_MASKED_EQ"}}}}});
  }
  // ioctl with every request but the denied ones. A rule without arguments would win over any
  // rule with them (libseccomp keeps the unconditional one), so the allow itself carries the
  // condition.
  std::erase(allowed, "ioctl");
  std::vector<std::uint32_t> denied;
  for (const DeniedRequest& r : denied_ioctls())
    denied.push_back(r.value);
  rules.push_back({{"names", {"ioctl"}},
                   {"action", "SCMP_ACT_ALLOW"},
                   {"args", allow_low32_except(1, denied)}});
  rules.push_back({{"names", allowed}, {"action", "SCMP_ACT_ALLOW"}});
  if (!enosys.empty()) {
    // libc probes these and falls back only on ENOSYS (clone3 -> clone).
    rules.push_back({{"names", enosys}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 38}});
  }
  return {{"defaultAction", "SCMP_ACT_ERRNO"},
          {"defaultErrnoRet", 1},
          {"architectures", {native_seccomp_arch()}},
          {"syscalls", rules}};
}

ojson id_map(unsigned host, unsigned size) {
  return ojson::array({{{"containerID", 0}, {"hostID", host}, {"size", size}}});
}

ojson strict_linux(const SpecOptions& o) {
  ojson lx;
  if (o.rootless) {
    lx["uidMappings"] = id_map(::getuid(), 1);
    lx["gidMappings"] = id_map(::getgid(), 1);
  } else {
    lx["uidMappings"] = id_map(kStrictHostId, kStrictIdRange);
    lx["gidMappings"] = id_map(kStrictHostId, kStrictIdRange);
  }
  ojson ns = ojson::array();
  for (const char* t : {"pid", "network", "ipc", "uts", "mount", "user"})
    ns.push_back({{"type", t}});
  lx["namespaces"] = ns;
  if (o.memory_mib) {
    lx["resources"] = {{"memory", {{"limit", static_cast<std::uint64_t>(*o.memory_mib) << 20}}}};
  }
  lx["maskedPaths"] = {"/proc/acpi",        "/proc/asound",        "/proc/kcore",
                       "/proc/keys",        "/proc/latency_stats", "/proc/timer_list",
                       "/proc/timer_stats", "/proc/sched_debug",   "/sys/firmware",
                       "/proc/scsi"};
  lx["readonlyPaths"] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
  lx["seccomp"] = seccomp(o);
  return lx;
}

}  // namespace

nlohmann::ordered_json make_spec(const SpecOptions& o) {
  bool strict = o.profile == "strict";
  if (!strict && o.profile != "standard") {
    throw Error("--profile", "unknown profile \"" + o.profile + "\" (known: strict, standard)");
  }
  ojson spec = {{"ociVersion", "1.0.2"}, {"process", process(o, strict)}};
  spec["root"] = {{"path", "rootfs"}, {"readonly", strict}};
  if (strict) {
    spec["hostname"] = "nyx";
    spec["mounts"] = mounts(o);
    spec["linux"] = strict_linux(o);
  }
  ojson ann = {{"org.nyx.profile", o.profile}};
  if (strict) {
    // Landlock rules derived from this config by the runtime (docs/config.md): files unless
    // the harness may mount (Landlock forbids mount changes to a restricted process), TCP
    // unless it may use the network.
    auto allows = [&](const char* g) {
      return std::find(o.allow.begin(), o.allow.end(), g) != o.allow.end();
    };
    std::string words;
    if (!allows("mount")) words = "fs";
    if (!allows("net")) words += words.empty() ? "net" : ",net";
    if (!words.empty()) ann["org.nyx.landlock"] = words;
  }
  if (o.timeout_s) ann["org.nyx.timeout"] = std::to_string(*o.timeout_s);
  spec["annotations"] = ann;
  return spec;
}

}  // namespace nyx
