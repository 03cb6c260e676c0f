// config.json: top level, process, root, mounts, hooks, annotations. The linux section is in
// config_linux.cpp.
#include "bundle/config.hpp"

#include <fcntl.h>
#include <sys/capability.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <set>

#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/sha256.hpp"
#include "bundle/config_sections.hpp"
#include "bundle/json_reader.hpp"

namespace nyx {

using namespace json_reader;

namespace {

constexpr std::array<std::string_view, kNsTypeCount> kNsNames = {
    "user", "pid", "mount", "ipc", "uts", "network", "cgroup", "time"};

struct RlimitName {
  std::string_view name;
  int resource;
};
constexpr std::array<RlimitName, 16> kRlimits = {{
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_STACK", RLIMIT_STACK},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
}};

bool has_dotdot(std::string_view path) {
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (path.substr(start, end - start) == "..") return true;
    start = end + 1;
  }
  return false;
}

Root parse_root(const json& doc) {
  const Path top;
  Path root_path = top / "root";
  const json* v = member(doc, "root");
  if (v == nullptr) fail(root_path, "missing required field");
  expect_object(*v, root_path);
  Root root;
  auto path = opt_string(*v, "path", root_path);
  if (!path || path->empty()) fail(root_path / "path", "missing required field");
  root.path = *path;
  root.readonly = opt_bool(*v, "readonly", root_path).value_or(false);
  return root;
}

std::vector<Rlimit> parse_rlimits(const json& v, const Path& p) {
  if (!v.is_array()) fail(p, "expected array");
  std::vector<Rlimit> out;
  std::set<int> seen;
  for (std::size_t i = 0; i < v.size(); ++i) {
    Path ep = p[i];
    const json& e = v[i];
    expect_object(e, ep);
    auto type = opt_string(e, "type", ep);
    if (!type) fail(ep / "type", "missing required field");
    const RlimitName* found = nullptr;
    for (const auto& r : kRlimits) {
      if (r.name == *type) found = &r;
    }
    if (found == nullptr) fail(ep / "type", "unknown rlimit \"" + *type + "\"");
    if (!seen.insert(found->resource).second)
      fail(ep / "type", "duplicate rlimit \"" + *type + "\"");
    auto soft = opt_u64(e, "soft", ep);
    auto hard = opt_u64(e, "hard", ep);
    if (!soft) fail(ep / "soft", "missing required field");
    if (!hard) fail(ep / "hard", "missing required field");
    if (*soft > *hard) {
      fail(ep,
           "soft limit " + std::to_string(*soft) + " exceeds hard limit " + std::to_string(*hard));
    }
    out.push_back(Rlimit{found->resource, *type, *soft, *hard});
  }
  return out;
}

std::uint64_t parse_cap_set(const json& caps, std::string_view key, const Path& p) {
  std::uint64_t mask = 0;
  const json* v = member(caps, key);
  if (v == nullptr) return 0;
  Path sp = p / key;
  auto names = as_strings(*v, sp);
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string& name = names[i];
    cap_value_t cap = 0;
    // cap_from_name also takes numbers and lower case; the spec's names are CAP_* only.
    if (name.rfind("CAP_", 0) != 0 || cap_from_name(name.c_str(), &cap) != 0 || cap < 0 ||
        cap > 63) {
      fail(sp[i], "unknown capability \"" + name + "\"");
    }
    mask |= std::uint64_t{1} << cap;
  }
  return mask;
}

CapabilitySets parse_capabilities(const json& v, const Path& p) {
  expect_object(v, p);
  CapabilitySets sets;
  sets.bounding = parse_cap_set(v, "bounding", p);
  sets.effective = parse_cap_set(v, "effective", p);
  sets.inheritable = parse_cap_set(v, "inheritable", p);
  sets.permitted = parse_cap_set(v, "permitted", p);
  sets.ambient = parse_cap_set(v, "ambient", p);
  return sets;
}

User parse_user(const json& v, const Path& p) {
  expect_object(v, p);
  User user;
  auto uid = opt_u32(v, "uid", p);
  auto gid = opt_u32(v, "gid", p);
  // uid/gid are required by the spec, but runc defaults them to 0; so does nyx.
  user.uid = uid.value_or(0);
  user.gid = gid.value_or(0);
  if (user.uid == UINT32_MAX) fail(p / "uid", "out of range: 4294967295 is not a valid uid");
  if (user.gid == UINT32_MAX) fail(p / "gid", "out of range: 4294967295 is not a valid gid");
  if (auto umask = opt_u32(v, "umask", p)) {
    if (*umask > 0777) fail(p / "umask", "out of range: must be at most 0777 (511)");
    user.umask = *umask;
  }
  if (const json* g = member(v, "additionalGids")) {
    Path gp = p / "additionalGids";
    if (!g->is_array()) fail(gp, "expected array of integers");
    for (std::size_t i = 0; i < g->size(); ++i) {
      std::uint32_t gid_i = as_u32((*g)[i], gp[i]);
      if (gid_i == UINT32_MAX) fail(gp[i], "out of range: 4294967295 is not a valid gid");
      user.additional_gids.push_back(gid_i);
    }
  }
  return user;
}

