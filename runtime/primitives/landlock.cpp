// landlock: an unprivileged access-control ruleset on the harness's files, TCP ports and scopes
// (Landlock LSM). The parent asks the kernel for its ABI version and plans the ruleset: rules
// derived from the config (annotation org.nyx.landlock, which `spec --profile strict` writes)
// and explicit ones from process.landlock (shaped after the runtime-spec draft, PR 1241), every
// right masked to what this ABI handles (best effort) unless disableBestEffort. The child makes
// the ruleset and adds the rules before its report (each path opened O_PATH inside the root,
// after the root change), and restricts itself in commit, after the start: nothing of the
// runtime's but execve of the resolved executable, which gets a rule of its own, runs under it.
#include "runtime/primitives/landlock.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "base/error.hpp"
#include "base/sha256.hpp"
#include "bundle/landlock_rights.hpp"
#include "runtime/child_context.hpp"
#include "runtime/path_in_root.hpp"
#include "runtime/plan.hpp"
#include "runtime/primitive_ops.hpp"
#include "runtime/primitives/mounts.hpp"
#include "runtime/syscalls.hpp"

namespace nyx {

namespace {

// The kernel's structures (linux/landlock.h of ABI 6; Debian 12's header has ABI 2's). A kernel
// of an older ABI takes the larger struct as long as the fields it does not know are zero.
struct RulesetAttr {
  std::uint64_t handled_access_fs;
  std::uint64_t handled_access_net;
  std::uint64_t scoped;
};

struct __attribute__((packed)) PathBeneathAttr {
  std::uint64_t allowed_access;
  std::int32_t parent_fd;
};

struct NetPortAttr {
  std::uint64_t allowed_access;
  std::uint64_t port;
};

constexpr unsigned kCreateRulesetVersion = 1U << 0;
constexpr int kRulePathBeneath = 1;
constexpr int kRuleNetPort = 2;
constexpr const char* kAnnotation = "org.nyx.landlock";

// ---- parent half --------------------------------------------------------------------------

// What the annotation asks the runtime to derive from the config.
struct Derive {
  bool fs = false;     // execute and read under the root, write where a mount is writable
  bool net = false;    // no TCP bind or connect
  bool scope = false;  // no signals or abstract unix sockets out of the container's domain
  std::vector<std::string> words;
};

Derive derive_of(const Config& cfg) {
  Derive d;
  auto it = cfg.annotations.find(kAnnotation);
  if (it == cfg.annotations.end()) return d;
  std::string_view list = it->second;
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    std::string_view w = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (w.empty()) continue;
    if (w == "fs") {
      d.fs = true;
    } else if (w == "net") {
      d.net = true;
    } else if (w == "scope") {
      d.scope = true;
    } else {
      throw Error(std::string("annotations.") + kAnnotation,
                  "unknown word \"" + std::string(w) + "\" (known: fs, net, scope)");
    }
    d.words.emplace_back(w);
  }
  return d;
}

struct Planned {
  std::uint64_t fs = 0, net = 0, scoped = 0;  // handled, as asked (before the ABI mask)
  std::vector<LandlockPathStep> rules;
  std::vector<LandlockPortStep> ports;
};

void derive_fs(const Config& cfg, PlanStorage& st, Planned& out) {
  using namespace landlock;
  out.fs |= supported(kFsRights, 99);
  std::uint64_t root = kReadRights | (cfg.root.readonly ? 0 : kWriteRights);
  out.rules.push_back({".", root, true});
  for (const Mount& m : cfg.mounts) {
    if ((parse_mount_options(m.options).flags & MS_RDONLY) != 0) continue;
    std::string rel = relative_in_root(m.destination);
    if (rel.empty()) continue;
    out.rules.push_back({st.keep(rel), kReadRights | kWriteRights, false});
  }
  for (const Device& d : cfg.linux.devices) {
    out.rules.push_back(
        {st.keep(relative_in_root(d.path)), kReadFile | kWriteFile | kIoctlDev, false});
  }
}

void add_explicit(const Landlock& ll, PlanStorage& st, Planned& out) {
  using namespace landlock;
  out.fs |= ll.handled_fs.value_or(ll.path_beneath.empty() ? 0 : supported(kFsRights, 99));
  out.net |= ll.handled_net.value_or(ll.net_port.empty() ? 0 : supported(kNetRights, 99));
  out.scoped |= ll.scoped;
  for (const LandlockPathRule& r : ll.path_beneath) {
    for (const auto& path : r.paths) {
      std::string rel = relative_in_root(path);
      out.rules.push_back({st.keep(rel.empty() ? "." : rel), r.allowed, false});
    }
  }
  for (const LandlockPortRule& r : ll.net_port) {
    for (std::uint16_t port : r.ports)
      out.ports.push_back({port, r.allowed});
  }
}

// Best effort: what this ABI cannot handle is dropped and named; with disableBestEffort it
// fails the primitive instead.
void mask_to_abi(PlanBuilder& b, Planned& p, int abi, bool strict) {
  using namespace landlock;
  std::vector<std::string> missing = names(kFsRights, p.fs & ~supported(kFsRights, abi));
  for (auto& n : names(kNetRights, p.net & ~supported(kNetRights, abi)))
    missing.push_back(std::move(n));
  for (auto& n : names(kScopes, p.scoped & ~supported(kScopes, abi)))
    missing.push_back(std::move(n));
  p.fs &= supported(kFsRights, abi);
  p.net &= supported(kNetRights, abi);
  p.scoped &= supported(kScopes, abi);
  for (auto& r : p.rules)
    r.access &= p.fs;
  for (auto& r : p.ports)
    r.access &= p.net;
  if (missing.empty()) return;
  PrimOutcome& o = b.record(Prim::Landlock);
  o.detail["unsupported"] = missing;
  if (strict) b.event(Prim::Landlock, EOPNOTSUPP, kLandlockAbi);
}

void skip(PrimOutcome& o, const std::string& reason) {
  o.requested = false;
  o.detail["reason"] = reason;
}

void plan_half(PlanBuilder& b) {
  const Config& cfg = b.cfg;
  const std::optional<Landlock>& ll = cfg.process->landlock;
  Derive d = derive_of(cfg);
  if (!ll && d.words.empty()) return;
  if (!b.request(Prim::Landlock)) return;
  PrimOutcome& o = b.record(Prim::Landlock);
  bool strict = ll && ll->disable_best_effort;
  int abi = b.in.landlock_abi != 0 ? b.in.landlock_abi : landlock_abi();
  o.detail["abi"] = abi > 0 ? abi : 0;
  if (!d.words.empty()) o.detail["derived"] = d.words;
  if (abi <= 0) {
    // A kernel without Landlock is a truthful skip, unless the config insists.
    if (strict) {
      b.event(Prim::Landlock, -abi, kLandlockCreate);
    } else {
      skip(o, abi == -EOPNOTSUPP ? "Landlock is not enabled in this kernel"
                                 : "kernel without Landlock");
    }
    return;
  }
  Planned p;
  PlanStorage& st = b.st;
  if (d.fs) derive_fs(cfg, st, p);
  if (d.net) p.net |= landlock::supported(landlock::kNetRights, 99);
  if (d.scope) p.scoped |= landlock::supported(landlock::kScopes, 99);
  if (ll) add_explicit(*ll, st, p);
  mask_to_abi(b, p, abi, strict);
  o.detail["handledAccessFS"] = landlock::names(landlock::kFsRights, p.fs);
  o.detail["handledAccessNetwork"] = landlock::names(landlock::kNetRights, p.net);
  o.detail["scoped"] = landlock::names(landlock::kScopes, p.scoped);
  if (p.fs == 0 && p.net == 0 && p.scoped == 0) {
    if (!strict) skip(o, "nothing asked for that this kernel's Landlock handles");
    return;
  }
  st.landlock_rules = std::move(p.rules);
  st.landlock_ports = std::move(p.ports);
  LandlockPlan& lp = b.plan.landlock;
  lp.abi = abi;
  lp.handled_fs = p.fs;
  lp.handled_net = p.net;
  lp.scoped = p.scoped;
  lp.rules = st.landlock_rules;
  lp.ports = st.landlock_ports;
  lp.strict = strict;
  b.out.planned.digests["landlock"] = sha256_hex(landlock_canonical(lp));
}

// ---- child half ---------------------------------------------------------------------------

// The directory the rules' relative paths start from: the container's root. With the root
// change ablated the harness sees the host's "/", but its mounts are still under the rootfs;
// exec has entered the container's mount namespace, whose "/" is the container's root.
int open_base(const ChildContext& c, bool harness_root) {
  const ChildPlan& p = c.plan;
  const char* path =
      !harness_root && p.root_method == RootMethod::None && !p.join_only && p.rootfs != nullptr
          ? p.rootfs
          : "/";
  return static_cast<int>(sys::call(SYS_openat, AT_FDCWD, path, O_PATH | O_DIRECTORY | O_CLOEXEC));
}

// Adds one path rule through an O_PATH fd; a rule on a file keeps only the rights of files.
int add_path_rule(int ruleset, int fd, std::uint64_t access) {
  struct stat st {};
  if (long rc = sys::call(SYS_fstat, fd, &st); rc < 0) return static_cast<int>(-rc);
  if (!S_ISDIR(st.st_mode)) access &= landlock::kFileRights;
  if (access == 0) return 0;
  PathBeneathAttr attr{access, fd};
  return sys::err_of(sys::call(SYS_landlock_add_rule, ruleset, kRulePathBeneath, &attr, 0));
}

// 0, or the errno that fails the primitive (`skipped` counts the missing paths best effort
// passes over).
int add_path_rules(ChildContext& c, int ruleset, int& added, int& skipped, int& failed_at) {
  const LandlockPlan& l = c.plan.landlock;
  int bases[2] = {-1, -1};  // [0]: the container root, [1]: the harness's "/"
  int err = 0;
  for (std::size_t i = 0; i < l.rules.size() && err == 0; ++i) {
    const LandlockPathStep& r = l.rules[i];
    int& base = bases[r.harness_root ? 1 : 0];
    if (base < 0) base = open_base(c, r.harness_root);
    if (base < 0) {
      err = -base;
      failed_at = static_cast<int>(i);
      break;
    }
    int fd = child::open_in_root(base, r.path, false);
    if (fd < 0) {
      if ((fd == -ENOENT || fd == -ENOTDIR) && !l.strict) {
        ++skipped;
        continue;
      }
      err = -fd;
      failed_at = static_cast<int>(i);
      break;
    }
    err = add_path_rule(ruleset, fd, r.access);
    child::close_fd(fd);
    if (err != 0) {
      failed_at = static_cast<int>(i);
    } else {
      ++added;
    }
  }
  for (int fd : bases) {
    if (fd >= 0) child::close_fd(fd);
  }
  return err;
}

// The runtime's own last step, execve of the resolved executable, must still be allowed.
int add_exe_rule(ChildContext& c, int ruleset) {
  std::uint64_t access = c.plan.landlock.handled_fs & (landlock::kExecute | landlock::kReadFile);
  if (access == 0) return 0;
  int fd = c.exe_fd;
  if (fd < 0) {
    long rc = sys::call(SYS_openat, AT_FDCWD, c.exe, O_PATH | O_CLOEXEC);
    if (rc < 0) return static_cast<int>(-rc);
    fd = static_cast<int>(rc);
  }
  int err = add_path_rule(ruleset, fd, access);
  if (fd != c.exe_fd) child::close_fd(fd);
  return err;
}

int add_port_rules(ChildContext& c, int ruleset, int& added, int& failed_at) {
  const LandlockPlan& l = c.plan.landlock;
  for (std::size_t i = 0; i < l.ports.size(); ++i) {
    if (l.ports[i].access == 0) continue;
    NetPortAttr attr{l.ports[i].access, l.ports[i].port};
    long rc = sys::call(SYS_landlock_add_rule, ruleset, kRuleNetPort, &attr, 0);
    if (rc < 0) {
      failed_at = static_cast<int>(l.rules.size() + i);
      return static_cast<int>(-rc);
    }
    ++added;
  }
  return 0;
}

void child_half(ChildContext& c) {
  const LandlockPlan& l = c.plan.landlock;
  if (!c.plan.wants(Prim::Landlock) || l.abi <= 0) return;
  RulesetAttr attr{l.handled_fs, l.handled_net, l.scoped};
  long rs = sys::call(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
  if (rs < 0) {
    c.record(Prim::Landlock, static_cast<int>(-rs), kLandlockCreate);
    return;
  }
  int ruleset = static_cast<int>(rs);
  int added = 0, skipped = 0, failed_at = -1;
  int err = add_path_rules(c, ruleset, added, skipped, failed_at);
  if (err == 0) err = add_port_rules(c, ruleset, added, failed_at);
  if (err == 0) {
    err = add_exe_rule(c, ruleset);
    if (err == 0) ++added;
  }
  if (err != 0) {
    child::close_fd(ruleset);
    c.record(Prim::Landlock, err, kLandlockRule, failed_at);
    return;
  }
  // What landlock_restrict_self will say: without no_new_privs it needs CAP_SYS_ADMIN.
  if (!child::may_confine_self()) {
    child::close_fd(ruleset);
    c.record(Prim::Landlock, EPERM, kLandlockRestrict);
    return;
  }
  c.landlock_fd = ruleset;
  if (skipped > 0) c.record(Prim::Landlock, 0, kLandlockSkipped, skipped);
  c.record(Prim::Landlock, 0, kLandlockRules, added);
  c.ready(Prim::Landlock);
}

int commit(ChildContext& c) {
  long rc = sys::call(SYS_landlock_restrict_self, c.landlock_fd, 0);
  child::close_fd(c.landlock_fd);
  c.landlock_fd = -1;
  return sys::err_of(rc);
}

void merge(PrimOutcome& o, const StepEntry& e, std::string_view) {
  switch (e.what) {
    case kLandlockRules:
      o.detail["rules"] = e.value;
      break;
    case kLandlockSkipped:
      o.detail["rulesSkipped"] = e.value;
      break;
    case kLandlockRule:
      if (e.status == PrimStatus::Failed) o.detail["failedRule"] = e.value;
      break;
    default:
      break;
  }
}

}  // namespace

int landlock_abi() {
  static int abi = [] {
    long v = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, kCreateRulesetVersion);
    return v < 0 ? -errno : static_cast<int>(v);
  }();
  return abi;
}

