// session: setsid() before anything else of the container runs, so the harness never holds the
// caller's controlling terminal: no ioctl(TIOCSTI) into the shell that started the runtime
// (bubblewrap's CVE-2017-5226), no SIGHUP or SIGINT from its job control. With
// process.terminal the pty the init allocates later becomes the new session's terminal.
#include <sys/syscall.h>

#include "runtime/child_context.hpp"
#include "runtime/plan.hpp"
#include "runtime/primitive_ops.hpp"
#include "runtime/syscalls.hpp"

namespace nyx {

namespace {

// Every container gets it, as with runc: nothing in the config turns it off, --ablate does.
void plan_half(PlanBuilder& b) {
  b.request(Prim::Session);
}

void child_half(ChildContext& c) {
  if (!c.plan.wants(Prim::Session)) return;
  long sid = sys::call(SYS_setsid);
  // EPERM: already a session leader (an intermediate process made it one); the point, no
  // controlling terminal of the caller's, holds either way.
  c.record(Prim::Session, sid < 0 && sid != -EPERM ? static_cast<int>(-sid) : 0);
}

}  // namespace

const PrimitiveOps session_ops{
    .plan = plan_half,
    .child = child_half,
    .requested_when = "always (a new session without the caller's controlling terminal)",
};

}  // namespace nyx
