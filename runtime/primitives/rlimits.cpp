// Resource limits from process.rlimits: RLIMIT_CPU, RLIMIT_NOFILE and RLIMIT_AS have rows of
// their own in the record; every other RLIMIT_* is recorded under `rlimits`.
#include <sys/resource.h>
#include <sys/syscall.h>

#include "base/error.hpp"
#include "runtime/child_context.hpp"
#include "runtime/plan.hpp"
#include "runtime/primitive_ops.hpp"
#include "runtime/syscalls.hpp"

namespace nyx {

namespace {

Prim prim_of(int resource) {
  switch (resource) {
    case RLIMIT_CPU:
      return Prim::RlimitCpu;
    case RLIMIT_NOFILE:
      return Prim::RlimitNofile;
    case RLIMIT_AS:
      return Prim::RlimitAs;
    default:
      return Prim::Rlimits;
  }
}

void plan_half(PlanBuilder& b) {
  const Process& proc = *b.cfg.process;
  if (proc.rlimits.size() > kMaxRlimitSteps) throw Error("process.rlimits", "too many entries");
  for (const Rlimit& r : proc.rlimits) {
    Prim p = prim_of(r.resource);
    if (!b.request(p)) continue;
    PrimOutcome& o = b.record(p);
    if (p == Prim::Rlimits) {
      o.detail["values"][r.name] = {{"soft", r.soft}, {"hard", r.hard}};
    } else {
      o.detail = {{"value", r.soft}};
      if (r.hard != r.soft) o.detail["hard"] = r.hard;
    }
    b.st.rlimits.push_back(RlimitStep{r.resource, {r.soft, r.hard}, p});
  }
  b.plan.rlimits = b.st.rlimits;
}

void child_half(ChildContext& c) {
  for (const RlimitStep& r : c.plan.rlimits) {
    int err = sys::err_of(sys::call(SYS_prlimit64, 0, r.resource, &r.limit, 0L));
    c.record(r.prim, err, 0, r.resource);
  }
}

void merge(PrimOutcome& o, const StepEntry& e, std::string_view) {
  if (e.status == PrimStatus::Failed) o.detail["failedErrno"] = e.err;
}

constexpr std::string_view kLimitFields = "`value` (soft), `hard` when different, `failedErrno`";

}  // namespace

const PrimitiveOps rlimit_cpu_ops{
    .merge = merge,
    .requested_when = "`RLIMIT_CPU` is in `process.rlimits`",
    .fields = kLimitFields,
};
const PrimitiveOps rlimit_nofile_ops{
    .merge = merge,
    .requested_when = "`RLIMIT_NOFILE` is in `process.rlimits`",
    .fields = kLimitFields,
};
const PrimitiveOps rlimit_as_ops{
    .merge = merge,
    .requested_when = "`RLIMIT_AS` is in `process.rlimits`",
    .fields = kLimitFields,
};
const PrimitiveOps rlimits_ops{
    .plan = plan_half,
    .child = child_half,
    .merge = merge,
    .requested_when = "any other `RLIMIT_*` is in `process.rlimits`",
    .fields = "`values`: `{\"RLIMIT_X\": {\"soft\", \"hard\"}}`, `failedErrno`",
};

}  // namespace nyx