IoPriority parse_io_priority(const json& v, const Path& p) {
  expect_object(v, p);
  static constexpr std::array<std::pair<std::string_view, int>, 3> kClasses = {
      {{"IOPRIO_CLASS_RT", 1}, {"IOPRIO_CLASS_BE", 2}, {"IOPRIO_CLASS_IDLE", 3}}};
  auto cls = opt_string(v, "class", p);
  if (!cls) fail(p / "class", "missing required field");
  IoPriority out;
  auto it =
      std::find_if(kClasses.begin(), kClasses.end(), [&](auto& c) { return c.first == *cls; });
  if (it == kClasses.end()) fail(p / "class", "unknown I/O priority class \"" + *cls + "\"");
  out.io_class = it->second;
  out.priority = static_cast<int>(opt_u32(v, "priority", p).value_or(0));
  if (out.priority > 7) fail(p / "priority", "out of range: must be 0..7");
  return out;
}

Scheduler parse_scheduler(const json& v, const Path& p) {
  expect_object(v, p);
  // SCHED_ISO is in the runtime spec but not in Linux.
  static constexpr std::array<std::pair<std::string_view, std::uint32_t>, 6> kPolicies = {
      {{"SCHED_OTHER", 0},
       {"SCHED_FIFO", 1},
       {"SCHED_RR", 2},
       {"SCHED_BATCH", 3},
       {"SCHED_IDLE", 5},
       {"SCHED_DEADLINE", 6}}};
  static constexpr std::array<std::pair<std::string_view, std::uint64_t>, 3> kFlags = {
      {{"SCHED_FLAG_RESET_ON_FORK", 0x01},
       {"SCHED_FLAG_RECLAIM", 0x02},
       {"SCHED_FLAG_DL_OVERRUN", 0x04}}};
  auto policy = opt_string(v, "policy", p);
  if (!policy) fail(p / "policy", "missing required field");
  auto pit =
      std::find_if(kPolicies.begin(), kPolicies.end(), [&](auto& e) { return e.first == *policy; });
  if (pit == kPolicies.end()) {
    fail(p / "policy", "unknown or unsupported scheduling policy \"" + *policy + "\"");
  }
  Scheduler out;
  out.policy = pit->second;
  if (const json* n = member(v, "nice")) {
    int nice = as_int(*n, p / "nice");
    if (nice < -20 || nice > 19) fail(p / "nice", "out of range: must be -20..19");
    out.nice = nice;
  }
  out.priority = opt_u32(v, "priority", p).value_or(0);
  std::vector<std::string> flags = opt_strings(v, "flags", p);
  for (std::size_t i = 0; i < flags.size(); ++i) {
    auto fit =
        std::find_if(kFlags.begin(), kFlags.end(), [&](auto& e) { return e.first == flags[i]; });
    if (fit == kFlags.end()) {
      fail((p / "flags")[i], "unknown or unsupported scheduler flag \"" + flags[i] + "\"");
    }
    out.flags |= fit->second;
  }
  out.runtime = opt_u64(v, "runtime", p).value_or(0);
  out.deadline = opt_u64(v, "deadline", p).value_or(0);
  out.period = opt_u64(v, "period", p).value_or(0);
  return out;
}

