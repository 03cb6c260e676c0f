// mounts: the config's mounts, a tmpfs /dev with its nodes, linux.devices, and the masked and
// read-only paths. The parent resolves every target inside the rootfs; the child makes each
// mount point with openat2(RESOLVE_IN_ROOT) and mounts through /proc/self/fd/N, so a symlink
// swapped in later cannot lead it out.
#include "runtime/primitives/mounts.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <optional>

#include "base/error.hpp"
#include "runtime/child_context.hpp"
#include "runtime/idmap.hpp"
#include "runtime/path_in_root.hpp"
#include "runtime/plan.hpp"
#include "runtime/primitive_ops.hpp"
#include "runtime/primitives/namespaces.hpp"
#include "runtime/syscalls.hpp"

namespace nyx {

namespace {

struct MountContext {
  const Ablation& ablation;
  std::string bundle;           // absolute bundle directory (relative bind sources start here)
  std::string rootfs;           // absolute rootfs
  bool user_namespace = false;  // device nodes are bound from the host instead of mknod
  // The container's own mappings (a new user namespace), or the user namespace it joins: what
  // "idmap" without mappings of the mount's own maps through.
  const std::vector<IdMapping>* uid_mappings = nullptr;
  const std::vector<IdMapping>* gid_mappings = nullptr;
  int userns_join = -1;
  bool cgroup_namespace = false;
  // The container's cgroup directories: {controllers ("" = unified), host path}.
  std::vector<std::pair<std::string, std::string>> cgroups;
};

struct OptionFlag {
  std::string_view name;
  bool clear;
  unsigned long flag;
};

constexpr std::array<OptionFlag, 26> kOptionFlags = {{
    {"async", true, MS_SYNCHRONOUS},
    {"atime", true, MS_NOATIME},
    {"defaults", false, 0},
    {"dev", true, MS_NODEV},
    {"diratime", true, MS_NODIRATIME},
    {"dirsync", false, MS_DIRSYNC},
    {"exec", true, MS_NOEXEC},
    {"mand", false, MS_MANDLOCK},
    {"noatime", false, MS_NOATIME},
    {"nodev", false, MS_NODEV},
    {"nodiratime", false, MS_NODIRATIME},
    {"noexec", false, MS_NOEXEC},
    {"nomand", true, MS_MANDLOCK},
    {"norelatime", true, MS_RELATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"nosuid", false, MS_NOSUID},
    {"relatime", false, MS_RELATIME},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"strictatime", false, MS_STRICTATIME},
    {"suid", true, MS_NOSUID},
    {"sync", false, MS_SYNCHRONOUS},
    {"lazytime", false, MS_LAZYTIME},
    {"nolazytime", true, MS_LAZYTIME},
    {"remount", false, 0},
}};

// runc's recursive mount attributes (mount_setattr with AT_RECURSIVE): the flag with an "r" in
// front applies to every submount of a bind, not only its top. `flag` is the mount(2) flag of
// the same meaning, for filesystems mounted fresh (no submounts yet).
struct RecursiveAttr {
  std::string_view name;
  bool clear;
  std::uint64_t attr;
  unsigned long flag;
};

constexpr std::array<RecursiveAttr, 18> kRecursiveAttrs = {{
    {"rro", false, MOUNT_ATTR_RDONLY, MS_RDONLY},
    {"rrw", true, MOUNT_ATTR_RDONLY, MS_RDONLY},
    {"rnosuid", false, MOUNT_ATTR_NOSUID, MS_NOSUID},
    {"rsuid", true, MOUNT_ATTR_NOSUID, MS_NOSUID},
    {"rnodev", false, MOUNT_ATTR_NODEV, MS_NODEV},
    {"rdev", true, MOUNT_ATTR_NODEV, MS_NODEV},
    {"rnoexec", false, MOUNT_ATTR_NOEXEC, MS_NOEXEC},
    {"rexec", true, MOUNT_ATTR_NOEXEC, MS_NOEXEC},
    {"rnodiratime", false, MOUNT_ATTR_NODIRATIME, MS_NODIRATIME},
    {"rdiratime", true, MOUNT_ATTR_NODIRATIME, MS_NODIRATIME},
    {"rrelatime", false, MOUNT_ATTR_RELATIME, MS_RELATIME},
    {"rnorelatime", true, MOUNT_ATTR_RELATIME, MS_RELATIME},
    {"rnoatime", false, MOUNT_ATTR_NOATIME, MS_NOATIME},
    {"ratime", true, MOUNT_ATTR_NOATIME, MS_NOATIME},
    {"rstrictatime", false, MOUNT_ATTR_STRICTATIME, MS_STRICTATIME},
    {"rnostrictatime", true, MOUNT_ATTR_STRICTATIME, MS_STRICTATIME},
    {"rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW, MS_NOSYMFOLLOW},
    {"rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW, MS_NOSYMFOLLOW},
}};

// Folds recursive attributes into mount(2) flags, for a filesystem mounted fresh.
unsigned long attr_flags(std::uint64_t attrs) {
  unsigned long out = 0;
  for (const auto& a : kRecursiveAttrs) {
    if ((attrs & a.attr) != 0) out |= a.flag;
  }
  return out;
}

struct Propagation {
  std::string_view name;
  unsigned long flags;
};

constexpr std::array<Propagation, 8> kPropagations = {{
    {"private", MS_PRIVATE},
    {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},
    {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},
    {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE},
    {"runbindable", MS_UNBINDABLE | MS_REC},
}};

// The default nodes of a tmpfs /dev (the runtime-spec's list).
struct DefaultDevice {
  const char* name;
  unsigned major;
  unsigned minor;
};
constexpr std::array<DefaultDevice, 6> kDefaultDevices = {{
    {"null", 1, 3},
    {"zero", 1, 5},
    {"full", 1, 7},
    {"random", 1, 8},
    {"urandom", 1, 9},
    {"tty", 5, 0},
}};

bool is_fs_with_fixed_target(std::string_view type) {
  return type == "proc" || type == "sysfs" || type == "devpts" || type == "mqueue" ||
         type == "cgroup" || type == "cgroup2";
}

bool under_dev(std::string_view rel) {
  return rel == "dev" || rel.rfind("dev/", 0) == 0;
}

mode_t device_type_bits(char type) {
  switch (type) {
    case 'b':
      return S_IFBLK;
    case 'p':
      return S_IFIFO;
    default:
      return S_IFCHR;
  }
}

// A "cgroup" mount shows the container its own cgroups: on v1/hybrid hosts a tmpfs with one
// read-only bind per hierarchy (runc's layout), on pure v2 the container's directory.
void add_cgroup_mount(const std::string& rel, const ParsedOptions& opts, std::uint16_t index,
                      const MountContext& ctx, PlanStorage& st) {
  unsigned long bind_flags =
      MS_REMOUNT | MS_BIND | (opts.flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC));
  bool pure_v2 = ctx.cgroups.size() == 1 && ctx.cgroups[0].first.empty();
  MountStep base;
  base.index = index;
  base.target = st.keep(rel);
  base.strict_target = true;
  if (pure_v2) {
    MountStep s = base;
    s.bind = true;
    s.source = st.keep(ctx.cgroups[0].second);
    s.origin = s.source;
    s.flags = MS_BIND | MS_REC;
    s.remount = bind_flags;
    st.mount_steps.push_back(s);
    return;
  }
  MountStep tmpfs = base;
  tmpfs.fstype = "tmpfs";
  tmpfs.source = "tmpfs";
  tmpfs.flags = opts.flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC);
  tmpfs.data = "mode=755";
  st.mount_steps.push_back(tmpfs);
  for (const auto& [controllers, path] : ctx.cgroups) {
    std::string name = controllers.empty() ? "unified" : controllers;
    if (name.rfind("name=", 0) == 0) name = name.substr(5);
    MountStep b = base;
    b.target = st.keep(rel + "/" + name);
    b.bind = true;
    b.source = st.keep(path);
    b.origin = b.source;
    b.flags = MS_BIND;
    b.remount = bind_flags;
    st.mount_steps.push_back(b);
  }
  if ((opts.flags & MS_RDONLY) != 0) {
    MountStep ro = tmpfs;
    ro.remount_only = true;
    ro.remount = MS_REMOUNT | tmpfs.flags | MS_RDONLY;
    st.mount_steps.push_back(ro);
  }
}

// proc belongs to a pid namespace and mqueue to an ipc one: with that namespace ablated the
// kernel may refuse them, and the experiment runs on without.
bool needs_ablated_namespace(std::string_view type, const Ablation& ablation) {
  return (type == "proc" && namespace_ablated(ablation, NsType::Pid)) ||
         (type == "mqueue" && namespace_ablated(ablation, NsType::Ipc));
}

// rro, rnosuid, ...: set on every mount of the copy, by the runtime (which owns it; the child's
// user namespace does not), before the child moves it in.
void set_tree_attrs(int tree, const ParsedOptions& opts, const std::string& object) {
  if (opts.attr_set == 0 && opts.attr_clr == 0) return;
  mount_attr attr{};
  attr.attr_set = opts.attr_set;
  // An atime mode is one value of a 3-bit field: setting one clears the field first.
  attr.attr_clr =
      opts.attr_clr | ((opts.attr_set & MOUNT_ATTR__ATIME) != 0 ? MOUNT_ATTR__ATIME : 0);
  unsigned rec = opts.recursive ? AT_RECURSIVE : 0;
  if (::syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | rec, &attr, sizeof attr) != 0) {
    throw_errno(object + ".options", "cannot set the recursive mount attributes");
  }
}

