// apparmor: `process.apparmorProfile` for the harness. The init asks the kernel to put the next
// execve under the profile ("exec PROFILE" written to its own attr/apparmor/exec, what
// libapparmor's aa_change_onexec and runc do), so the profile confines the harness from its
// first instruction and never the runtime's own steps before it.
//
// The write goes through the runtime's own /proc, opened by the parent as an O_PATH directory
// and checked to be procfs: never the container's /proc, which the image controls and which an
// `exec` into a pid namespace cannot use (the joining process has no pid there). The attr file
// itself is opened by the child: the kernel only accepts a write to attr/* from the task the
// file belongs to, through a file that task opened with its current credentials.
//
// Host without AppArmor: skipped with the cause and a warning line (failed under --enforce),
// as runc and crun drop the profile silently there. Profile not loaded: failed with ENOENT
// and its cause, seen before the clone from AppArmor's profile list.
#include "runtime/primitives/apparmor.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "base/error.hpp"
#include "base/fd.hpp"
#include "runtime/child_context.hpp"
#include "runtime/plan.hpp"
#include "runtime/primitive_ops.hpp"
#include "runtime/syscalls.hpp"

namespace nyx {

bool host_has_apparmor(const HostView& host) {
  auto enabled = host.read("/sys/module/apparmor/parameters/enabled");
  return enabled && *enabled == "Y";
}

AppArmorDecision decide_apparmor(const std::string& profile, const HostView& host) {
  if (!host_has_apparmor(host)) return {AppArmorAction::Skip, apparmor_blocker(host, profile)};
  // "unconfined" is no profile of the list, and always there (docker's apparmor=unconfined).
  if (profile == "unconfined") return {};
  std::optional<Cause> blocker = apparmor_blocker(host, profile);
  if (blocker && blocker->code == "apparmor_profile_missing") {
    return {AppArmorAction::Missing, blocker};
  }
  // AppArmor is on but its profile list cannot be read (securityfs not mounted, or a runtime
  // without the right to view policy): the kernel still applies the profile, and says ENOENT
  // when it is not loaded.
  return {};
}

namespace {

// The runtime's /proc: O_PATH, close-on-exec, and procfs, or an Error.
UniqueFd open_own_proc() {
  UniqueFd fd(::open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw_errno("process.apparmorProfile", "cannot open the runtime's /proc");
  struct statfs st {};
  if (::fstatfs(fd.get(), &st) != 0) throw_errno("process.apparmorProfile", "fstatfs /proc");
  if (st.f_type != PROC_SUPER_MAGIC) {
    throw Error("process.apparmorProfile", "the runtime's /proc is not procfs");
  }
  return fd;
}

void plan_half(PlanBuilder& b) {
  const std::string& profile = b.cfg.process->apparmor_profile;
  if (profile.empty()) return;
  bool requested = b.request(Prim::Apparmor);
  PrimOutcome& o = b.record(Prim::Apparmor);
  o.detail["profile"] = profile;  // ablated too: the record says what the experiment left out
  if (!requested) return;
  AppArmorDecision d = decide_apparmor(profile, real_host());
  switch (d.action) {
    case AppArmorAction::Skip:
      o.detail["reason"] = "AppArmor is not enabled on this host";
      o.cause = d.cause;
      if (b.in.enforce) {
        b.event(Prim::Apparmor, EOPNOTSUPP);
      } else {
        // Said on stderr too, not only in the record: a profile is never dropped in silence.
        b.warn("process.apparmorProfile \"" + profile +
               "\": not applied: AppArmor is not enabled on this host (the record's apparmor "
               "entry is skipped; --enforce refuses)");
      }
      return;
    case AppArmorAction::Missing:
      b.event(Prim::Apparmor, ENOENT);
      return;
    case AppArmorAction::Write:
      break;
  }
  UniqueFd proc = open_own_proc();
  b.plan.apparmor_proc = proc.get();
  b.keep_fd(proc.get());
  b.st.fds.push_back(std::move(proc));
  const char* exec = b.st.keep("exec " + profile);
  b.plan.apparmor_exec = exec;
  b.plan.apparmor_exec_len = profile.size() + 5;
}

// This thread's attribute file `name` ("apparmor/exec") under the runtime's /proc.
// "thread-self" is a plain symlink to "TGID/task/TID" as this procfs numbers the thread (the
// runtime's pid namespace, where the init of a new pid namespace is still visible, unlike its
// own getpid()); beneath the directory, on the same mount, through no magic link.
long open_attr(int proc, const char* path) {
  open_how how{};
  how.flags = O_WRONLY | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  long fd = sys::call(SYS_openat2, proc, path, &how, sizeof how);
  if (fd != -ENOSYS) return fd;
  // Before 5.6: the directory fd is procfs already; the file must be on it too.
  fd = sys::call(SYS_openat, proc, path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return fd;
  struct statfs st {};
  if (sys::call(SYS_fstatfs, fd, &st) != 0 || st.f_type != PROC_SUPER_MAGIC) {
    child::close_fd(static_cast<int>(fd));
    return -EXDEV;
  }
  return fd;
}

int write_onexec(const ChildPlan& p) {
  long fd = open_attr(p.apparmor_proc, "thread-self/attr/apparmor/exec");
  // Kernels before 5.8 have no per-LSM directory: attr/exec is AppArmor's there.
  if (fd == -ENOENT) fd = open_attr(p.apparmor_proc, "thread-self/attr/exec");
  if (fd < 0) return static_cast<int>(-fd);
  long n = sys::call(SYS_write, fd, p.apparmor_exec, p.apparmor_exec_len);
  child::close_fd(static_cast<int>(fd));
  if (n < 0) return static_cast<int>(-n);
  return static_cast<std::size_t>(n) == p.apparmor_exec_len ? 0 : EIO;
}

// Before the report (the record says what the kernel answered) and before Landlock and seccomp
// (rows below this one), so neither can refuse the write; it only takes effect at execve.
void child_half(ChildContext& c) {
  const ChildPlan& p = c.plan;
  if (p.apparmor_proc < 0 || !p.wants(Prim::Apparmor)) return;
  int err = write_onexec(p);
  // The host's /proc is not needed any more: closed now, not only at execve.
  child::close_fd(p.apparmor_proc);
  c.record(Prim::Apparmor, err);
}

}  // namespace

const PrimitiveOps apparmor_ops{
    .plan = plan_half,
    .child = child_half,
    .requested_when =
        "`process.apparmorProfile` is set (`exec --apparmor` replaces it for one "
        "process; an exec'd process otherwise inherits the container's)",
    .fields =
        "`profile` (as asked); `reason` when skipped (a host without AppArmor: skipped "
        "with cause `apparmor_unavailable`, failed under `--enforce`); a profile not "
        "loaded fails with ENOENT and cause `apparmor_profile_missing`",
};

}  // namespace nyx
