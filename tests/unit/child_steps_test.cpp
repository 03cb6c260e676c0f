// The child's hardening sequence on a fake kernel (fake_kernel.hpp): every primitive failing with
// the errnos that matter, what the record and the level say, what --enforce does, the fatal
// paths, and the whole of run_child in a forked process, including which system calls run
// after the user's filter. No root needed: nothing reaches the real kernel but the status
// socket.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/keyctl.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "bundle/config.hpp"
#include "runtime/child.hpp"
#include "runtime/child_context.hpp"
#include "runtime/outcome.hpp"
#include "runtime/primitive_ops.hpp"
#include "runtime/primitives/mounts.hpp"
#include "tests/unit/fake_kernel.hpp"

namespace nyx {
namespace {

using test::FakeCall;
using test::FakeKernel;

constexpr const char* kSysctlValue = "nyx-sysctl-value";

// A plan that asks for every primitive, as the parent would build it for a strict config.
struct StrictPlan {
  ChildPlan plan;
  RlimitStep rlimits[3] = {{RLIMIT_CPU, {60, 60}, Prim::RlimitCpu, "RLIMIT_CPU"},
                           {RLIMIT_NOFILE, {256, 256}, Prim::RlimitNofile, "RLIMIT_NOFILE"},
                           {RLIMIT_AS, {1 << 30, 1 << 30}, Prim::RlimitAs, "RLIMIT_AS"}};
  NsJoin joins[1] = {{7, CLONE_NEWIPC, static_cast<std::uint8_t>(NsType::Ipc)}};
  MountStep mounts[2];
  SysctlStep sysctls[1] = {{"/proc/sys/net/ipv4/ip_forward", kSysctlValue, "net.ipv4.ip_forward"}};
  const char* masked[1] = {"proc/kcore"};
  const char* argv[2] = {"/bin/harness", nullptr};
  const char* envp[1] = {nullptr};
  sock_filter code[1] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
  sock_fprog prog{1, code};
  LandlockPathStep landlock_rules[3] = {
      {".", 0xd, true}, {"run", 0xf7bf, false}, {"srv", 0x4, false}};
  LandlockPortStep landlock_ports[1] = {{8080, 1}};

  StrictPlan() {
    mounts[0].source = "proc";
    mounts[0].target = "proc";
    mounts[0].fstype = "proc";
    mounts[0].strict_target = true;
    mounts[0].index = 0;
    mounts[1].source = "tmpfs";
    mounts[1].target = "tmp";
    mounts[1].fstype = "tmpfs";
    mounts[1].index = 1;
    ChildPlan& p = plan;
    p.sock = 3;
    p.requested =
        1U << static_cast<unsigned>(Prim::Session) | 1U << static_cast<unsigned>(Prim::Keyring);
    p.no_new_privs = true;
    p.rlimits = rlimits;
    p.joins = joins;
    p.unshare_flags = CLONE_NEWUTS;  // a new uts namespace, unshared
    p.hostname = "nyx";
    p.mounts = true;
    p.rootfs = "/bundle/rootfs";
    p.root_propagation = MS_SLAVE | MS_REC;
    p.mount_steps = mounts;
    p.masked_paths = masked;
    p.sysctls = sysctls;
    p.root_method = RootMethod::PivotRoot;
    p.readonly_root = true;
    p.set_caps = true;
    p.cap_last = 40;
    p.argv = argv;
    p.envp = envp;
    p.seccomp = &prog;
    p.requested |= 1U << static_cast<unsigned>(Prim::Landlock);
    p.landlock.abi = 7;
    p.landlock.handled_fs = 0xffff;
    p.landlock.handled_net = 3;
    p.landlock.rules = landlock_rules;
    p.landlock.ports = landlock_ports;
  }
};

// What the parent planned for StrictPlan: every row requested.
Outcome planned_all() {
  Outcome o;
  for (Prim p : {Prim::NoNewPrivs, Prim::RlimitCpu, Prim::RlimitNofile, Prim::RlimitAs,
                 Prim::Session, Prim::Keyring, Prim::Namespaces, Prim::Mounts, Prim::Sysctl,
                 Prim::Root, Prim::Capabilities, Prim::Landlock, Prim::Seccomp}) {
    o[p].requested = true;
  }
  o[Prim::Namespaces].detail["types"] = {"ipc", "uts"};
  return o;
}

// Runs every stage's child halves as run_child does, without the process steps between them.
Outcome run_steps(const ChildPlan& plan) {
  ChildReport report;
  ChildContext c(plan, report);
  for (const PrimitiveInfo& info : kPrimitives) {
    if (info.ops->child != nullptr) info.ops->child(c);
  }
  return merge_outcome(planned_all(), {}, {report.entries, report.count});
}

bool string_arg(const FakeCall& c, int i, const char* s) {
  const char* a = reinterpret_cast<const char*>(c.args[i]);
  return a != nullptr && std::strcmp(a, s) == 0;
}

bool prefix_arg(const FakeCall& c, int i, const char* s) {
  const char* a = reinterpret_cast<const char*>(c.args[i]);
  return a != nullptr && std::strncmp(a, s, std::strlen(s)) == 0;
}

TEST(ChildSteps, EveryPrimitiveAppliesOnAKernelThatAgrees) {
  StrictPlan sp;
  FakeKernel k;
  Outcome o = run_steps(sp.plan);
  EXPECT_EQ(compute_level(o), Level::Full);
  for (const PrimitiveInfo& info : kPrimitives) {
    if (o[info.id].requested) {
      EXPECT_EQ(o[info.id].status, PrimStatus::Applied) << info.name;
    }
  }
  EXPECT_EQ(o[Prim::Mounts].detail["count"], 2);
  EXPECT_EQ(o[Prim::Root].detail["method"], "pivot_root");
  EXPECT_EQ(o[Prim::Namespaces].detail["types"], nlohmann::json({"ipc", "uts"}));
  EXPECT_TRUE(check_outcome(o, true, "c").empty());
}

struct FailureCase {
  const char* name;  // for the test's name
  Prim prim;
  long nr;
  int err;
  std::function<bool(const FakeCall&)> match;
};

class ChildFailure : public testing::TestWithParam<FailureCase> {};

// Each primitive failing alone: recorded failed with its errno, the others still applied, the
// level partial, a warning in best-effort mode and an error naming it under --enforce.
TEST_P(ChildFailure, IsRecordedWarnedAndRefusedUnderEnforce) {
  const FailureCase& fc = GetParam();
  StrictPlan sp;
  FakeKernel k;
  k.fail_if(fc.nr, fc.err, fc.match);
  Outcome o = run_steps(sp.plan);
  std::string name(prim_name(fc.prim));
  EXPECT_EQ(o[fc.prim].status, PrimStatus::Failed) << name;
  EXPECT_EQ(o[fc.prim].err, fc.err) << name;
  for (const PrimitiveInfo& info : kPrimitives) {
    if (info.id != fc.prim && o[info.id].requested) {
      EXPECT_EQ(o[info.id].status, PrimStatus::Applied) << name << " failing took " << info.name;
    }
  }
  EXPECT_EQ(compute_level(o), Level::Partial);
  std::vector<std::string> warnings = check_outcome(o, false, "container \"c\"");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].rfind(name + ": failed: " + errno_name(fc.err), 0), 0u) << warnings[0];
  try {
    check_outcome(o, true, "container \"c\"");
    FAIL() << "enforce mode accepted a failed " << name;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("hardening failed in enforce mode: " + name),
              std::string::npos)
        << e.what();
  }
  nlohmann::json rec = primitives_json(o)[name];
  EXPECT_EQ(rec["status"], "failed");
  EXPECT_EQ(rec["errno"], fc.err);
  EXPECT_EQ(rec["error"], errno_name(fc.err));
}