// An idmapped bind (runtime-spec 1.2: the idmap and ridmap options, mounts[].uidMappings and
// gidMappings, which imply idmap as runc takes them): mapped through the mount's own mappings,
// else the container's. Files then show, and are created, with the mapped owners.
void idmap_bind(int tree, const Mount& m, const ParsedOptions& opts, const MountContext& ctx,
                const std::string& object) {
  const auto* uids = m.uid_mappings.empty() ? ctx.uid_mappings : &m.uid_mappings;
  const auto* gids = m.gid_mappings.empty() ? ctx.gid_mappings : &m.gid_mappings;
  if (uids != nullptr && gids != nullptr && !uids->empty() && !gids->empty()) {
    UniqueFd userns = make_mapping_userns(*uids, *gids, object);
    idmap_tree(tree, userns.get(), opts.idmap_recursive, object);
    return;
  }
  if (m.uid_mappings.empty() && m.gid_mappings.empty() && ctx.userns_join >= 0) {
    idmap_tree(tree, ctx.userns_join, opts.idmap_recursive, object);
    return;
  }
  throw Error(object + (m.uid_mappings.empty() ? ".uidMappings" : ".gidMappings"),
              "an idmapped mount needs both uid and gid mappings: the mount's own, or a user "
              "namespace of the container's");
}