Process parse_process(const json& v, const Path& p) {
  expect_object(v, p);
  Process proc;
  refuse_unsupported(v, {"execCPUAffinity"}, p);
  proc.terminal = opt_bool(v, "terminal", p).value_or(false);
  if (const json* cs = member(v, "consoleSize")) {
    Path cp = p / "consoleSize";
    expect_object(*cs, cp);
    ConsoleSize size;
    size.height = opt_u32(*cs, "height", cp).value_or(0);
    size.width = opt_u32(*cs, "width", cp).value_or(0);
    proc.console_size = size;
  }
  if (const json* u = member(v, "user")) proc.user = parse_user(*u, p / "user");
  const json* args = member(v, "args");
  if (args == nullptr) fail(p / "args", "missing required field");
  proc.args = as_strings(*args, p / "args");
  if (proc.args.empty()) fail(p / "args", "must not be empty");
  if (proc.args[0].empty()) fail((p / "args")[0], "must not be empty");
  proc.env = opt_strings(v, "env", p);
  for (std::size_t i = 0; i < proc.env.size(); ++i) {
    auto eq = proc.env[i].find('=');
    if (eq == std::string::npos || eq == 0) fail((p / "env")[i], "expected KEY=VALUE");
  }
  auto cwd = opt_string(v, "cwd", p);
  if (!cwd || cwd->empty()) fail(p / "cwd", "missing required field");
  if ((*cwd)[0] != '/') fail(p / "cwd", "must be an absolute path, got \"" + *cwd + "\"");
  proc.cwd = *cwd;
  if (const json* caps = member(v, "capabilities")) {
    proc.capabilities = parse_capabilities(*caps, p / "capabilities");
  }
  if (const json* rl = member(v, "rlimits")) proc.rlimits = parse_rlimits(*rl, p / "rlimits");
  proc.no_new_privileges = opt_bool(v, "noNewPrivileges", p).value_or(false);
  if (const json* io = member(v, "ioPriority")) {
    proc.io_priority = parse_io_priority(*io, p / "ioPriority");
  }
  if (const json* sc = member(v, "scheduler"))
    proc.scheduler = parse_scheduler(*sc, p / "scheduler");
  if (const json* oom = member(v, "oomScoreAdj")) {
    int adj = as_int(*oom, p / "oomScoreAdj");
    if (adj < -1000 || adj > 1000) fail(p / "oomScoreAdj", "out of range: must be -1000..1000");
    proc.oom_score_adj = adj;
  }
  proc.apparmor_profile = opt_string(v, "apparmorProfile", p).value_or("");
  proc.selinux_label = opt_string(v, "selinuxLabel", p).value_or("");
  if (const json* ll = member(v, "landlock")) proc.landlock = parse_landlock(*ll, p / "landlock");
  return proc;
}

std::vector<Mount> parse_mounts(const json& v, const Path& p) {
  if (!v.is_array()) fail(p, "expected array");
  std::vector<Mount> out;
  out.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    Path mp = p[i];
    const json& e = v[i];
    expect_object(e, mp);
    Mount m;
    auto dest = opt_string(e, "destination", mp);
    if (!dest || dest->empty()) fail(mp / "destination", "missing required field");
    if ((*dest)[0] != '/') {
      fail(mp / "destination", "must be an absolute path, got \"" + *dest + "\"");
    }
    if (has_dotdot(*dest)) fail(mp / "destination", "\"" + *dest + "\" contains \"..\"");
    m.destination = *dest;
    m.type = opt_string(e, "type", mp).value_or("");
    m.source = opt_string(e, "source", mp).value_or("");
    m.options = opt_strings(e, "options", mp);
    if (const json* u = member(e, "uidMappings"))
      m.uid_mappings = parse_mappings(*u, mp / "uidMappings");
    if (const json* g = member(e, "gidMappings"))
      m.gid_mappings = parse_mappings(*g, mp / "gidMappings");
    out.push_back(std::move(m));
  }
  return out;
}

std::map<std::string, std::string> parse_annotations(const json& v, const Path& p) {
  expect_object(v, p);
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : v.items()) {
    out.emplace(key, as_string(value, p / key));
  }
  return out;
}

void check_cross_fields(const Config& cfg) {
  Path p;
  bool new_uts = false;
  for (const auto& ns : cfg.linux.namespaces) {
    if (ns.type == NsType::Uts) new_uts = true;
  }
  if (!cfg.hostname.empty() && !new_uts) {
    fail(p / "hostname", "setting a hostname needs a uts namespace in linux.namespaces");
  }
  if (!cfg.domainname.empty() && !new_uts) {
    fail(p / "domainname", "setting a domainname needs a uts namespace in linux.namespaces");
  }
}

}  // namespace

static std::vector<Hook> parse_hook_list(const json& v, const Path& p) {
  if (!v.is_array()) fail(p, "expected array");
  std::vector<Hook> out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    Path hp = p[i];
    expect_object(v[i], hp);
    Hook h;
    auto path = opt_string(v[i], "path", hp);
    if (!path || path->empty()) fail(hp / "path", "missing required field");
    if ((*path)[0] != '/') fail(hp / "path", "must be an absolute path, got \"" + *path + "\"");
    h.path = *path;
    h.args = opt_strings(v[i], "args", hp);
    h.env = opt_strings(v[i], "env", hp);
    h.has_env = member(v[i], "env") != nullptr;
    if (const json* t = member(v[i], "timeout")) {
      int timeout = as_int(*t, hp / "timeout");
      if (timeout <= 0) fail(hp / "timeout", "must be greater than zero");
      h.timeout = timeout;
    }
    out.push_back(std::move(h));
  }
  return out;
}