bool prctl_is(const FakeCall& c, long option) {
  return c.args[0] == option;
}

// Protections the host may refuse: recorded, and the harness runs on (best-effort).
const FailureCase kFailures[] = {
    {"nnp_EPERM", Prim::NoNewPrivs, SYS_prctl, EPERM,
     [](const FakeCall& c) { return prctl_is(c, PR_SET_NO_NEW_PRIVS); }},
    {"nnp_EINVAL", Prim::NoNewPrivs, SYS_prctl, EINVAL,
     [](const FakeCall& c) { return prctl_is(c, PR_SET_NO_NEW_PRIVS); }},
    {"keyring_ENOSYS", Prim::Keyring, SYS_keyctl, ENOSYS, nullptr},
    {"keyring_EDQUOT", Prim::Keyring, SYS_keyctl, EDQUOT, nullptr},
    {"keyring_EPERM", Prim::Keyring, SYS_keyctl, EPERM, nullptr},
    {"unshare_EPERM", Prim::Namespaces, SYS_unshare, EPERM, nullptr},
    {"unshare_ENOSPC", Prim::Namespaces, SYS_unshare, ENOSPC, nullptr},
    {"masked_EACCES", Prim::Mounts, SYS_mount, EACCES,
     [](const FakeCall& c) { return prefix_arg(c, 0, "/proc/self/fd/") && (c.args[3] & MS_BIND); }},
    {"readonly_root_EPERM", Prim::Root, SYS_mount, EPERM,
     [](const FakeCall& c) {
       return string_arg(c, 1, "/") && (c.args[3] & MS_REMOUNT) != 0 && (c.args[3] & MS_RDONLY);
     }},
    {"capset_EPERM", Prim::Capabilities, SYS_capset, EPERM, nullptr},
    {"bounding_EPERM", Prim::Capabilities, SYS_prctl, EPERM,
     [](const FakeCall& c) { return prctl_is(c, PR_CAPBSET_DROP); }},
    {"ambient_clear_EPERM", Prim::Capabilities, SYS_prctl, EPERM,
     [](const FakeCall& c) { return prctl_is(c, PR_CAP_AMBIENT); }},
    {"landlock_create_EINVAL", Prim::Landlock, SYS_landlock_create_ruleset, EINVAL, nullptr},
    {"landlock_rule_EINVAL", Prim::Landlock, SYS_landlock_add_rule, EINVAL, nullptr},
    {"landlock_path_EACCES", Prim::Landlock, SYS_openat2, EACCES,
     [](const FakeCall& c) { return string_arg(c, 1, "srv"); }},
    {"seccomp_EINVAL", Prim::Seccomp, SYS_seccomp, EINVAL, nullptr},
    {"seccomp_EACCES", Prim::Seccomp, SYS_seccomp, EACCES, nullptr},
};

INSTANTIATE_TEST_SUITE_P(Each, ChildFailure, testing::ValuesIn(kFailures),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ChildSteps, AnAmbientCapabilityThatCannotBeRaisedFails) {
  // Raisable (permitted and inheritable) and refused by the kernel: a failure.
  StrictPlan sp;
  std::uint64_t bind = std::uint64_t{1} << CAP_NET_BIND_SERVICE;
  sp.plan.cap_ambient = sp.plan.cap_permitted = sp.plan.cap_inheritable = bind;
  sp.plan.cap_effective = sp.plan.cap_bounding = bind;
  FakeKernel k;
  k.fail_if(SYS_prctl, EPERM, [](const FakeCall& c) {
    return prctl_is(c, PR_CAP_AMBIENT) && c.args[1] == PR_CAP_AMBIENT_RAISE;
  });
  Outcome o = run_steps(sp.plan);
  EXPECT_EQ(o[Prim::Capabilities].status, PrimStatus::Failed);
}

