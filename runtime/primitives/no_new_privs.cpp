// no_new_privs: prctl(PR_SET_NO_NEW_PRIVS), so nothing the harness executes gains privileges
// (setuid binaries, file capabilities).
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "runtime/child_context.hpp"
#include "runtime/plan.hpp"
#include "runtime/primitive_ops.hpp"
#include "runtime/syscalls.hpp"

namespace nyx {

namespace {

void plan_half(PlanBuilder& b) {
  if (b.cfg.process->no_new_privileges) b.plan.no_new_privs = b.request(Prim::NoNewPrivs);
}

void child_half(ChildContext& c) {
  if (!c.plan.no_new_privs) return;
  c.record(Prim::NoNewPrivs, sys::err_of(sys::call(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)));
}

}  // namespace

const PrimitiveOps no_new_privs_ops{
    .plan = plan_half,
    .child = child_half,
    .requested_when = "`process.noNewPrivileges`",
};

}  // namespace nyx
