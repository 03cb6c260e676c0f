// cgroups: linux.resources written into the container's cgroups. The parent does all of it
// (runtime/cgroups.cpp makes, fills, joins and removes them); the init is in its cgroups before
// it runs a line of the harness (CLONE_INTO_CGROUP on v2, a join before Go on v1).
#include "runtime/primitives/cgroups.hpp"

#include "base/error.hpp"
#include "runtime/plan.hpp"
#include "runtime/primitive_ops.hpp"

namespace nyx {

namespace {

void plan_half(PlanBuilder& b) {
  if (!b.cfg.linux.resources.empty()) b.request(Prim::Cgroups);
}

void merge(PrimOutcome& o, const StepEntry& e, std::string_view note) {
  if (e.status != PrimStatus::Failed) {
    if (e.what == kCgroupWarning) o.detail["warnings"].push_back(std::string(note));
    if (e.what == kCgroupInfo) {
      nlohmann::json info = nlohmann::json::parse(note, nullptr, false);
      if (info.is_object()) {
        for (const auto& [k, v] : info.items())
          o.detail[k] = v;
      }
    }
    return;
  }
  if (e.what == kCgroupJoinFailed) {
    o.detail["reason"] = "cannot move the process into its cgroups";
    return;
  }
  o.detail["failures"].push_back(
      {{"file", std::string(note)}, {"errno", e.err}, {"error", errno_name(e.err)}});
}

}  // namespace

ParentEvent cgroup_event(int err, std::uint16_t what, std::string note) {
  StepEntry e;
  e.prim = Prim::Cgroups;
  e.status = err != 0 ? PrimStatus::Failed : PrimStatus::Applied;
  e.err = err;
  e.what = what;
  return ParentEvent{e, std::move(note)};
}

const PrimitiveOps cgroups_ops{
    .plan = plan_half,
    .merge = merge,
    .requested_when = "`linux.resources` (a tracking cgroup is made anyway)",
    .fields =
        "`version` (`v1`, `v2`, `hybrid`), `driver` (`cgroupfs`, `systemd`), `path`, `unit` "
        "(systemd), `controllers` (those a setting was written to), `warnings`, `failures`: "
        "`[{\"file\", \"errno\", \"error\"}]`, `reason`",
};

}  // namespace nyx