TEST(ChildSteps, AmbientCapabilitiesOutsideInheritableAreRecordedNotRaised) {
  // runc's default config: ambient without inheritable. Nothing to raise, nothing failed.
  StrictPlan sp;
  std::uint64_t bind = std::uint64_t{1} << CAP_NET_BIND_SERVICE;
  sp.plan.cap_ambient = sp.plan.cap_permitted = sp.plan.cap_effective = bind;
  sp.plan.cap_bounding = bind;
  FakeKernel k;
  Outcome o = run_steps(sp.plan);
  EXPECT_EQ(o[Prim::Capabilities].status, PrimStatus::Applied);
  EXPECT_EQ(o[Prim::Capabilities].detail["ambientNotRaised"],
            nlohmann::json({"CAP_NET_BIND_SERVICE"}));
  EXPECT_EQ(compute_level(o), Level::Full);
  for (const FakeCall& c : k.calls()) {
    EXPECT_FALSE(c.nr == SYS_prctl && c.args[0] == PR_CAP_AMBIENT &&
                 c.args[1] == PR_CAP_AMBIENT_RAISE);
  }
}

TEST(ChildSteps, SeccompOnAKernelWithoutSeccomp) {
  // No seccomp(2), and prctl knows no seccomp either: the record says EINVAL.
  StrictPlan sp;
  FakeKernel k;
  k.fail(SYS_seccomp, ENOSYS);
  k.fail_if(SYS_prctl, EINVAL, [](const FakeCall& c) { return prctl_is(c, PR_GET_SECCOMP); });
  Outcome o = run_steps(sp.plan);
  EXPECT_EQ(o[Prim::Seccomp].status, PrimStatus::Failed);
  EXPECT_EQ(o[Prim::Seccomp].err, EINVAL);
}

TEST(ChildSteps, SeccompThroughPrctlWhereSeccompSyscallIsMissing) {
  StrictPlan sp;
  FakeKernel k;
  k.fail(SYS_seccomp, ENOSYS);
  Outcome o = run_steps(sp.plan);
  EXPECT_EQ(o[Prim::Seccomp].status, PrimStatus::Applied);
}

TEST(ChildSteps, SeccompWithoutNoNewPrivsNeedsSysAdmin) {
  StrictPlan sp;
  sp.plan.no_new_privs = false;
  FakeKernel k;
  k.caps(0);
  // No capabilities, and PR_GET_NO_NEW_PRIVS answers 0 (an "error" of 0 is the value the call
  // returns).
  k.fail_if(SYS_prctl, 0, [](const FakeCall& c) { return prctl_is(c, PR_GET_NO_NEW_PRIVS); });
  Outcome o = run_steps(sp.plan);
  EXPECT_EQ(o[Prim::Seccomp].status, PrimStatus::Failed);
  EXPECT_EQ(o[Prim::Seccomp].err, EACCES);
}

// Best effort: a rule whose path is missing in the container is passed over and counted; the
// executable gets a rule of its own, so the runtime's execve still works under the ruleset.
TEST(ChildSteps, LandlockSkipsMissingPathsAndAddsTheExecutable) {
  StrictPlan sp;
  FakeKernel k;
  k.fail_if(SYS_openat2, ENOENT, [](const FakeCall& c) { return string_arg(c, 1, "srv"); });
  Outcome o = run_steps(sp.plan);
  EXPECT_EQ(o[Prim::Landlock].status, PrimStatus::Applied);
  EXPECT_EQ(o[Prim::Landlock].detail["rulesSkipped"], 1);
  // "." and "run", the port, the executable.
  EXPECT_EQ(o[Prim::Landlock].detail["rules"], 4);
  EXPECT_EQ(k.count(SYS_landlock_add_rule), 4u);
  EXPECT_EQ(k.count(SYS_landlock_restrict_self), 0u);  // only after the start
}

TEST(ChildSteps, LandlockWithDisableBestEffortFailsOnAMissingPath) {
  StrictPlan sp;
  sp.plan.landlock.strict = true;
  FakeKernel k;
  k.fail_if(SYS_openat2, ENOENT, [](const FakeCall& c) { return string_arg(c, 1, "srv"); });
  Outcome o = run_steps(sp.plan);
  EXPECT_EQ(o[Prim::Landlock].status, PrimStatus::Failed);
  EXPECT_EQ(o[Prim::Landlock].err, ENOENT);
  EXPECT_EQ(o[Prim::Landlock].detail["failedRule"], 2);
}

TEST(ChildSteps, LandlockWithoutNoNewPrivsNeedsSysAdmin) {
  StrictPlan sp;
  sp.plan.no_new_privs = false;
  FakeKernel k;
  k.caps(0);  // no CAP_SYS_ADMIN
  k.fail_if(SYS_prctl, 0, [](const FakeCall& c) { return prctl_is(c, PR_GET_NO_NEW_PRIVS); });
  Outcome o = run_steps(sp.plan);
  EXPECT_EQ(o[Prim::Landlock].status, PrimStatus::Failed);
  EXPECT_EQ(o[Prim::Landlock].err, EPERM);
}

// setsid's only failure is EPERM, "already a session leader": the session is new either way.
TEST(ChildSteps, SessionLeaderAlreadyCountsAsApplied) {
  StrictPlan sp;
  FakeKernel k;
  k.fail(SYS_setsid, EPERM);
  Outcome o = run_steps(sp.plan);
  EXPECT_EQ(o[Prim::Session].status, PrimStatus::Applied);
}

// The session is the first thing after the process limits: before any namespace is entered.
TEST(ChildSteps, SessionComesBeforeNamespaces) {
  StrictPlan sp;
  FakeKernel k;
  run_steps(sp.plan);
  ASSERT_GE(k.first(SYS_setsid), 0);
  EXPECT_LT(k.first(SYS_setsid), k.first(SYS_setns));
  EXPECT_LT(k.first(SYS_prlimit64), k.first(SYS_setsid));
}

// keyring: an anonymous session keyring (no name to join it by), joined after the session and
// before any namespace; its serial is in the record.
TEST(ChildSteps, KeyringIsAnonymousJoinedBeforeNamespacesAndNamed) {
  StrictPlan sp;
  FakeKernel k;
  Outcome o = run_steps(sp.plan);
  ASSERT_EQ(k.count(SYS_keyctl), 1u);
  const FakeCall& call = k.calls()[static_cast<std::size_t>(k.first(SYS_keyctl))];
  EXPECT_EQ(call.args[0], KEYCTL_JOIN_SESSION_KEYRING);
  EXPECT_EQ(call.args[1], 0) << "a named session keyring can be joined by name from elsewhere";
  EXPECT_LT(k.first(SYS_setsid), k.first(SYS_keyctl));
  EXPECT_LT(k.first(SYS_keyctl), k.first(SYS_setns));
  EXPECT_EQ(o[Prim::Keyring].status, PrimStatus::Applied);
  EXPECT_EQ(o[Prim::Keyring].detail["serial"], test::kFakeKeyringSerial);
}