std::string landlock_canonical(const LandlockPlan& p) {
  char line[96];
  std::snprintf(line, sizeof line, "landlock 1\nabi %d\nfs %#llx\nnet %#llx\nscoped %#llx\n", p.abi,
                static_cast<unsigned long long>(p.handled_fs),
                static_cast<unsigned long long>(p.handled_net),
                static_cast<unsigned long long>(p.scoped));
  std::string out = line;
  for (const LandlockPathStep& r : p.rules) {
    std::snprintf(line, sizeof line, " %#llx\n", static_cast<unsigned long long>(r.access));
    out += std::string(r.harness_root ? "path / " : "path ") + r.path + line;
  }
  for (const LandlockPortStep& r : p.ports) {
    std::snprintf(line, sizeof line, "port %llu %#llx\n", static_cast<unsigned long long>(r.port),
                  static_cast<unsigned long long>(r.access));
    out += line;
  }
  out += p.strict ? "strict\n" : "best-effort\n";
  return out;
}

const PrimitiveOps landlock_ops{
    .plan = plan_half,
    .child = child_half,
    .commit = commit,
    .merge = merge,
    .requested_when =
        "`process.landlock` (the runtime-spec draft's shape) or annotation `org.nyx.landlock` "
        "(`spec --profile strict` writes it); skipped with a `reason` on a kernel without "
        "Landlock unless `disableBestEffort`",
    .fields =
        "`abi`; `handledAccessFS`, `handledAccessNetwork`, `scoped` (rights names); `derived`; "
        "`rules` added (one is the executable's); `rulesSkipped` (paths missing); "
        "`unsupported` (rights this ABI lacks); `failedRule`; `reason`",
};

}  // namespace nyx