// Returns the destination inside the rootfs, symlinks resolved.
std::string add_config_mount(const Mount& m, std::size_t index, const MountContext& ctx,
                             PlanStorage& st) {
  std::string object = "mounts[" + std::to_string(index) + "]";
  std::string rel = relative_in_root(m.destination);
  if (rel.empty()) throw Error(object + ".destination", "cannot mount over the container root");
  ParsedOptions opts = parse_mount_options(m.options);
  if (m.type == "cgroup" || m.type == "cgroup2") {
    opts.flags = (opts.flags | attr_flags(opts.attr_set)) & ~attr_flags(opts.attr_clr);
    check_in_root(ctx.rootfs, rel, object + ".destination", true);
    add_cgroup_mount(rel, opts, static_cast<std::uint16_t>(index), ctx, st);
    return rel;
  }
  bool bind = opts.bind || m.type == "bind";
  if (!opts.idmap_custom.empty()) {
    throw Error(object + ".options", "\"" + opts.idmap_custom +
                                         "\" is crun's own spelling: give the option \"idmap\" "
                                         "and the mount's uidMappings and gidMappings");
  }
  if (!bind && (opts.idmap || !m.uid_mappings.empty() || !m.gid_mappings.empty())) {
    throw Error(object + ".options", "only a bind mount can be idmapped");
  }
  bool strict = is_fs_with_fixed_target(m.type) || under_dev(rel);
  rel = check_in_root(ctx.rootfs, rel, object + ".destination", strict);

  MountStep step;
  step.index = static_cast<std::uint16_t>(index);
  step.target = st.keep(rel);
  step.strict_target = strict;
  if (bind) {
    if (m.source.empty()) throw Error(object + ".source", "a bind mount needs a source");
    std::string source = m.source[0] == '/' ? m.source : ctx.bundle + "/" + m.source;
    // Opened here, by the runtime in the host's mount namespace: the container's root (an
    // unprivileged host user in a user namespace) may not be able to reach the path itself,
    // and the child mounts what was opened, not what the path names later.
    UniqueFd src(::open(source.c_str(), O_PATH | O_CLOEXEC));
    struct stat sst {};
    if (!src || ::fstat(src.get(), &sst) != 0) {
      throw_errno(object + ".source", "\"" + source + "\"");
    }
    step.bind = true;
    step.origin = st.keep(source);
    step.source = st.keep(source);
    // A mount of the host's namespace cannot be bound into another one; a detached copy of it
    // (open_tree) can be moved there.
    UniqueFd tree(static_cast<int>(::syscall(SYS_open_tree, src.get(), "",
                                             OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH |
                                                 (opts.recursive ? AT_RECURSIVE : 0))));
    if (!tree) throw_errno(object + ".source", "cannot take a copy of \"" + source + "\"");
    set_tree_attrs(tree.get(), opts, object);
    if (opts.idmap || !m.uid_mappings.empty() || !m.gid_mappings.empty()) {
      idmap_bind(tree.get(), m, opts, ctx, object);
      step.idmapped = true;
    }
    step.tree = tree.get();
    st.keep_fds.push_back(tree.get());
    st.fds.push_back(std::move(tree));
    step.target_is_file = !S_ISDIR(sst.st_mode);
    step.flags = MS_BIND | (opts.recursive ? MS_REC : 0);
    unsigned long extra = opts.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
    if (extra != 0) step.remount = MS_REMOUNT | MS_BIND | extra;
    step.attr_set = opts.attr_set;
    step.attr_clr = opts.attr_clr;
  } else {
    if (m.type.empty()) throw Error(object + ".type", "missing: needed for a non-bind mount");
    step.fstype = st.keep(m.type);
    step.source = st.keep(m.source.empty() ? m.type : m.source);
    // A filesystem mounted fresh has no submounts: its recursive attributes are plain flags.
    step.flags =
        ((opts.flags | attr_flags(opts.attr_set)) & ~attr_flags(opts.attr_clr)) & ~MS_REMOUNT;
    step.data = opts.data.empty() ? nullptr : st.keep(opts.data);
  }
  step.propagation = opts.propagation;
  step.tolerate = needs_ablated_namespace(m.type, ctx.ablation);
  st.mount_steps.push_back(step);
  return rel;
}

// The host id `id` of the container maps to, or nullopt.
std::optional<std::uint32_t> host_id(const std::vector<IdMapping>& m, std::uint32_t id) {
  for (const auto& e : m) {
    if (id >= e.container_id && id - e.container_id < e.size)
      return e.host_id + (id - e.container_id);
  }
  return std::nullopt;
}

// linux.devices under a new user namespace: its root cannot mknod, and a bind of the host's
// path gets the host's node (or none), not the config's numbers and owner. The runtime makes
// the nodes in a detached tmpfs of its own, owned by the ids the container's map to; the init
// attaches it and binds each node from there (crun does the same). Where the runtime cannot
// mknod either (it runs in a user namespace itself), the host's nodes are bound as before.
void stage_devices(const Config& cfg, const MountContext& ctx, PlanStorage& st, std::size_t first) {
  if (ctx.uid_mappings == nullptr || ctx.gid_mappings == nullptr || cfg.linux.devices.empty()) {
    return;
  }
  // 0711: the container's root, an unmapped stranger to this tmpfs, must reach the nodes.
  UniqueFd fs(static_cast<int>(::syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC)));
  if (!fs && (errno == EPERM || errno == ENOSYS)) return;
  if (!fs) throw_errno("linux.devices", "cannot make the runtime's tmpfs for the device nodes");
  if (::syscall(SYS_fsconfig, fs.get(), FSCONFIG_SET_STRING, "mode", "0711", 0) != 0 ||
      ::syscall(SYS_fsconfig, fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
    if (errno == EPERM) return;
    throw_errno("linux.devices", "cannot make the runtime's tmpfs for the device nodes");
  }
  UniqueFd stage(static_cast<int>(
      ::syscall(SYS_fsmount, fs.get(), FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC)));
  if (!stage) throw_errno("linux.devices", "cannot mount the runtime's tmpfs for the device nodes");
  for (std::size_t i = 0; i < cfg.linux.devices.size(); ++i) {
    std::string object = "linux.devices[" + std::to_string(i) + "]";
    DeviceNode& d = st.devices[first + i];
    auto uid = host_id(*ctx.uid_mappings, d.uid);
    auto gid = host_id(*ctx.gid_mappings, d.gid);
    if (!uid)
      throw Error(object + ".uid", std::to_string(d.uid) + " is not mapped in linux.uidMappings");
    if (!gid)
      throw Error(object + ".gid", std::to_string(d.gid) + " is not mapped in linux.gidMappings");
    std::string name = std::to_string(i);
    if (::mknodat(stage.get(), name.c_str(), d.mode, d.dev) != 0) {
      if (errno == EPERM && i == 0) return;  // no CAP_MKNOD here: bind the host's nodes
      throw_errno(object, "cannot make the device node");
    }
    if (::fchownat(stage.get(), name.c_str(), *uid, *gid, AT_SYMLINK_NOFOLLOW) != 0 ||
        ::fchmodat(stage.get(), name.c_str(), d.mode & 07777, 0) != 0) {
      throw_errno(object, "cannot set the device node's owner and mode");
    }
    d.staged = st.keep(name);
  }
  st.plan.dev_stage = stage.get();
  st.keep_fds.push_back(stage.get());
  st.fds.push_back(std::move(stage));
}