// The failures say what they mean, beside the errno.
TEST(ChildSteps, KeyringFailuresCarryTheirReason) {
  for (int err : {ENOSYS, EDQUOT}) {
    StrictPlan sp;
    FakeKernel k;
    k.fail(SYS_keyctl, err);
    Outcome o = run_steps(sp.plan);
    EXPECT_EQ(o[Prim::Keyring].status, PrimStatus::Failed);
    EXPECT_EQ(o[Prim::Keyring].err, err);
    EXPECT_TRUE(o[Prim::Keyring].detail.contains("reason")) << errno_name(err);
    EXPECT_FALSE(o[Prim::Keyring].detail.contains("serial"));
  }
}

// Ablated (--ablate keyring, --no-new-keyring): not requested, so not a single keyctl.
TEST(ChildSteps, KeyringAblatedCallsNothing) {
  StrictPlan sp;
  sp.plan.requested &= ~(1U << static_cast<unsigned>(Prim::Keyring));
  FakeKernel k;
  run_steps(sp.plan);
  EXPECT_EQ(k.count(SYS_keyctl), 0u);
}

// ---- apparmor ---------------------------------------------------------------------------

constexpr int kProcFd = 42;
constexpr char kOnexec[] = "exec nyx-test";

void want_apparmor(StrictPlan& sp) {
  sp.plan.requested |= 1U << static_cast<unsigned>(Prim::Apparmor);
  sp.plan.apparmor_proc = kProcFd;
  sp.plan.apparmor_exec = kOnexec;
  sp.plan.apparmor_exec_len = sizeof kOnexec - 1;
}

bool opens_under_proc(const FakeCall& c, const char* path) {
  return c.args[0] == kProcFd && string_arg(c, 1, path);
}

long index_of(const FakeKernel& k, const std::function<bool(const FakeCall&)>& match) {
  for (std::size_t i = 0; i < k.calls().size(); ++i) {
    if (match(k.calls()[i])) return static_cast<long>(i);
  }
  return -1;
}

// "exec PROFILE" to this thread's attr/apparmor/exec, opened beneath the runtime's /proc fd
// through thread-self (a plain symlink, not a magic link) without leaving the mount; the
// /proc fd is closed right after; all of it before Landlock's and seccomp's calls.
TEST(ChildSteps, AppArmorWritesOnexecThroughTheRuntimesProc) {
  StrictPlan sp;
  want_apparmor(sp);
  FakeKernel k;
  // open_how lives on the child's stack: read it during the call.
  open_how seen{};
  k.fail_if(SYS_openat2, 0, [&seen](const FakeCall& c) {
    if (opens_under_proc(c, "thread-self/attr/apparmor/exec"))
      seen = *reinterpret_cast<const open_how*>(c.args[2]);
    return false;
  });
  Outcome planned = planned_all();
  planned[Prim::Apparmor].requested = true;
  ChildReport report;
  ChildContext c(sp.plan, report);
  for (const PrimitiveInfo& info : kPrimitives) {
    if (info.ops->child != nullptr) info.ops->child(c);
  }
  Outcome o = merge_outcome(planned, {}, {report.entries, report.count});
  EXPECT_EQ(o[Prim::Apparmor].status, PrimStatus::Applied);
  long open = index_of(k, [](const FakeCall& c) {
    return c.nr == SYS_openat2 && opens_under_proc(c, "thread-self/attr/apparmor/exec");
  });
  ASSERT_GE(open, 0);
  EXPECT_EQ(seen.flags, static_cast<std::uint64_t>(O_WRONLY | O_CLOEXEC));
  EXPECT_EQ(seen.resolve, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV);
  long write = index_of(k, [](const FakeCall& c) {
    return c.nr == SYS_write && c.args[2] == static_cast<long>(sizeof kOnexec - 1) &&
           std::memcmp(reinterpret_cast<const char*>(c.args[1]), kOnexec, sizeof kOnexec - 1) == 0;
  });
  ASSERT_GT(write, open);
  long closed =
      index_of(k, [](const FakeCall& c) { return c.nr == SYS_close && c.args[0] == kProcFd; });
  EXPECT_GT(closed, write);
  EXPECT_LT(write, k.first(SYS_landlock_create_ruleset));
  EXPECT_LT(write, k.first(SYS_seccomp));
}

// A profile that is not loaded: the kernel answers the write with ENOENT, recorded failed.
TEST(ChildSteps, AppArmorProfileRefusedByTheKernelFails) {
  StrictPlan sp;
  want_apparmor(sp);
  FakeKernel k;
  k.fail_if(SYS_write, ENOENT,
            [](const FakeCall& c) { return c.args[1] == reinterpret_cast<long>(kOnexec); });
  ChildReport report;
  ChildContext c(sp.plan, report);
  for (const PrimitiveInfo& info : kPrimitives) {
    if (info.ops->child != nullptr) info.ops->child(c);
  }
  Outcome planned = planned_all();
  planned[Prim::Apparmor].requested = true;
  Outcome o = merge_outcome(planned, {}, {report.entries, report.count});
  EXPECT_EQ(o[Prim::Apparmor].status, PrimStatus::Failed);
  EXPECT_EQ(o[Prim::Apparmor].err, ENOENT);
  EXPECT_EQ(compute_level(o), Level::Partial);
}