Hooks parse_hooks(const json& v, const Path& p) {
  expect_object(v, p);
  Hooks hooks;
  auto list = [&](std::string_view key, std::vector<Hook>& into) {
    if (const json* h = member(v, key)) into = parse_hook_list(*h, p / key);
  };
  list("prestart", hooks.prestart);
  list("createRuntime", hooks.create_runtime);
  list("createContainer", hooks.create_container);
  list("startContainer", hooks.start_container);
  list("poststart", hooks.poststart);
  list("poststop", hooks.poststop);
  return hooks;
}

std::string_view ns_type_name(NsType type) {
  return kNsNames[static_cast<std::size_t>(type)];
}

std::optional<NsType> ns_type_from_name(std::string_view name) {
  for (std::size_t i = 0; i < kNsNames.size(); ++i) {
    if (kNsNames[i] == name) return static_cast<NsType>(i);
  }
  return std::nullopt;
}

const Namespace* Linux::find_namespace(NsType type) const {
  for (const auto& ns : namespaces) {
    if (ns.type == type) return &ns;
  }
  return nullptr;
}

Config parse_config(std::string_view text) {
  return parse_config_json(parse_strict(text, "config.json"));
}

Config parse_config_json(json doc) {
  Path p;
  expect_object(doc, p);
  Config cfg;
  auto version = opt_string(doc, "ociVersion", p);
  if (!version) fail(p / "ociVersion", "missing required field");
  if (version->rfind("1.", 0) != 0) {
    fail(p / "ociVersion", "unsupported version \"" + *version + "\" (nyx reads 1.x)");
  }
  cfg.oci_version = *version;
  cfg.root = parse_root(doc);
  if (const json* proc = member(doc, "process")) cfg.process = parse_process(*proc, p / "process");
  cfg.hostname = opt_string(doc, "hostname", p).value_or("");
  cfg.domainname = opt_string(doc, "domainname", p).value_or("");
  if (const json* m = member(doc, "mounts")) cfg.mounts = parse_mounts(*m, p / "mounts");
  if (const json* l = member(doc, "linux")) cfg.linux = parse_linux(*l, p / "linux");
  if (const json* h = member(doc, "hooks")) {
    cfg.hooks = parse_hooks(*h, p / "hooks");
  }
  if (const json* a = member(doc, "annotations")) {
    cfg.annotations = parse_annotations(*a, p / "annotations");
  }
  check_cross_fields(cfg);
  cfg.raw = std::move(doc);
  return cfg;
}

Process parse_process_json(const json& doc) {
  return parse_process(doc, Path() / "process");
}

std::optional<int> capability_from_name(std::string_view name) {
  cap_value_t cap = 0;
  std::string n(name);
  if (n.rfind("CAP_", 0) != 0 || cap_from_name(n.c_str(), &cap) != 0 || cap < 0 || cap > 63) {
    return std::nullopt;
  }
  return cap;
}

Config load_config(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer. O_NOFOLLOW: a config.json that is a
  // symlink could point anywhere on the host.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY));
  struct stat st {};
  if (!fd) {
    int err = errno;
    if (err == ELOOP) throw Error(path, "is a symlink; config.json must be a regular file");
    // A socket cannot be opened (ENXIO): say what it is rather than the errno.
    if (::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
      throw Error(path, "is a socket; config.json must be a regular file");
    }
    throw Error(path, "cannot open", err);
  }
  if (::fstat(fd.get(), &st) != 0) throw_errno(path, "cannot stat");
  if (!S_ISREG(st.st_mode)) {
    const char* kind = S_ISFIFO(st.st_mode)   ? "a FIFO"
                       : S_ISDIR(st.st_mode)  ? "a directory"
                       : S_ISCHR(st.st_mode)  ? "a character device"
                       : S_ISBLK(st.st_mode)  ? "a block device"
                       : S_ISSOCK(st.st_mode) ? "a socket"
                                              : "not a regular file";
    throw Error(path, std::string("is ") + kind + "; config.json must be a regular file");
  }
  if (static_cast<std::uint64_t>(st.st_size) > kMaxConfigBytes) {
    throw Error(path, "is " + std::to_string(st.st_size) + " bytes, more than the limit of " +
                          std::to_string(kMaxConfigBytes));
  }
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno(path, "cannot read");
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  text.resize(got);
  Config cfg = parse_config(text);
  cfg.sha256 = sha256_hex(text);
  return cfg;
}

}  // namespace nyx
