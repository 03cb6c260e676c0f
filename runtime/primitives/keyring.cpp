// keyring: a fresh, anonymous session keyring for the init and for every exec'd process, so
// the keys of the caller's session (credentials a login session caches there) are never
// reachable from inside. runc joins one named `_ses.<id>`; nyx joins an anonymous one
// (`keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL)`, shown as `_ses` in /proc/keys): a named
// keyring can be joined by name by any process of the same user that may search it (another
// container allowed `keyctl`), an anonymous one is reachable only by possession, through the
// process's own credentials. The process keeps possession across the switch to process.user,
// so it needs no permission change. `--no-new-keyring` (runc's flag) ablates it.
//
// Not a keyring of its own: the user keyring (`@u`), which belongs to the uid in its user
// namespace; a container without a user namespace whose processes run as host root shares
// host root's, as with runc.
#include <linux/keyctl.h>
#include <sys/syscall.h>

#include "runtime/child_context.hpp"
#include "runtime/plan.hpp"
#include "runtime/primitive_ops.hpp"
#include "runtime/syscalls.hpp"

namespace nyx {

namespace {

void plan_half(PlanBuilder& b) {
  b.request(Prim::Keyring);
}

// Failures are recorded as they are: ENOSYS (a kernel without CONFIG_KEYS), EDQUOT (the
// owner's key quota, kernel.keys.maxkeys / maxbytes, is used up), EPERM (a sandbox around the
// runtime denies keyctl). The serial of the new keyring is the entry's value.
void child_half(ChildContext& c) {
  if (!c.plan.wants(Prim::Keyring)) return;
  long serial = sys::call(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, 0L);
  c.record(Prim::Keyring, sys::err_of(serial), 0, serial > 0 ? serial : 0);
}

void merge(PrimOutcome& o, const StepEntry& e, std::string_view) {
  if (e.status == PrimStatus::Applied && e.value > 0) o.detail["serial"] = e.value;
  if (e.status == PrimStatus::Failed && e.err == ENOSYS) {
    o.detail["reason"] = "the kernel has no key retention service";
  } else if (e.status == PrimStatus::Failed && e.err == EDQUOT) {
    o.detail["reason"] = "the owner's key quota is used up (kernel.keys.maxkeys, maxbytes)";
  }
}

}  // namespace

const PrimitiveOps keyring_ops{
    .plan = plan_half,
    .child = child_half,
    .merge = merge,
    .requested_when =
        "always (a new anonymous session keyring: the caller's session keys stay out of "
        "reach); `--no-new-keyring` ablates it",
    .fields = "`serial` of the new keyring; `reason` when the kernel refused (ENOSYS, EDQUOT)",
};

}  // namespace nyx