// Kernels before 5.8 have no attr/apparmor/: attr/exec is AppArmor's there.
TEST(ChildSteps, AppArmorFallsBackToAttrExecOnOlderKernels) {
  StrictPlan sp;
  want_apparmor(sp);
  FakeKernel k;
  k.fail_if(SYS_openat2, ENOENT, [](const FakeCall& c) {
    return opens_under_proc(c, "thread-self/attr/apparmor/exec");
  });
  run_steps(sp.plan);
  EXPECT_GE(index_of(k,
                     [](const FakeCall& c) {
                       return c.nr == SYS_openat2 && opens_under_proc(c, "thread-self/attr/exec");
                     }),
            0);
  EXPECT_GE(index_of(k,
                     [](const FakeCall& c) {
                       return c.nr == SYS_write && c.args[1] == reinterpret_cast<long>(kOnexec);
                     }),
            0);
}

// Not requested (no profile, or --ablate apparmor): nothing opened under /proc, nothing written.
TEST(ChildSteps, AppArmorNotRequestedTouchesNothing) {
  StrictPlan sp;
  want_apparmor(sp);
  sp.plan.requested &= ~(1U << static_cast<unsigned>(Prim::Apparmor));
  FakeKernel k;
  run_steps(sp.plan);
  EXPECT_LT(index_of(k, [](const FakeCall& c) { return c.args[0] == kProcFd; }), 0);
}

// Masked and read-only paths: opened with no symlink on the way (RESOLVE_NO_SYMLINKS), the mask
// source is the host's /dev/null by a checked fd, and the read-only copy is made on fds
// (open_tree, mount_setattr recursive, move_mount), never by resolving the path again.
TEST(ChildSteps, ProtectedPathsAreOpenedOnceWithoutSymlinksAndMountedByFd) {
  StrictPlan sp;
  const char* ro[1] = {"proc/sys"};
  sp.plan.readonly_paths = ro;
  FakeKernel k;
  // The pointers are looked at during the call (the child's stack is gone afterwards): the
  // matchers only watch and never fail anything.
  std::vector<std::uint64_t> resolves;
  k.fail_if(SYS_openat2, EIO, [&](const FakeCall& c) {
    if (string_arg(c, 1, "proc/kcore") || string_arg(c, 1, "proc/sys"))
      resolves.push_back(reinterpret_cast<const open_how*>(c.args[2])->resolve);
    return false;
  });
  bool masked_from_devnull_fd = false, devnull_by_path = false;
  k.fail_if(SYS_mount, EIO, [&](const FakeCall& c) {
    devnull_by_path = devnull_by_path || string_arg(c, 0, "/dev/null");
    if (prefix_arg(c, 0, "/proc/self/fd/") && (c.args[3] & MS_BIND)) masked_from_devnull_fd = true;
    return false;
  });
  std::vector<std::uint64_t> attrs;
  k.fail_if(SYS_mount_setattr, EIO, [&](const FakeCall& c) {
    attrs.push_back(reinterpret_cast<const mount_attr*>(c.args[3])->attr_set);
    return false;
  });
  run_steps(sp.plan);
  ASSERT_EQ(resolves.size(), 2u);
  for (std::uint64_t r : resolves) {
    EXPECT_NE(r & RESOLVE_NO_SYMLINKS, 0u);
    EXPECT_NE(r & RESOLVE_IN_ROOT, 0u);
  }
  EXPECT_TRUE(masked_from_devnull_fd);
  EXPECT_FALSE(devnull_by_path);
  ASSERT_EQ(attrs, std::vector<std::uint64_t>({MOUNT_ATTR_RDONLY}));
  const FakeCall& set = k.calls()[static_cast<std::size_t>(k.first(SYS_mount_setattr))];
  EXPECT_NE(set.args[2] & AT_RECURSIVE, 0);
  EXPECT_EQ(k.count(SYS_move_mount), 1u);
  EXPECT_LT(k.first(SYS_open_tree), k.first(SYS_mount_setattr));
  EXPECT_LT(k.first(SYS_mount_setattr), k.first(SYS_move_mount));
}

// A symlink at a masked path (a racing exchange) is waited out: the path is tried again and
// masked once it is a file, and the record still says a symlink was met (ELOOP, which path).
TEST(ChildSteps, MaskedPathSymlinkIsRetriedAndRecorded) {
  StrictPlan sp;
  FakeKernel k;
  int left = 3;
  k.fail_if(SYS_openat2, ELOOP,
            [&left](const FakeCall& c) { return string_arg(c, 1, "proc/kcore") && left-- > 0; });
  bool masked = false;
  k.fail_if(SYS_mount, EIO, [&](const FakeCall& c) {
    masked = masked || prefix_arg(c, 0, "/proc/self/fd/");
    return false;
  });
  Outcome o = run_steps(sp.plan);
  EXPECT_EQ(o[Prim::Mounts].status, PrimStatus::Failed);
  EXPECT_EQ(o[Prim::Mounts].err, ELOOP);
  EXPECT_EQ(o[Prim::Mounts].detail["protectFailures"][0]["maskedPath"], 0);
  EXPECT_EQ(o[Prim::Mounts].detail["protectFailures"][0]["error"], "ELOOP");
  EXPECT_GE(k.count(SYS_nanosleep), 3u);
  EXPECT_TRUE(masked) << "the file behind the exchange is masked all the same";
}

// "/dev/null" that is not the null device is never used as the mask source.
TEST(ChildSteps, MaskSourceMustBeTheNullDevice) {
  StrictPlan sp;
  FakeKernel k;
  k.fail_if(SYS_openat, ENOENT, [](const FakeCall& c) { return string_arg(c, 1, "/dev/null"); });
  bool masked = false;
  k.fail_if(SYS_mount, EIO, [&](const FakeCall& c) {
    masked = masked || prefix_arg(c, 0, "/proc/self/fd/");
    return false;
  });
  Outcome o = run_steps(sp.plan);
  EXPECT_EQ(o[Prim::Mounts].status, PrimStatus::Failed);
  EXPECT_EQ(o[Prim::Mounts].err, ENOENT);
  EXPECT_FALSE(masked) << "masked from something that is not the null device";
}