void add_dev(const Config& cfg, const MountContext& ctx, PlanStorage& st, bool tmpfs_dev) {
  ChildPlan& plan = st.plan;
  plan.bind_devices = ctx.user_namespace;
  if (tmpfs_dev) {
    plan.setup_dev = true;
    for (const auto& d : kDefaultDevices) {
      std::string name = std::string("dev/") + d.name;
      st.devices.push_back(DeviceNode{st.keep(name), st.keep("/" + name), S_IFCHR | 0666,
                                      makedev(d.major, d.minor), 0, 0});
    }
    static constexpr std::array<std::array<const char*, 2>, 5> kLinks = {{
        {"/proc/self/fd", "dev/fd"},
        {"/proc/self/fd/0", "dev/stdin"},
        {"/proc/self/fd/1", "dev/stdout"},
        {"/proc/self/fd/2", "dev/stderr"},
        {"pts/ptmx", "dev/ptmx"},
    }};
    for (const auto& l : kLinks)
      st.dev_links.push_back(DevSymlink{l[0], l[1]});
    st.dev_dirs = {"dev/pts", "dev/shm"};
  }
  std::size_t first = st.devices.size();
  for (std::size_t i = 0; i < cfg.linux.devices.size(); ++i) {
    const Device& d = cfg.linux.devices[i];
    std::string rel = relative_in_root(d.path);
    check_in_root(ctx.rootfs, rel, "linux.devices[" + std::to_string(i) + "].path", true);
    mode_t mode =
        device_type_bits(d.type) | static_cast<mode_t>(d.file_mode.value_or(0666) & 07777);
    st.devices.push_back(
        DeviceNode{st.keep(rel), st.keep(d.path), mode,
                   makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor)),
                   d.uid.value_or(0), d.gid.value_or(0)});
  }
  if (ctx.user_namespace) stage_devices(cfg, ctx, st, first);
}

}  // namespace

ParsedOptions parse_mount_options(const std::vector<std::string>& options) {
  ParsedOptions out;
  for (const auto& o : options) {
    if (o == "bind" || o == "rbind") {
      out.bind = true;
      out.recursive = out.recursive || o == "rbind";
      continue;
    }
    if (o == "idmap" || o == "ridmap") {
      out.idmap = true;
      out.idmap_recursive = out.idmap_recursive || o == "ridmap";
      continue;
    }
    if (o.rfind("idmap=", 0) == 0 || o.rfind("ridmap=", 0) == 0) {
      out.idmap_custom = o;
      continue;
    }
    bool known = false;
    for (const auto& f : kOptionFlags) {
      if (f.name != o) continue;
      known = true;
      if (f.clear) {
        out.flags &= ~f.flag;
      } else {
        out.flags |= f.flag;
      }
    }
    for (const auto& p : kPropagations) {
      if (p.name == o) {
        out.propagation = p.flags;
        known = true;
      }
    }
    for (const auto& a : kRecursiveAttrs) {
      if (a.name != o) continue;
      known = true;
      (a.clear ? out.attr_clr : out.attr_set) |= a.attr;
      (a.clear ? out.attr_set : out.attr_clr) &= ~a.attr;
    }
    if (known || o == "tmpcopyup") continue;
    if (!out.data.empty()) out.data += ',';
    out.data += o;
  }
  return out;
}

unsigned long rootfs_propagation_flags(const std::string& name) {
  for (const auto& p : kPropagations) {
    if (p.name == name) return p.flags;
  }
  return MS_SLAVE | MS_REC;
}

