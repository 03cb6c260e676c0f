// sysctl: linux.sysctl, namespaced keys only (the parser refuses the others). Written after
// the mounts, through the container's own /proc when it has a mount tree of its own, before
// readonlyPaths make /proc/sys read-only (runc's order); otherwise through the runtime's /proc,
// which writes the same per-namespace values.
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cstring>

#include "runtime/child_context.hpp"
#include "runtime/plan.hpp"
#include "runtime/primitive_ops.hpp"
#include "runtime/primitives/mounts.hpp"
#include "runtime/syscalls.hpp"

namespace nyx {

namespace {

constexpr std::uint16_t kSysctlNoNamespace = 1;  // note: the key

void plan_half(PlanBuilder& b) {
  const Config& cfg = b.cfg;
  if (cfg.linux.sysctl.empty() || b.in.join || !b.request(Prim::Sysctl)) return;
  for (const auto& [key, value] : cfg.linux.sysctl) {
    // Its namespace refused at clone (best effort): written now, it would change the host's.
    auto ns = sysctl_namespace(key);
    if (ns && (b.in.refused_namespaces & (1u << static_cast<unsigned>(*ns))) != 0) {
      b.event(Prim::Sysctl, b.in.refused_errno, kSysctlNoNamespace, key);
      continue;
    }
    std::string path = "/proc/sys/" + key;
    std::replace(path.begin(), path.end(), '.', '/');
    b.st.sysctls.push_back(SysctlStep{b.st.keep(path), b.st.keep(value), b.st.keep(key)});
  }
  b.plan.sysctls = b.st.sysctls;
}

// In the container's tree the file must be reached without symlinks and be on procfs, so a
// crafted rootfs cannot redirect the write.
long open_sysctl(const ChildContext& c, const SysctlStep& s, bool in_root) {
  if (!in_root) return sys::call(SYS_openat, AT_FDCWD, s.path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  open_how how{};
  how.flags = O_WRONLY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  return sys::call(SYS_openat2, c.rootfd, s.path + 1, &how, sizeof how);
}

int write_sysctl(const ChildContext& c, const SysctlStep& s, bool in_root) {
  long fd = open_sysctl(c, s, in_root);
  if (fd < 0) return static_cast<int>(-fd);
  int err = 0;
  struct statfs sf {};
  if (sys::call(SYS_fstatfs, fd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC) {
    err = EXDEV;
  } else {
    long n = child::write_all(static_cast<int>(fd), s.value, std::strlen(s.value));
    if (n < 0) err = static_cast<int>(-n);
  }
  child::close_fd(static_cast<int>(fd));
  return err;
}

// A sysctl the config sets is part of what the container is: an error in every mode.
void child_half(ChildContext& c) {
  bool in_root = c.rootfd >= 0 && c.plan.mounts && mounts_planned(c.plan);
  for (const SysctlStep& s : c.plan.sysctls) {
    if (int err = write_sysctl(c, s, in_root); err != 0) {
      char msg[512];
      child::Buf b(msg, sizeof msg);
      b.add("linux.sysctl: ").add(s.key).add(": cannot write \"").add(s.value).add("\": ");
      b.add(child::err_text(err));
      c.fatal_step(Prim::Sysctl, 0, 0, msg, err, true);
    }
    c.record(Prim::Sysctl, 0);
  }
}

}  // namespace

const PrimitiveOps sysctl_ops{
    .plan = plan_half,
    .child = child_half,
    .requested_when = "`linux.sysctl`",
};

}  // namespace nyx