TEST(ChildSteps, PivotRootRefusedFallsBackToChrootAndSaysSo) {
  StrictPlan sp;
  FakeKernel k;
  k.fail(SYS_pivot_root, EINVAL);
  Outcome o = run_steps(sp.plan);
  EXPECT_EQ(o[Prim::Root].status, PrimStatus::Applied);
  EXPECT_EQ(o[Prim::Root].detail["method"], "chroot");
  EXPECT_EQ(o[Prim::Root].detail["pivotErrno"], EINVAL);
  EXPECT_EQ(k.count(SYS_chroot), 1u);
}

TEST(ChildSteps, NamespaceFailuresNameTheirTypeAndLeaveTheRest) {
  StrictPlan sp;
  FakeKernel k;
  k.fail(SYS_unshare, EPERM);  // the new uts namespace; the ipc one is joined
  Outcome o = run_steps(sp.plan);
  EXPECT_EQ(o[Prim::Namespaces].detail["types"], nlohmann::json({"ipc"}));
  EXPECT_EQ(o[Prim::Namespaces].detail["failures"][0]["type"], "uts");
  EXPECT_EQ(o[Prim::Namespaces].detail["failures"][0]["error"], "EPERM");
}

// ---- what the container is: errors in every mode -----------------------------------------

struct ConfigFailure {
  const char* name;
  long nr;
  int err;
  std::function<bool(const FakeCall&)> match;
  const char* message;  // what the init's fatal report starts with
};

class ChildConfigFailure : public testing::TestWithParam<ConfigFailure> {};

// The steps run in a forked init with a real status socket: its Fatal report is what `create`
// prints, in best-effort and enforce mode alike (the init exits before there is a record).
TEST_P(ChildConfigFailure, StopsTheInitWithTheFieldAndTheCause) {
  const ConfigFailure& cf = GetParam();
  StrictPlan sp;
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  sp.plan.sock = sv[1];
  pid_t pid = ::fork();
  if (pid == 0) {
    FakeKernel k;
    k.pass_fd(sv[1]);
    k.fail_if(cf.nr, cf.err, cf.match);
    run_steps(sp.plan);
    ::_exit(0);
  }
  ::close(sv[1]);
  ChildReport r;
  ASSERT_EQ(::read(sv[0], &r, sizeof r), static_cast<ssize_t>(sizeof r));
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(sv[0]);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1);
  EXPECT_EQ(r.kind, ChildMsg::Fatal);
  EXPECT_EQ(r.fatal_errno, cf.err);
  EXPECT_EQ(std::string(r.fatal_msg).rfind(cf.message, 0), 0u) << r.fatal_msg;
}

const ConfigFailure kConfigFailures[] = {
    {"rlimit_cpu_EPERM", SYS_prlimit64, EPERM,
     [](const FakeCall& c) { return c.args[1] == RLIMIT_CPU; },
     "process.rlimits: RLIMIT_CPU: cannot set soft 60, hard 60: operation not permitted (above"},
    {"rlimit_as_EINVAL", SYS_prlimit64, EINVAL,
     [](const FakeCall& c) { return c.args[1] == RLIMIT_AS; }, "process.rlimits: RLIMIT_AS"},
    {"setns_EINVAL", SYS_setns, EINVAL, nullptr,
     "namespaces: cannot join the ipc namespace given by path: invalid argument"},
    {"setns_EPERM", SYS_setns, EPERM, nullptr, "namespaces: cannot join the ipc namespace"},
    {"sethostname_EPERM", SYS_sethostname, EPERM, nullptr, "hostname: cannot set it"},
    {"mount_proc_EPERM", SYS_mount, EPERM,
     [](const FakeCall& c) { return string_arg(c, 2, "proc"); },
     "mounts[0]: cannot mount proc on /proc: operation not permitted"},
    {"mount_tmpfs_ENODEV", SYS_mount, ENODEV,
     [](const FakeCall& c) { return string_arg(c, 2, "tmpfs") && string_arg(c, 0, "tmpfs"); },
     "mounts[1]: cannot mount tmpfs on /tmp"},
    {"mount_target_EXDEV", SYS_openat2, EXDEV,
     [](const FakeCall& c) { return string_arg(c, 1, "tmp"); },
     "mounts[1]: cannot mount tmpfs on /tmp: path escapes the container root"},
    {"sysctl_EACCES", SYS_write, EACCES,
     [](const FakeCall& c) { return string_arg(c, 1, kSysctlValue); },
     "linux.sysctl: net.ipv4.ip_forward: cannot write"},
    {"sysctl_open_EROFS", SYS_openat2, EROFS,
     [](const FakeCall& c) { return string_arg(c, 1, "proc/sys/net/ipv4/ip_forward"); },
     "linux.sysctl: net.ipv4.ip_forward"},
};

INSTANTIATE_TEST_SUITE_P(Each, ChildConfigFailure, testing::ValuesIn(kConfigFailures),
                         [](const auto& info) { return std::string(info.param.name); });

// A capability the config grants and the runtime does not hold (this host's root lacks
// CAP_SYS_RESOURCE in its bounding set): an error naming it, not a warning.
TEST(ChildFatalDeathTest, CapabilityTheHostCannotGrant) {
  StrictPlan sp;
  std::uint64_t resource = std::uint64_t{1} << CAP_SYS_RESOURCE;
  sp.plan.cap_bounding = sp.plan.cap_permitted = sp.plan.cap_effective = resource;
  const char* names[64] = {};
  names[CAP_SYS_RESOURCE] = "CAP_SYS_RESOURCE";
  sp.plan.cap_names = names;
  EXPECT_EXIT(
      {
        FakeKernel k;
        k.fail_if(SYS_prctl, 0, [](const FakeCall& c) {
          return prctl_is(c, PR_CAPBSET_READ) && c.args[1] == CAP_SYS_RESOURCE;
        });
        run_steps(sp.plan);
      },
      testing::ExitedWithCode(1), "");
}

// Steps that cannot be recorded and run on: the init exits, and its report says why.
TEST(ChildFatalDeathTest, UserSwitchRefused) {
  StrictPlan sp;
  sp.plan.uid = 1000;
  EXPECT_EXIT(
      {
        FakeKernel k;
        k.fail(SYS_setresuid, EPERM);
        run_steps(sp.plan);
      },
      testing::ExitedWithCode(1), "");
}

