// capabilities: the bounding, effective, permitted, inheritable and ambient sets of
// process.capabilities, and the switch to process.user that they survive.
#include "runtime/primitives/capabilities.hpp"

#include <linux/capability.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <cctype>

#include "base/error.hpp"

#include "runtime/child_context.hpp"
#include "runtime/plan.hpp"
#include "runtime/primitive_ops.hpp"
#include "runtime/syscalls.hpp"

namespace nyx {

int last_capability() {
  int bits = static_cast<int>(cap_max_bits());
  return bits > 0 ? bits - 1 : CAP_LAST_CAP;
}

std::vector<std::string> capability_names(std::uint64_t mask) {
  std::vector<std::string> out;
  for (int cap = 0; cap < 64; ++cap) {
    if (((mask >> cap) & 1U) == 0) continue;
    char* name = cap_to_name(static_cast<cap_value_t>(cap));
    std::string upper = name != nullptr ? name : std::to_string(cap);
    cap_free(name);
    for (char& c : upper)
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    out.push_back(std::move(upper));
  }
  return out;
}

nlohmann::json capabilities_json(const CapabilitySets& sets) {
  return {{"bounding", capability_names(sets.bounding)},
          {"effective", capability_names(sets.effective)},
          {"permitted", capability_names(sets.permitted)},
          {"inheritable", capability_names(sets.inheritable)},
          {"ambient", capability_names(sets.ambient)}};
}

namespace {

constexpr std::uint64_t kSysAdmin = std::uint64_t{1} << CAP_SYS_ADMIN;
constexpr std::uint16_t kAmbientNotRaised = 1;  // value: the ambient capabilities not raised

// The kernel takes no effective capability that is not permitted: a config asking for one
// cannot be applied (runc fails at capset, later and with less to say).
void check_sets(const CapabilitySets& c) {
  if (std::uint64_t extra = c.effective & ~c.permitted; extra != 0) {
    throw Error("process.capabilities.effective",
                capability_names(extra).front() + " is not in the permitted set");
  }
}

void plan_half(PlanBuilder& b) {
  const Process& proc = *b.cfg.process;
  if (!proc.capabilities || !b.request(Prim::Capabilities)) return;
  check_sets(*proc.capabilities);
  b.record(Prim::Capabilities).detail = capabilities_json(*proc.capabilities);
  ChildPlan& plan = b.plan;
  plan.set_caps = true;
  plan.cap_bounding = proc.capabilities->bounding;
  plan.cap_effective = proc.capabilities->effective;
  plan.cap_permitted = proc.capabilities->permitted;
  plan.cap_inheritable = proc.capabilities->inheritable;
  plan.cap_ambient = proc.capabilities->ambient;
  plan.cap_last = last_capability();
  for (int cap = 0; cap <= plan.cap_last && cap < 64; ++cap) {
    b.st.cap_names.push_back(b.st.keep(capability_names(std::uint64_t{1} << cap).front()));
  }
  plan.cap_names = b.st.cap_names;
}

// What the runtime holds and may hand on: in its bounding set and permitted.
std::uint64_t grantable(const ChildPlan& p) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (sys::call(SYS_capget, &hdr, data) < 0) return 0;
  std::uint64_t permitted = data[0].permitted | (std::uint64_t{data[1].permitted} << 32);
  std::uint64_t bounding = 0;
  for (int cap = 0; cap <= p.cap_last && cap < 64; ++cap) {
    if (sys::call(SYS_prctl, PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
      bounding |= std::uint64_t{1} << cap;
  }
  return permitted & bounding;
}

// A capability the config grants and the host cannot give is an error in every mode: the
// container would be less than it was configured to be (docs/design.md).
void check_grantable(ChildContext& c) {
  const ChildPlan& p = c.plan;
  std::uint64_t wanted = p.cap_bounding | p.cap_permitted | p.cap_effective | p.cap_inheritable;
  std::uint64_t missing = wanted & ~grantable(p);
  if (missing == 0) return;
  char msg[480];
  child::Buf b(msg, sizeof msg);
  b.add("capabilities: the host cannot grant");
  for (int cap = 0; cap < 64; ++cap) {
    if (((missing >> cap) & 1U) == 0) continue;
    b.add(" ");
    if (static_cast<std::size_t>(cap) < p.cap_names.size()) {
      b.add(p.cap_names[static_cast<std::size_t>(cap)]);
    } else {
      b.add(static_cast<long>(cap));
    }
  }
  b.add(" (not in the runtime's bounding or permitted set)");
  c.fatal_step(Prim::Capabilities, 0, static_cast<std::int64_t>(missing), msg, EPERM, true);
}

int drop_bounding(const ChildPlan& p) {
  for (int cap = 0; cap <= p.cap_last; ++cap) {
    if ((p.cap_bounding >> cap) & 1U) continue;
    long rc = sys::call(SYS_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0);
    if (rc < 0 && rc != -EINVAL) return static_cast<int>(-rc);
  }
  return 0;
}

int capset(std::uint64_t effective, std::uint64_t permitted, std::uint64_t inheritable) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  for (int i = 0; i < 2; ++i) {
    data[i].effective = static_cast<std::uint32_t>(effective >> (32 * i));
    data[i].permitted = static_cast<std::uint32_t>(permitted >> (32 * i));
    data[i].inheritable = static_cast<std::uint32_t>(inheritable >> (32 * i));
  }
  return sys::err_of(sys::call(SYS_capset, &hdr, data));
}

// `extra`: kept on top of the configured sets until the deferred drop.
int set_cap_sets(const ChildPlan& p, std::uint64_t extra) {
  if (int err = capset(p.cap_effective | extra, p.cap_permitted | extra, p.cap_inheritable))
    return err;
  long rc = sys::call(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  if (rc < 0 && rc != -EINVAL) return static_cast<int>(-rc);
  std::uint64_t raisable = p.cap_ambient & p.cap_permitted & p.cap_inheritable;
  for (int cap = 0; cap <= p.cap_last; ++cap) {
    if (((raisable >> cap) & 1U) == 0) continue;
    rc = sys::call(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
    if (rc < 0) return static_cast<int>(-rc);
  }
  return 0;
}

// Every permitted capability effective: the loads of the Confine stage need CAP_SYS_ADMIN,
// which the user switch took out of the effective set. Keeps the inheritable set for the
// deferred drop, which must not need anything but capset.
int raise_effective(ChildContext& c) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (long rc = sys::call(SYS_capget, &hdr, data); rc < 0) return static_cast<int>(-rc);
  c.kept_inheritable = data[0].inheritable | (std::uint64_t{data[1].inheritable} << 32);
  for (auto& d : data)
    d.effective = d.permitted;
  return sys::err_of(sys::call(SYS_capset, &hdr, data));
}

void switch_user(ChildContext& c, bool keep_caps) {
  const ChildPlan& p = c.plan;
  if (keep_caps) sys::call(SYS_prctl, PR_SET_KEEPCAPS, 1, 0, 0, 0);
  long rc = 0;
  if (p.set_groups) {
    rc = sys::call(SYS_setgroups, p.groups.size(), p.groups.data());
    if (rc < 0) c.fatal("process.user.additionalGids: setgroups", static_cast<int>(-rc));
  }
  rc = sys::call(SYS_setresgid, p.gid, p.gid, p.gid);
  if (rc < 0) c.fatal("process.user.gid: setresgid", static_cast<int>(-rc));
  rc = sys::call(SYS_setresuid, p.uid, p.uid, p.uid);
  if (rc < 0) c.fatal("process.user.uid: setresuid", static_cast<int>(-rc));
  if (keep_caps) sys::call(SYS_prctl, PR_SET_KEEPCAPS, 0, 0, 0, 0);
}

void child_half(ChildContext& c) {
  const ChildPlan& p = c.plan;
  if (p.set_caps) check_grantable(c);
  int err = p.set_caps ? drop_bounding(p) : 0;
  switch_user(c, (p.set_caps && p.uid != 0) || p.defer_cap_drop);
  if (p.set_caps) {
    if (err == 0) err = set_cap_sets(p, p.defer_cap_drop ? kSysAdmin : 0);
    c.record(Prim::Capabilities, err);
    // An ambient capability outside permitted and inheritable is one the kernel never raises
    // (runc's default config lists three): a grant not given, not a protection that failed.
    std::uint64_t not_raised = p.cap_ambient & ~(p.cap_permitted & p.cap_inheritable);
    if (not_raised != 0) {
      c.record(Prim::Capabilities, 0, kAmbientNotRaised, static_cast<std::int64_t>(not_raised));
    }
  } else if (p.defer_cap_drop) {
    raise_effective(c);  // a failure shows as the loads' EACCES
  }
}

void merge(PrimOutcome& o, const StepEntry& e, std::string_view) {
  if (e.what != kAmbientNotRaised) return;
  o.detail["ambientNotRaised"] = capability_names(static_cast<std::uint64_t>(e.value));
  o.detail["ambientReason"] =
      "not in both the permitted and the inheritable set, the only ones the kernel raises "
      "ambient capabilities from";
}

}  // namespace

int drop_deferred_capabilities(ChildContext& c) {
  const ChildPlan& p = c.plan;
  if (!p.defer_cap_drop) return 0;
  if (p.set_caps) return capset(p.cap_effective, p.cap_permitted, p.cap_inheritable);
  // No sets configured: what the switch to a non-root user leaves, nothing permitted.
  return capset(0, 0, c.kept_inheritable);
}

const PrimitiveOps capabilities_ops{
    .plan = plan_half,
    .child = child_half,
    .merge = merge,
    .requested_when = "`process.capabilities`",
    .fields =
        "the five sets as names; `ambientNotRaised` and `ambientReason` for ambient "
        "capabilities the kernel cannot raise",
};

}  // namespace nyx
