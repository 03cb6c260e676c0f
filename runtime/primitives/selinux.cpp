// selinux: the labels a config asks for (process.selinuxLabel, linux.mountLabel). runc and crun
// drop them on a host without SELinux; nyx records that instead of staying silent: the entry is
// skipped with the reason, and --enforce refuses the container. nyx does not apply SELinux
// labels yet, so on a host with SELinux a requested label is a recorded failure (an error under
// --enforce), never a label silently not applied.
#include <unistd.h>

#include <cerrno>
#include <string>

#include "runtime/plan.hpp"
#include "runtime/primitive_ops.hpp"

namespace nyx {

namespace {

bool host_has_selinux() {
  static const bool on = ::access("/sys/fs/selinux/enforce", F_OK) == 0;
  return on;
}

void plan_half(PlanBuilder& b) {
  const std::string& process = b.cfg.process->selinux_label;
  const std::string& mount = b.cfg.linux.mount_label;
  if (process.empty() && mount.empty()) return;
  if (!b.request(Prim::Selinux)) return;
  PrimOutcome& o = b.record(Prim::Selinux);
  if (!process.empty()) o.detail["processLabel"] = process;
  if (!mount.empty()) o.detail["mountLabel"] = mount;
  if (host_has_selinux()) {
    o.detail["reason"] = "nyx-runtime does not apply SELinux labels";
    b.event(Prim::Selinux, EOPNOTSUPP);
    return;
  }
  o.detail["reason"] = "SELinux is not enabled on this host";
  o.cause = Cause{"selinux_unavailable",
                  "SELinux is not enabled on this host (/sys/fs/selinux/enforce is missing), so "
                  "the labels the config asks for cannot be applied"};
  if (b.in.enforce) {
    b.event(Prim::Selinux, EOPNOTSUPP);
  } else {
    // Said on stderr too, not only in the record: a label is never dropped in silence.
    b.warn(std::string(!mount.empty() ? "linux.mountLabel" : "process.selinuxLabel") +
           ": not applied: SELinux is not enabled on this host (the record's selinux entry is "
           "skipped; --enforce refuses)");
  }
}

}  // namespace

const PrimitiveOps selinux_ops{
    .plan = plan_half,
    .requested_when = "`process.selinuxLabel` or `linux.mountLabel` is set",
    .fields =
        "`processLabel`, `mountLabel` (as asked); `reason` when it was not applied: skipped "
        "on a host without SELinux (failed under `--enforce`), failed on a host with "
        "SELinux (nyx does not apply labels yet)",
};

}  // namespace nyx