TEST(ChildFatalDeathTest, RootCannotBeEntered) {
  StrictPlan sp;
  EXPECT_EXIT(
      {
        FakeKernel k;
        k.fail(SYS_pivot_root, EPERM);
        run_steps(sp.plan);
      },
      testing::ExitedWithCode(1), "");
}

TEST(ChildFatalDeathTest, RootfsCannotBePrepared) {
  StrictPlan sp;
  EXPECT_EXIT(
      {
        FakeKernel k;
        k.fail_if(SYS_mount, EACCES, [](const FakeCall& c) { return (c.args[3] & MS_BIND) != 0; });
        run_steps(sp.plan);
      },
      testing::ExitedWithCode(1), "");
}

// ---- the whole sequence ---------------------------------------------------------------------

int g_calls_pipe = -1;

// In the forked init, at execve: the system calls it made go to the test through a pipe.
void send_calls(const FakeKernel& k) {
  for (const FakeCall& c : k.calls()) {
    long pair[2] = {c.nr, c.args[2]};
    [[maybe_unused]] ssize_t n = ::write(g_calls_pipe, pair, sizeof pair);
  }
  ::close(g_calls_pipe);
}

struct Sequence {
  ChildReport report;
  std::vector<std::pair<long, long>> calls;  // nr and third argument, in order
  int exit_code = -1;
};

// run_child in a forked process on the fake kernel, with a real status socket.
Sequence run_whole(ChildPlan plan) {
  int sv[2];
  int pipefd[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  EXPECT_EQ(::pipe2(pipefd, O_CLOEXEC), 0);
  plan.sock = sv[1];
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(sv[0]);
    ::close(pipefd[0]);
    g_calls_pipe = pipefd[1];
    FakeKernel k;
    k.pass_fd(sv[1]);
    k.exit_at_exec(42);
    k.on_exec(send_calls);
    run_child(plan);
  }
  ::close(sv[1]);
  ::close(pipefd[1]);
  Sequence s;
  ChildReport report;
  EXPECT_EQ(::read(sv[0], &report, sizeof report), static_cast<ssize_t>(sizeof report));
  s.report = report;
  char start = static_cast<char>(ParentMsg::Start);
  EXPECT_EQ(::write(sv[0], &start, 1), 1);
  long pair[2];
  while (::read(pipefd[0], pair, sizeof pair) == static_cast<ssize_t>(sizeof pair))
    s.calls.emplace_back(pair[0], pair[1]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  s.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  ::close(sv[0]);
  ::close(pipefd[0]);
  return s;
}

// The system calls after the user's filter is loaded: the filter's own load is the last
// seccomp call with a program.
std::vector<long> after_filter(const Sequence& s) {
  std::size_t load = s.calls.size();
  for (std::size_t i = 0; i < s.calls.size(); ++i) {
    if (s.calls[i].first == SYS_seccomp && s.calls[i].second != 0) load = i;
  }
  std::vector<long> out;
  for (std::size_t i = load + 1; i < s.calls.size(); ++i)
    out.push_back(s.calls[i].first);
  return out;
}

TEST(ChildSequence, ReportsEveryStepThenExecsWithOnlyExecveAfterTheFilter) {
  StrictPlan sp;
  Sequence s = run_whole(sp.plan);
  EXPECT_EQ(s.exit_code, 42);  // reached execve
  EXPECT_EQ(s.report.kind, ChildMsg::Report);
  Outcome o = merge_outcome(planned_all(), {}, {s.report.entries, s.report.count});
  EXPECT_EQ(compute_level(o), Level::Full);
  EXPECT_EQ(after_filter(s), std::vector<long>({SYS_execve}));
}

// Landlock restricts the init after the report and the start, before the seccomp filter.
TEST(ChildSequence, LandlockRestrictsAfterTheReportAndBeforeTheFilter) {
  StrictPlan sp;
  Sequence s = run_whole(sp.plan);
  EXPECT_EQ(s.exit_code, 42);
  auto index = [&](long nr, bool with_arg) {
    for (std::size_t i = 0; i < s.calls.size(); ++i) {
      if (s.calls[i].first == nr && (!with_arg || s.calls[i].second != 0)) return long(i);
    }
    return -1L;
  };
  long report = -1;  // the report: a write of the whole ChildReport
  for (std::size_t i = 0; i < s.calls.size() && report < 0; ++i) {
    if (s.calls[i].first == SYS_write && s.calls[i].second == long(sizeof(ChildReport)))
      report = long(i);
  }
  long restrict_self = index(SYS_landlock_restrict_self, false);
  long load = index(SYS_seccomp, true);
  ASSERT_GE(report, 0);
  EXPECT_GT(restrict_self, report);
  EXPECT_LT(restrict_self, load);
}

TEST(ChildSequence, WithoutNoNewPrivsOnlyCapsetFollowsTheFilter) {
  StrictPlan sp;
  sp.plan.no_new_privs = false;
  sp.plan.defer_cap_drop = true;
  sp.plan.uid = 1000;
  Sequence s = run_whole(sp.plan);
  EXPECT_EQ(s.exit_code, 42);
  EXPECT_EQ(after_filter(s), std::vector<long>({SYS_capset, SYS_execve}));
}

TEST(ChildSequence, AFilterTheKernelRefusesLateStopsTheHarness) {
  // The check before the report passed, the load itself failed: the harness never runs.
  StrictPlan sp;
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  sp.plan.sock = sv[1];
  pid_t pid = ::fork();
  if (pid == 0) {
    FakeKernel k;
    k.pass_fd(sv[1]);
    k.exit_at_exec(42);
    k.fail_if(SYS_seccomp, ENOMEM, [](const FakeCall& c) { return c.args[2] != 0; });
    run_child(sp.plan);
  }
  ::close(sv[1]);
  ChildReport r;
  ASSERT_EQ(::read(sv[0], &r, sizeof r), static_cast<ssize_t>(sizeof r));
  char start = static_cast<char>(ParentMsg::Start);
  ASSERT_EQ(::write(sv[0], &start, 1), 1);
  ChildReport late;
  ASSERT_EQ(::read(sv[0], &late, sizeof late), static_cast<ssize_t>(sizeof late));
  EXPECT_EQ(late.kind, ChildMsg::Fatal);
  EXPECT_EQ(late.fatal_errno, ENOMEM);
  EXPECT_NE(std::string(late.fatal_msg).find("seccomp"), std::string::npos) << late.fatal_msg;
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1);
  ::close(sv[0]);
}

