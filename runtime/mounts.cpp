#include "runtime/mounts.hpp"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <array>
#include <cerrno>

#include "runtime/error.hpp"
#include "runtime/rootfs.hpp"

namespace nyx {

namespace {

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
    {"rro", false, MS_RDONLY},
    {"remount", false, 0},
}};

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

// Returns the destination inside the rootfs, symlinks resolved.
std::string add_config_mount(const Mount& m, std::size_t index, const MountContext& ctx,
                             PlanStorage& st) {
  std::string object = "mounts[" + std::to_string(index) + "]";
  std::string rel = relative_in_root(m.destination);
  if (rel.empty()) throw Error(object + ".destination", "cannot mount over the container root");
  ParsedOptions opts = parse_mount_options(m.options);
  if (m.type == "cgroup" || m.type == "cgroup2") {
    check_in_root(ctx.rootfs, rel, object + ".destination", true);
    add_cgroup_mount(rel, opts, static_cast<std::uint16_t>(index), ctx, st);
    return rel;
  }
  bool bind = opts.bind || m.type == "bind";
  bool strict = is_fs_with_fixed_target(m.type) || under_dev(rel);
  rel = check_in_root(ctx.rootfs, rel, object + ".destination", strict);

  MountStep step;
  step.index = static_cast<std::uint16_t>(index);
  step.target = st.keep(rel);
  step.strict_target = strict;
  if (bind) {
    if (m.source.empty()) throw Error(object + ".source", "a bind mount needs a source");
    std::string source = m.source[0] == '/' ? m.source : ctx.bundle + "/" + m.source;
    struct stat sst {};
    if (::stat(source.c_str(), &sst) != 0) throw_errno(object + ".source", "\"" + source + "\"");
    step.bind = true;
    step.source = st.keep(source);
    step.target_is_file = !S_ISDIR(sst.st_mode);
    step.flags = MS_BIND | (opts.recursive ? MS_REC : 0);
    unsigned long extra = opts.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
    if (extra != 0) step.remount = MS_REMOUNT | MS_BIND | extra;
  } else {
    if (m.type.empty()) throw Error(object + ".type", "missing: needed for a non-bind mount");
    step.fstype = st.keep(m.type);
    step.source = st.keep(m.source.empty() ? m.type : m.source);
    step.flags = opts.flags & ~MS_REMOUNT;
    step.data = opts.data.empty() ? nullptr : st.keep(opts.data);
  }
  step.propagation = opts.propagation;
  st.mount_steps.push_back(step);
  return rel;
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
    if (known || o == "tmpcopyup") continue;
    if (!out.data.empty()) out.data += ',';
    out.data += o;
  }
  return out;
}

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

void plan_mounts(const Config& cfg, const MountContext& ctx, PlanStorage& st) {
  bool tmpfs_dev = false;
  for (std::size_t i = 0; i < cfg.mounts.size(); ++i) {
    const Mount& m = cfg.mounts[i];
    std::string rel = add_config_mount(m, i, ctx, st);
    if (rel == "dev" && !st.mount_steps.back().bind) tmpfs_dev = true;
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

unsigned long rootfs_propagation_flags(const std::string& name) {
  for (const auto& p : kPropagations) {
    if (p.name == name) return p.flags;
  }
  return MS_SLAVE | MS_REC;
}

}  // namespace nyx
