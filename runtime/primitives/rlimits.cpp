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
    b.st.rlimits.push_back(RlimitStep{r.resource, {r.soft, r.hard}, p, b.st.keep(r.name)});
  }
  b.plan.rlimits = b.st.rlimits;
}

// A limit the config sets is part of what the container is: one that cannot be set is an
// error in every mode, never a warning (docs/design.md, "Where best-effort stops").
[[noreturn]] void cannot_set(ChildContext& c, const RlimitStep& r, int err) {
  char msg[256];
  child::Buf b(msg, sizeof msg);
  b.add("process.rlimits: ").add(r.name).add(": cannot set soft ");
  b.add(static_cast<long>(r.limit.rlim_cur))
      .add(", hard ")
      .add(static_cast<long>(r.limit.rlim_max));
  b.add(": ").add(child::err_text(err));
  if (err == EPERM) b.add(" (above the hard limit, which only CAP_SYS_RESOURCE may raise)");
  c.fatal_step(r.prim, 0, r.resource, msg, err, true);
}

void child_half(ChildContext& c) {
  for (const RlimitStep& r : c.plan.rlimits) {
    int err = sys::err_of(sys::call(SYS_prlimit64, 0, r.resource, &r.limit, 0L));
    if (err != 0) cannot_set(c, r, err);
    c.record(r.prim, 0, 0, r.resource);
  }
}

constexpr std::string_view kLimitFields = "`value` (soft), `hard` when different";

}  // namespace

const PrimitiveOps rlimit_cpu_ops{
    .requested_when = "`RLIMIT_CPU` is in `process.rlimits`",
    .fields = kLimitFields,
};
const PrimitiveOps rlimit_nofile_ops{
    .requested_when = "`RLIMIT_NOFILE` is in `process.rlimits`",
    .fields = kLimitFields,
};
const PrimitiveOps rlimit_as_ops{
    .requested_when = "`RLIMIT_AS` is in `process.rlimits`",
    .fields = kLimitFields,
};
const PrimitiveOps rlimits_ops{
    .plan = plan_half,
    .child = child_half,
    .requested_when = "any other `RLIMIT_*` is in `process.rlimits`",
    .fields = "`values`: `{\"RLIMIT_X\": {\"soft\", \"hard\"}}`",
};

}  // namespace nyx