// ---- exec into a pid namespace: the joining process forks the exec'd process at the start ----

struct ForkRun {
  ChildReport report;   // the report before the start
  ChildReport handoff;  // the message after it (Pid from the joining process)
  std::vector<std::pair<long, long>> calls;
  int exit_code = -1;
};

// run_child with fork_at_start on the fake kernel; `child_path` makes clone return 0, as in the
// forked process. The calls are sent at execve (child path) or read back through the pipe when
// the joining process exits (its calls are sent by an exit hook instead).
ForkRun run_fork(ChildPlan plan, bool child_path) {
  int sv[2];
  int pipefd[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  EXPECT_EQ(::pipe2(pipefd, O_CLOEXEC), 0);
  plan.sock = sv[1];
  plan.fork_at_start = true;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(sv[0]);
    ::close(pipefd[0]);
    g_calls_pipe = pipefd[1];
    FakeKernel k;
    k.pass_fd(sv[1]);
    k.exit_at_exec(42);
    k.on_exec(send_calls);
    // The joining process: after clone it reports and exits; its calls go out at the clone.
    if (child_path) {
      k.fail_if(SYS_clone, 0, [](const FakeCall&) { return true; });
    } else {
      k.fail_if(SYS_clone, EIO, [&k](const FakeCall&) {
        send_calls(k);
        return false;
      });
    }
    run_child(plan);
  }
  ::close(sv[1]);
  ::close(pipefd[1]);
  ForkRun r;
  ChildReport report;
  EXPECT_EQ(::read(sv[0], &report, sizeof report), static_cast<ssize_t>(sizeof report));
  r.report = report;
  char start = static_cast<char>(ParentMsg::Start);
  EXPECT_EQ(::write(sv[0], &start, 1), 1);
  long pair[2];
  while (::read(pipefd[0], pair, sizeof pair) == static_cast<ssize_t>(sizeof pair))
    r.calls.emplace_back(pair[0], pair[1]);
  if (!child_path) {
    ChildReport handoff;
    EXPECT_EQ(::read(sv[0], &handoff, sizeof handoff), static_cast<ssize_t>(sizeof handoff));
    r.handoff = handoff;
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  ::close(sv[0]);
  ::close(pipefd[0]);
  return r;
}

long index_of(const ForkRun& r, long nr) {
  for (std::size_t i = 0; i < r.calls.size(); ++i) {
    if (r.calls[i].first == nr) return static_cast<long>(i);
  }
  return -1;
}

// The joining process takes the harness's name, forks with CLONE_PARENT | CLONE_VFORK (never
// sharing memory), hands over the pid and exits; with noNewPrivileges it loads nothing itself.
TEST(ChildSequence, ExecIntoAPidNamespaceForksTheProcessAtTheStart) {
  StrictPlan sp;
  ForkRun r = run_fork(sp.plan, false);
  EXPECT_EQ(r.report.kind, ChildMsg::Report);
  EXPECT_EQ(r.handoff.kind, ChildMsg::Pid);
  EXPECT_EQ(r.handoff.pid, 4242);
  EXPECT_EQ(r.exit_code, 1);  // the joining process is done
  ASSERT_GE(index_of(r, SYS_prctl), 0);
  bool loaded = false;
  for (const auto& [nr, a2] : r.calls)
    loaded = loaded || (nr == SYS_seccomp && a2 != 0);
  EXPECT_FALSE(loaded) << "the joining process loaded the filter although no_new_privs was set";
}

TEST(ChildSequence, TheForkedProcessLoadsTheFilterAndExecs) {
  StrictPlan sp;
  ForkRun r = run_fork(sp.plan, true);
  EXPECT_EQ(r.exit_code, 42);  // reached execve
  std::size_t load = r.calls.size();
  for (std::size_t i = 0; i < r.calls.size(); ++i) {
    if (r.calls[i].first == SYS_seccomp && r.calls[i].second != 0) load = i;
  }
  ASSERT_LT(load, r.calls.size());
  EXPECT_GT(load, static_cast<std::size_t>(index_of(r, SYS_clone)));
  ASSERT_EQ(load + 2, r.calls.size());
  EXPECT_EQ(r.calls.back().first, SYS_execve);
}

// Without no_new_privs the load needs CAP_SYS_ADMIN. The fork into the container and the pid
// report happen before it, outside the user's filter; the new process loads the filter and
// drops the capabilities kept for it, and after the load only capset and execve run (SPEC §4).
TEST(ChildSequence, AfterTheForkOnlyTheLoadTheDropAndExecve) {
  StrictPlan sp;
  sp.plan.no_new_privs = false;
  sp.plan.defer_cap_drop = true;
  sp.plan.uid = 1000;
  ForkRun r = run_fork(sp.plan, true);
  EXPECT_EQ(r.exit_code, 42);
  long clone = index_of(r, SYS_clone);
  ASSERT_GE(clone, 0);
  long load = -1;
  for (std::size_t i = 0; i < r.calls.size(); ++i) {
    if (r.calls[i].first == SYS_seccomp && r.calls[i].second != 0) load = static_cast<long>(i);
  }
  ASSERT_GE(load, 0);
  EXPECT_GT(load, clone);
  std::vector<long> after;
  for (std::size_t i = static_cast<std::size_t>(load) + 1; i < r.calls.size(); ++i)
    after.push_back(r.calls[i].first);
  EXPECT_EQ(after, std::vector<long>({SYS_capset, SYS_execve}));
}

}  // namespace
}  // namespace nyx