namespace {

// True when `rel` lies below the destination of an earlier mount step.
bool under_earlier_mount(const PlanStorage& st, const std::string& rel) {
  for (std::size_t i = 0; i + 1 < st.mount_steps.size(); ++i) {
    std::string_view t = st.mount_steps[i].target;
    if (rel.size() > t.size() && rel.compare(0, t.size(), t) == 0 && rel[t.size()] == '/') {
      return true;
    }
  }
  return false;
}

void plan_tree(const Config& cfg, const MountContext& ctx, PlanStorage& st) {
  bool tmpfs_dev = false;
  for (std::size_t i = 0; i < cfg.mounts.size(); ++i) {
    const Mount& m = cfg.mounts[i];
    std::string rel = add_config_mount(m, i, ctx, st);
    MountStep& step = st.mount_steps.back();
    if (rel == "dev" && !step.bind) {
      tmpfs_dev = true;
      // The nodes and links go in first; a read-only /dev becomes read-only after them.
      if ((step.flags & MS_RDONLY) != 0) {
        step.flags &= ~MS_RDONLY;
        st.plan.dev_readonly_remount = MS_REMOUNT | MS_RDONLY | step.flags;
      }
    }
    // The root of a user namespace is an unprivileged host user: mount points on the rootfs
    // itself are made here, as the runtime. Those inside earlier mounts (a tmpfs /dev) the
    // child makes.
    if (ctx.user_namespace && !under_earlier_mount(st, rel)) {
      make_in_rootfs(ctx.rootfs, rel, st.mount_steps.back().target_is_file,
                     "mounts[" + std::to_string(i) + "].destination");
    }
  }
  add_dev(cfg, ctx, st, tmpfs_dev);
  for (const auto& m : cfg.linux.masked_paths)
    st.masked.push_back(st.keep(relative_in_root(m)));
  for (const auto& r : cfg.linux.readonly_paths) {
    st.readonly.push_back(st.keep(relative_in_root(r)));
  }
  ChildPlan& plan = st.plan;
  plan.mount_steps = st.mount_steps;
  plan.devices = st.devices;
  plan.dev_links = st.dev_links;
  plan.dev_dirs = st.dev_dirs;
  plan.masked_paths = st.masked;
  plan.readonly_paths = st.readonly;
}

bool config_has_mounts(const Config& cfg) {
  return !cfg.mounts.empty() || !cfg.linux.masked_paths.empty() ||
         !cfg.linux.readonly_paths.empty() || !cfg.linux.devices.empty();
}

bool mount_ns_refused(const PlanInput& in) {
  return (in.refused_namespaces & (1u << static_cast<unsigned>(NsType::Mount))) != 0;
}

void plan_half(PlanBuilder& b) {
  const Config& cfg = b.cfg;
  ChildPlan& plan = b.plan;
  if (b.in.join) return;  // exec: the container's tree is already there
  bool mntns = b.out.ns.mount_ns;
  bool mntns_ablated =
      b.in.ablation.has("mntns") && cfg.linux.find_namespace(NsType::Mount) != nullptr;
  PrimOutcome& o = b.record(Prim::Mounts);
  if (config_has_mounts(cfg)) {
    if (mntns_ablated) {
      o.ablated = true;
    } else {
      b.request(Prim::Mounts);
    }
  }
  // A mount namespace of its own gets the rootfs bind-mounted and pivot_root, even when the
  // config's mounts are ablated.
  plan.mounts = mntns;
  plan.rootfs = b.st.keep(b.in.rootfs);
  plan.root_propagation = rootfs_propagation_flags(cfg.linux.rootfs_propagation);
  // The new root is a bind mount of the rootfs, and takes its propagation from the mount the
  // rootfs lives on, not from "/": on a private mount (a tmpfs /tmp, say) a "shared" root
  // would come out private. So a propagation the config names is set on the new root too, as
  // crun does. An unbindable "/" could not be bind-mounted from at all: slave until then.
  if (mntns && !cfg.linux.rootfs_propagation.empty()) {
    plan.root_propagation_after = plan.root_propagation;
  }
  if ((plan.root_propagation & MS_UNBINDABLE) != 0) plan.root_propagation = MS_SLAVE | MS_REC;
  if (mntns && !o.ablated) {
    MountContext ctx{b.in.ablation,
                     b.in.bundle,
                     b.in.rootfs,
                     b.out.ns.new_user || b.out.ns.userns_join,
                     b.out.ns.new_user ? &cfg.linux.uid_mappings : nullptr,
                     b.out.ns.new_user ? &cfg.linux.gid_mappings : nullptr,
                     b.out.ns.userns_join ? b.out.ns.userns_join.get() : -1,
                     cfg.linux.find_namespace(NsType::Cgroup) != nullptr,
                     b.in.cgroups};
    plan_tree(cfg, ctx, b.st);
  } else if (o.requested && mount_ns_refused(b.in)) {
    o.detail["reason"] = "the mount namespace could not be created";
    b.event(Prim::Mounts, b.in.refused_errno, kMountNoNamespace);
  } else if (o.requested) {
    o.detail["reason"] = "the container has no mount namespace";
  }
}

// ---- child half -------------------------------------------------------------------------

using child::close_fd;
using child::fd_path;
using child::make_in_root;
using child::open_in_root;
using child::remount_at;

int mount_at(const char* source, const char* path, const char* fstype, unsigned long flags,
             const void* data) {
  return sys::err_of(sys::call(SYS_mount, source, path, fstype, flags, data));
}

// The host's /sys for a container that cannot mount sysfs: a recursive copy with every mount
// read-only, nosuid, nodev and noexec (the host's cgroup hierarchies below it included:
// CVE-2023-25809). Without mount_setattr, the top alone, not recursive.
int bind_host_sys(int fd, const char* path) {
  long sys_fd = sys::call(SYS_openat, AT_FDCWD, "/sys", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (sys_fd < 0) return static_cast<int>(-sys_fd);
  constexpr std::uint64_t kLocked =
      MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
  int err = child::attach_tree(static_cast<int>(sys_fd), fd, true, kLocked, 0);
  close_fd(static_cast<int>(sys_fd));
  if (err != ENOSYS) return err;
  err = mount_at("/sys", path, nullptr, MS_BIND, nullptr);
  if (err != 0) return err;
  return mount_at(nullptr, path, nullptr,
                  MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
}

// A bind with recursive attributes (rro, rnosuid, ...): the source's tree copied, the
// attributes set on every mount of the copy, then attached; what mount(2) would bind by path.
int bind_with_attrs(const MountStep& m, int fd) {
  long src = sys::call(SYS_openat, AT_FDCWD, m.source, O_PATH | O_CLOEXEC);
  if (src < 0) return static_cast<int>(-src);
  int err = child::attach_tree(static_cast<int>(src), fd, (m.flags & MS_REC) != 0, m.attr_set,
                               m.attr_clr);
  close_fd(static_cast<int>(src));
  return err;
}

// Same file system object: what the path names now is what the runtime opened.
bool same_object(int a, int b) {
  struct stat sa {
  }, sb{};
  if (sys::call(SYS_fstat, a, &sa) != 0 || sys::call(SYS_fstat, b, &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

// A bind the runtime opened (m.tree, a detached copy made before the clone). Copied here, in
// this namespace, when the path still names the same object: the new mount then comes after
// the earlier ones in /proc/self/mountinfo (kernels from 6.8 list mounts by creation), as the
// config orders them. Where this process cannot reach the path (a user namespace's root) or
// it names something else now, the runtime's copy is moved in, out of order but the object
// that was opened. An idmapped copy is always the one moved in: a fresh one has no mapping.
int bind_in_order(const MountStep& m, int fd) {
  long src = m.idmapped ? -EXDEV : sys::call(SYS_openat, AT_FDCWD, m.source, O_PATH | O_CLOEXEC);
  if (src >= 0) {
    int err = EXDEV;
    if (same_object(static_cast<int>(src), m.tree)) {
      err = child::attach_tree(static_cast<int>(src), fd, (m.flags & MS_REC) != 0, m.attr_set,
                               m.attr_clr);
    }
    close_fd(static_cast<int>(src));
    if (err == 0) return 0;
  }
  // Onto the fd itself: a /proc/self/fd/N target would name the magic link, not the mount
  // point (move_mount does not follow a last symlink).
  return sys::err_of(sys::call(SYS_move_mount, m.tree, "", fd, "",
                               MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH));
}

int mount_one(int rootfd, const MountStep& m) {
  if (m.remount_only) return remount_at(rootfd, m.target, m.strict_target, m.remount, true);
  int fd = make_in_root(rootfd, m.target, m.target_is_file, m.strict_target);
  if (fd < 0) return -fd;
  char path[32];
  fd_path(path, fd);
  int err = 0;
  if (m.bind && m.tree >= 0) {
    err = bind_in_order(m, fd);
  } else if (m.bind && (m.attr_set != 0 || m.attr_clr != 0)) {
    err = bind_with_attrs(m, fd);
  } else if (m.bind) {
    err = mount_at(m.source, path, nullptr, m.flags, nullptr);
  } else {
    err = mount_at(m.source, path, m.fstype, m.flags, m.data);
    // sysfs needs a network namespace owned by the container's user namespace; without one,
    // bind the host's /sys read-only, as runc does.
    if (err == EPERM && std::strcmp(m.fstype, "sysfs") == 0) err = bind_host_sys(fd, path);
  }
  close_fd(fd);
  if (err != 0) return err;
  if (m.remount != 0) err = remount_at(rootfd, m.target, m.strict_target, m.remount, true);
  if (err == 0 && m.propagation != 0) {
    err = remount_at(rootfd, m.target, m.strict_target, m.propagation, false);
  }
  return err;
}

// Splits "dev/net/tun" into a directory fd (created in-root) and the basename.
int open_parent(int rootfd, const char* rel, char (&dir)[PATH_MAX], const char** base) {
  std::size_t len = std::strlen(rel);
  if (len + 1 > sizeof dir) return -ENAMETOOLONG;
  std::memcpy(dir, rel, len + 1);
  char* slash = std::strrchr(dir, '/');
  if (slash == nullptr) {
    *base = rel;
    return open_in_root(rootfd, ".", true);
  }
  *slash = '\0';
  *base = rel + (slash - dir) + 1;
  return make_in_root(rootfd, dir, false, true);
}

// Binds the node: from the runtime's staging tmpfs (`stage`, attached) when it made one there,
// else the host's.
int bind_device(int dirfd, const char* base, const DeviceNode& d, int stage) {
  long rc = sys::call(SYS_mknodat, dirfd, base, S_IFREG | 0644, 0);
  if (rc < 0 && rc != -EEXIST) return static_cast<int>(-rc);
  int fd = open_in_root(dirfd, base, true);
  if (fd < 0) return -fd;
  int err = 0;
  if (d.staged != nullptr && stage >= 0) {
    long src = sys::call(SYS_openat, stage, d.staged, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    err = src < 0 ? static_cast<int>(-src)
                  : child::attach_tree(static_cast<int>(src), fd, false, 0, 0);
    if (src >= 0) close_fd(static_cast<int>(src));
  } else {
    char path[32];
    fd_path(path, fd);
    err = mount_at(d.host, path, nullptr, MS_BIND, nullptr);
  }
  close_fd(fd);
  return err;
}

int make_device(int rootfd, const DeviceNode& d, bool bind, int stage) {
  char dir[PATH_MAX];
  const char* base = nullptr;
  int dirfd = open_parent(rootfd, d.target, dir, &base);
  if (dirfd < 0) return -dirfd;
  int err = 0;
  if (bind) {
    err = bind_device(dirfd, base, d, stage);
  } else {
    long rc = sys::call(SYS_mknodat, dirfd, base, d.mode, d.dev);
    if (rc == 0) {
      err = sys::err_of(sys::call(SYS_fchownat, dirfd, base, d.uid, d.gid, AT_SYMLINK_NOFOLLOW));
    } else if (rc == -EPERM) {
      // The runtime itself runs in a user namespace (a nested container): no mknod there
      // either, so the host's node is bound as for a container with a user namespace.
      err = bind_device(dirfd, base, d, stage);
    } else if (rc != -EEXIST) {
      err = static_cast<int>(-rc);
    }
  }
  close_fd(dirfd);
  return err;
}

constexpr const char* kStageName = ".nyx-devices";

// The runtime's staging tmpfs attached at /dev/.nyx-devices (made by the caller) for as long as
// the nodes are bound from it, then detached and its mount point removed: nothing of it stays
// in the container.
int with_stage(const ChildPlan& p, int rootfd, int devfd) {
  int err = sys::err_of(
      sys::call(SYS_move_mount, p.dev_stage, "", devfd, kStageName, MOVE_MOUNT_F_EMPTY_PATH));
  long stage = err == 0 ? sys::call(SYS_openat, devfd, kStageName,
                                    O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                        : -err;
  if (stage < 0) err = static_cast<int>(-stage);
  for (const DeviceNode& d : p.devices) {
    if (err == 0) err = make_device(rootfd, d, p.bind_devices, static_cast<int>(stage));
  }
  if (stage >= 0) {
    char path[32];
    fd_path(path, static_cast<int>(stage));
    int umount_err = sys::err_of(sys::call(SYS_umount2, path, MNT_DETACH));
    close_fd(static_cast<int>(stage));
    if (err == 0) err = umount_err;
  }
  int rm_err = sys::err_of(sys::call(SYS_unlinkat, devfd, kStageName, AT_REMOVEDIR));
  return err != 0 ? err : rm_err;
}

int setup_dev(const ChildPlan& p, int rootfd) {
  for (const char* dir : p.dev_dirs) {
    int fd = make_in_root(rootfd, dir, false, true);
    if (fd < 0) return -fd;
    close_fd(fd);
  }
  int err = 0;
  bool staged = false;
  if (p.dev_stage >= 0) {
    int devfd = make_in_root(rootfd, "dev", false, true);
    if (devfd < 0) return -devfd;
    // A /dev this root may not write (the host's, bound in) has no room for the stage: the
    // host's nodes are bound instead, as before there was one.
    staged = sys::call(SYS_mkdirat, devfd, kStageName, 0700) == 0;
    if (staged) err = with_stage(p, rootfd, devfd);
    close_fd(devfd);
  }
  if (!staged) {
    for (const DeviceNode& d : p.devices) {
      if (err == 0) err = make_device(rootfd, d, p.bind_devices, -1);
    }
  }
  if (err != 0) return err;
  for (const DevSymlink& l : p.dev_links) {
    char dir[PATH_MAX];
    const char* base = nullptr;
    int dirfd = open_parent(rootfd, l.name, dir, &base);
    if (dirfd < 0) return -dirfd;
    int link_err = sys::err_of(sys::call(SYS_symlinkat, l.link_target, dirfd, base));
    close_fd(dirfd);
    if (link_err != 0 && link_err != EEXIST) return link_err;
  }
  return 0;
}

// A masked or read-only path, opened with no symlink anywhere on the way. A symlink there
// (`*symlink` is set) is either the image's or a racing exchange by someone who can write the
// directory: the path is tried again for up to 100 ms (the pauses grow from 50 us to 1 ms, so a
// racer that is off the CPU for a while is waited out), so that an exchange swinging back leaves
// the real file protected; one that stays a symlink is not followed (ELOOP).
int open_protected(int rootfd, const char* rel, bool* symlink) {
  int fd = open_in_root(rootfd, rel, true);
  long pause_ns = 50'000;
  for (long waited = 0; fd == -ELOOP && waited < 100'000'000; waited += pause_ns) {
    *symlink = true;
    timespec pause{0, pause_ns};
    sys::call(SYS_nanosleep, &pause, 0L);
    pause_ns = pause_ns < 1'000'000 ? pause_ns * 2 : pause_ns;
    fd = open_in_root(rootfd, rel, true);
  }
  return fd;
}

// Hides a path: the host's /dev/null over files, an empty read-only tmpfs over directories.
// The path is opened once with no symlink anywhere on the way (a symlink swapped in by a racing
// container would move the mask onto a decoy and leave the real file visible: CVE-2025-31133,
// youki GHSA-3q8j-pf29-vwv8); a symlink is refused (ELOOP), and what is mounted on is that fd,
// whose type decides the mask. `devnull` is an fd of the host's /dev/null, checked to be it.
int mask_path(int rootfd, const char* rel, int devnull, bool* symlink) {
  int fd = open_protected(rootfd, rel, symlink);
  if (fd == -ENOENT) return 0;
  if (fd < 0) return -fd;
  struct stat st {};
  int err = sys::err_of(sys::call(SYS_fstat, fd, &st));
  char path[32];
  fd_path(path, fd);
  if (err == 0 && S_ISDIR(st.st_mode)) {
    err = mount_at("tmpfs", path, "tmpfs", MS_RDONLY, nullptr);
  } else if (err == 0 && devnull < 0) {
    err = -devnull;
  } else if (err == 0) {
    char source[32];
    fd_path(source, devnull);
    err = mount_at(source, path, nullptr, MS_BIND, nullptr);
  }
  close_fd(fd);
  return err;
}

// The host's /dev/null as an O_PATH fd, or -ENODEV when "/dev/null" is not the null device.
int open_devnull() {
  long fd = sys::call(SYS_openat, AT_FDCWD, "/dev/null", O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return static_cast<int>(fd);
  struct stat st {};
  long rc = sys::call(SYS_fstat, fd, &st);
  if (rc == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3)) return static_cast<int>(fd);
  close_fd(static_cast<int>(fd));
  return rc < 0 ? static_cast<int>(rc) : -ENODEV;
}

// A read-only copy of the path's mount tree (every submount read-only too) on top of it, made
// from one fd opened with no symlink on the way and attached to that same fd. Kernels without
// mount_setattr (before 5.12) get the bind and a remount of its top, which resolves the path
// again by name.
int readonly_path(int rootfd, const char* rel, bool* symlink) {
  int fd = open_protected(rootfd, rel, symlink);
  if (fd == -ENOENT) return 0;
  if (fd < 0) return -fd;
  int err = child::attach_tree(fd, fd, true, MOUNT_ATTR_RDONLY, 0);
  if (err == ENOSYS) {
    char path[32];
    fd_path(path, fd);
    err = mount_at(path, path, nullptr, MS_BIND | MS_REC, nullptr);
    if (err == 0) err = remount_at(rootfd, rel, true, MS_BIND | MS_REMOUNT | MS_RDONLY, true);
  }
  close_fd(fd);
  return err;
}

// The rootfs to resolve everything against: its own bind mount when the container has a mount
// namespace, so that pivot_root has a mount point.
void prepare_root(ChildContext& c) {
  const ChildPlan& p = c.plan;
  long rc = 0;
  if (p.mounts) {
    rc = sys::call(SYS_mount, 0L, "/", 0L, p.root_propagation, 0L);
    if (rc == 0) rc = sys::call(SYS_mount, p.rootfs, p.rootfs, 0L, MS_BIND | MS_REC, 0L);
  }
  if (rc == 0) rc = sys::call(SYS_openat, AT_FDCWD, p.rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rc < 0) c.fatal("root.path: cannot prepare the container root", static_cast<int>(-rc));
  c.rootfd = static_cast<int>(rc);
}

// A mount the config lists is part of what the container is: one that cannot be made is an
// error in every mode (docs/design.md, "Where best-effort stops"). Masked and read-only paths
// are protection, and are recorded instead (protect_paths).
[[noreturn]] void cannot_mount(ChildContext& c, const MountStep& m, int err) {
  char msg[PATH_MAX + 128];
  child::Buf b(msg, sizeof msg);
  b.add("mounts[").add(static_cast<long>(m.index)).add("]: cannot mount ");
  b.add(m.bind ? m.origin : (m.fstype != nullptr ? m.fstype : "?"));
  b.add(" on /").add(m.target).add(": ").add(child::err_text(err));
  c.fatal_step(Prim::Mounts, kMountConfig, m.index, msg, err, true);
}

void child_half(ChildContext& c) {
  const ChildPlan& p = c.plan;
  if (p.join_only) return;
  prepare_root(c);
  if (!p.mounts || !mounts_planned(p)) return;
  std::int64_t done = 0;
  for (const MountStep& m : p.mount_steps) {
    if (int err = mount_one(c.rootfd, m); err != 0) {
      if (!m.tolerate) cannot_mount(c, m, err);
      c.record(Prim::Mounts, err, kMountConfig, m.index);
      continue;
    }
    ++done;
  }
  if (p.setup_dev || !p.devices.empty()) {
    if (int err = setup_dev(p, c.rootfd); err != 0) {
      c.fatal("linux.devices: cannot create the device nodes in /dev", err);
    }
  }
  if (p.dev_readonly_remount != 0) {
    int err = child::remount_at(c.rootfd, "dev", true, p.dev_readonly_remount, true);
    if (err != 0) c.fatal("mounts: cannot make /dev read-only", err);
  }
  c.record(Prim::Mounts, 0, kMountCount, done);
}

void merge(PrimOutcome& o, const StepEntry& e, std::string_view) {
  if (!o.requested) return;
  if (e.what == kMountCount) o.detail["count"] = e.value;
  if (e.status != PrimStatus::Failed) return;
  if (e.what == kMountConfig) {
    o.detail["skippedMounts"].push_back({{"index", e.value},
                                         {"errno", e.err},
                                         {"error", errno_name(e.err)},
                                         {"reason", "needs a namespace the ablation turned off"}});
  }
  if (e.what == kMountMasked || e.what == kMountReadonly) {
    o.detail["protectFailures"].push_back(
        {{e.what == kMountMasked ? "maskedPath" : "readonlyPath", e.value},
         {"errno", e.err},
         {"error", errno_name(e.err)}});
  }
}

}  // namespace

bool mounts_planned(const ChildPlan& p) {
  return !p.mount_steps.empty() || p.setup_dev || !p.devices.empty() || !p.masked_paths.empty() ||
         !p.readonly_paths.empty();
}

void protect_paths(ChildContext& c) {
  const ChildPlan& p = c.plan;
  if (p.join_only || !p.mounts || !mounts_planned(p)) return;
  int devnull = p.masked_paths.empty() ? -1 : open_devnull();
  // A symlink met on the way is recorded (ELOOP) even when the retry protected the path: the
  // image or a racing container put it there, and the record says so.
  for (std::size_t i = 0; i < p.masked_paths.size(); ++i) {
    bool symlink = false;
    int err = mask_path(c.rootfd, p.masked_paths[i], devnull, &symlink);
    if (err == 0 && symlink) err = ELOOP;
    if (err != 0) c.record(Prim::Mounts, err, kMountMasked, static_cast<std::int64_t>(i));
  }
  if (devnull >= 0) close_fd(devnull);
  for (std::size_t i = 0; i < p.readonly_paths.size(); ++i) {
    bool symlink = false;
    int err = readonly_path(c.rootfd, p.readonly_paths[i], &symlink);
    if (err == 0 && symlink) err = ELOOP;
    if (err != 0) c.record(Prim::Mounts, err, kMountReadonly, static_cast<std::int64_t>(i));
  }
}

const PrimitiveOps mounts_ops{
    .plan = plan_half,
    .child = child_half,
    .merge = merge,
    .requested_when = "`mounts`, `linux.maskedPaths`, `linux.readonlyPaths` or `linux.devices`",
    .fields =
        "`count`: mount steps made; `protectFailures`: `[{\"maskedPath\" or \"readonlyPath\": "
        "index, \"errno\", \"error\"}]`; `skippedMounts` (an ablated namespace's filesystem, "
        "`[{\"index\", \"errno\", \"error\", \"reason\"}]`); `reason`",
};

}  // namespace nyx
