// root: pivot_root into the rootfs (chroot with --no-pivot, or where pivot_root cannot work, such
// as an initramfs host root), chdir("/"), and the read-only root. The paths the config masks or
// makes read-only are covered and the createContainer hooks run right before the change.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>

#include "base/error.hpp"
#include "runtime/child_context.hpp"
#include "runtime/plan.hpp"
#include "runtime/primitive_ops.hpp"
#include "runtime/primitives/mounts.hpp"
#include "runtime/syscalls.hpp"

namespace nyx {

namespace {

void plan_half(PlanBuilder& b) {
  ChildPlan& plan = b.plan;
  if (b.in.join) {
    // exec: joining the mount namespace gives the container's root; a container without one
    // was entered with chroot, and so is its exec.
    bool mntns = b.cfg.linux.find_namespace(NsType::Mount) != nullptr;
    plan.root_method = mntns ? RootMethod::None : RootMethod::Chroot;
    if (!mntns) plan.rootfs = b.st.keep(b.in.rootfs);
    return;
  }
  bool mntns = b.out.ns.mount_ns;
  PrimOutcome& o = b.record(Prim::Root);
  if (b.in.ablation.primitive(Prim::Root)) {
    o.ablated = true;
    plan.root_method = RootMethod::None;
  } else {
    // Without a mount namespace the rootfs is still entered with chroot, which is not counted
    // as hardening.
    o.requested = mntns;
    plan.root_method = mntns && !b.in.no_pivot ? RootMethod::PivotRoot : RootMethod::Chroot;
    o.detail["readonly"] = b.cfg.root.readonly && plan.mounts;
  }
  plan.readonly_root = b.cfg.root.readonly && plan.mounts;
  if (b.cfg.root.readonly && !plan.mounts) {
    b.warn("root.readonly: ignored without a mount namespace of the container's own");
  }
}

long call(long nr, auto... args) {
  return sys::call(nr, args...);
}

int pivot(int rootfd) {
  long rc = call(SYS_fchdir, rootfd);
  if (rc == 0) rc = call(SYS_pivot_root, ".", ".");
  // The old root is stacked under the new one at "."; detach it without the detach
  // propagating back to the host.
  if (rc == 0) rc = call(SYS_mount, 0L, ".", 0L, MS_SLAVE | MS_REC, 0L);
  if (rc == 0) rc = call(SYS_umount2, ".", MNT_DETACH);
  if (rc == 0) rc = call(SYS_chdir, "/");
  return sys::err_of(rc);
}

int enter_chroot(int rootfd, bool own_mount_ns) {
  long rc = call(SYS_fchdir, rootfd);
  // Moving the rootfs over "/" first leaves no parent mount to climb back to.
  if (rc == 0 && own_mount_ns) call(SYS_mount, ".", "/", 0L, MS_MOVE, 0L);
  if (rc == 0) rc = call(SYS_chroot, ".");
  if (rc == 0) rc = call(SYS_chdir, "/");
  return sys::err_of(rc);
}

int make_root_readonly() {
  struct statfs st {};
  unsigned long keep = 0;
  if (call(SYS_statfs, "/", &st) == 0) {
    if (st.f_flags & ST_NOSUID) keep |= MS_NOSUID;
    if (st.f_flags & ST_NODEV) keep |= MS_NODEV;
    if (st.f_flags & ST_NOEXEC) keep |= MS_NOEXEC;
  }
  return sys::err_of(call(SYS_mount, 0L, "/", 0L, MS_REMOUNT | MS_BIND | MS_RDONLY | keep, 0L));
}

void change_root(ChildContext& c) {
  const ChildPlan& p = c.plan;
  RootMethod method = p.root_method;
  int pivot_err = 0;
  int err = 0;
  if (method == RootMethod::PivotRoot) {
    err = pivot(c.rootfd);
    if (err == EINVAL) {  // e.g. the host root is an initramfs: chroot is what works there
      pivot_err = err;
      method = RootMethod::Chroot;
    }
  }
  if (method == RootMethod::Chroot) err = enter_chroot(c.rootfd, p.mounts);
  if (err != 0) c.fatal("root: cannot enter the container root", err);
  if (p.root_propagation_after != 0) {
    err = sys::err_of(call(SYS_mount, 0L, "/", 0L, p.root_propagation_after, 0L));
    if (err != 0) c.fatal("linux.rootfsPropagation: cannot apply it to the new root", err);
  }
  int ro_err = p.readonly_root ? make_root_readonly() : 0;
  c.record(Prim::Root, ro_err, static_cast<std::uint16_t>(method), pivot_err);
}

void hook_stop(ChildContext& c) {
  if (!c.plan.hooks_stop) return;
  c.send(ChildMsg::HookPoint);
  if (c.wait_parent() != static_cast<char>(ParentMsg::Continue)) c.die_quietly();
}

// The process's cwd, made when missing (as runc does) while the tree is still writable.
void make_cwd(ChildContext& c) {
  const char* rel = c.plan.cwd_in_root;
  if (rel == nullptr || *rel == '\0') return;
  int fd = child::make_in_root(c.rootfd, rel, false, false);
  if (fd >= 0) child::close_fd(fd);  // a failure shows when the init enters it
}

// exec into a container without a mount namespace of its own: its root, by chroot.
void join_root(ChildContext& c) {
  const ChildPlan& p = c.plan;
  if (p.root_method != RootMethod::Chroot) return;
  long fd = call(SYS_openat, AT_FDCWD, p.rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  int err = fd < 0 ? static_cast<int>(-fd) : enter_chroot(static_cast<int>(fd), false);
  if (fd >= 0) child::close_fd(static_cast<int>(fd));
  if (err != 0) c.fatal("root: cannot enter the container root", err);
}

void child_half(ChildContext& c) {
  const ChildPlan& p = c.plan;
  if (p.join_only) {
    join_root(c);
    return;
  }
  make_cwd(c);
  protect_paths(c);
  hook_stop(c);
  if (p.root_method != RootMethod::None) {
    change_root(c);
  } else {
    // Root ablated: the harness sees the host's tree but still runs the rootfs's binary.
    const char* arg0 = p.argv[0];
    while (*arg0 == '/')
      ++arg0;
    c.exe_fd = child::open_in_root(c.rootfd, arg0, false);
  }
  child::close_fd(c.rootfd);
  c.rootfd = -1;
}

void merge(PrimOutcome& o, const StepEntry& e, std::string_view) {
  auto method = static_cast<RootMethod>(e.what);
  if (method == RootMethod::None) return;
  o.detail["method"] = method == RootMethod::PivotRoot ? "pivot_root" : "chroot";
  if (e.value != 0) o.detail["pivotErrno"] = e.value;
}

}  // namespace

const PrimitiveOps root_ops{
    .plan = plan_half,
    .child = child_half,
    .merge = merge,
    .requested_when =
        "the container has a mount namespace (then `pivot_root`; without one the "
        "rootfs is still entered with `chroot`, which is not counted as hardening)",
    .fields =
        "`method`: `pivot_root` or `chroot`; `readonly`; `pivotErrno` when `pivot_root` "
        "failed and chroot was used",
};

}  // namespace nyx
