// The diagnosis of named causes on hosts this machine is not (Debian's and Ubuntu's user
// namespace switches, AppArmor, a kernel without seccomp or with Landlock off): a fake host
// answers the questions runtime/causes.cpp asks. tests/integration/causes_test.cpp produces the
// causes this host can for real.
#include <gtest/gtest.h>
#include <linux/capability.h>

#include <map>

#include "bundle/config.hpp"
#include "runtime/causes.hpp"
#include "runtime/primitives/apparmor.hpp"
#include "runtime/primitives/landlock.hpp"

namespace nyx {
namespace {

class FakeHost : public HostView {
 public:
  std::map<std::string, std::string> files;
  std::uint64_t caps = ~std::uint64_t{0};
  std::uint64_t bounding = ~std::uint64_t{0};
  bool initial = true;
  int abi = 7;
  bool ro_proc_sys = false;
  struct rlimit nofile {
    1024, 1024
  };

  std::optional<std::string> read(const std::string& path) const override {
    auto it = files.find(path);
    return it == files.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
  bool has_cap(int cap) const override { return ((caps >> cap) & 1U) != 0; }
  std::uint64_t bounding_set() const override { return bounding; }
  bool initial_userns() const override { return initial; }
  int landlock_abi() const override { return abi; }
  bool readonly(const std::string& path) const override {
    return path == "/proc/sys" && ro_proc_sys;
  }
  std::optional<struct rlimit> rlimit_of(int) const override { return nofile; }
};

Cause ns_cause(const FakeHost& h, NsType t, int err) {
  return diagnose(Prim::Namespaces, err, static_cast<std::uint16_t>(t), 0, {}, h);
}

TEST(CauseDiagnosis, UserNamespacesDisabledBySysctl) {
  FakeHost h;
  h.files["/proc/sys/user/max_user_namespaces"] = "0";
  EXPECT_EQ(ns_cause(h, NsType::User, ENOSPC).code, "userns_disabled");
}

TEST(CauseDiagnosis, DebiansUnprivilegedUsernsClone) {
  FakeHost h;
  h.files["/proc/sys/kernel/unprivileged_userns_clone"] = "0";
  h.caps = 0;  // an unprivileged runtime
  Cause c = ns_cause(h, NsType::User, EPERM);
  EXPECT_EQ(c.code, "userns_unprivileged_disabled");
  EXPECT_NE(c.message.find("kernel.unprivileged_userns_clone is 0"), std::string::npos);
  // Root is not affected by the switch.
  h.caps = ~std::uint64_t{0};
  EXPECT_NE(ns_cause(h, NsType::User, EPERM).code, "userns_unprivileged_disabled");
}

TEST(CauseDiagnosis, UbuntusAppArmorRestriction) {
  FakeHost h;
  h.files["/proc/sys/kernel/apparmor_restrict_unprivileged_userns"] = "1";
  h.caps = 0;
  Cause c = ns_cause(h, NsType::User, EACCES);
  EXPECT_EQ(c.code, "userns_apparmor");
  EXPECT_NE(c.message.find("AppArmor"), std::string::npos);
}

TEST(CauseDiagnosis, NoCapSysAdminInANestedContainer) {
  FakeHost h;
  h.caps = 0;
  h.bounding = ~(std::uint64_t{1} << CAP_SYS_ADMIN);
  h.initial = false;
  Cause c = ns_cause(h, NsType::Pid, EPERM);
  EXPECT_EQ(c.code, "no_cap_sys_admin");
  EXPECT_NE(c.message.find("inside a container"), std::string::npos);
}

TEST(CauseDiagnosis, RuntimeUnderAnEnginesSeccompProfile) {
  FakeHost h;
  h.files["/proc/self/status"] = "Name:\tnyx\nSeccomp:\t2\nSeccomp_filters:\t1";
  EXPECT_EQ(ns_cause(h, NsType::User, EPERM).code, "runtime_seccomp");
}

TEST(CauseDiagnosis, SeccompMissingFromTheKernel) {
  FakeHost h;
  h.files["/proc/self/status"] = "Name:\tnyx\nNoNewPrivs:\t0";
  EXPECT_EQ(diagnose(Prim::Seccomp, EINVAL, 0, 0, {}, h).code, "seccomp_unsupported");
  // The kernel has seccomp, the runtime's own filter hides it.
  h.files["/proc/self/status"] = "Name:\tnyx\nSeccomp:\t2\nSeccomp_filters:\t1";
  EXPECT_EQ(diagnose(Prim::Seccomp, EINVAL, 0, 0, {}, h).code, "seccomp_unsupported");
  // It has seccomp and takes filters from the runtime: EINVAL is about the filter.
  h.files["/proc/self/status"] = "Name:\tnyx\nSeccomp:\t0";
  EXPECT_EQ(diagnose(Prim::Seccomp, EINVAL, 0, 0, {}, h).code, "seccomp_flag_unsupported");
  EXPECT_EQ(diagnose(Prim::Seccomp, EACCES, 0, 0, {}, h).code, "no_new_privs_or_sys_admin");
}

TEST(CauseDiagnosis, LandlockMissingOrOff) {
  FakeHost h;
  h.abi = -ENOSYS;
  EXPECT_EQ(diagnose(Prim::Landlock, ENOSYS, kLandlockCreate, 0, {}, h).code,
            "landlock_unsupported");
  h.abi = -EOPNOTSUPP;
  Cause c = diagnose(Prim::Landlock, EOPNOTSUPP, kLandlockCreate, 0, {}, h);
  EXPECT_EQ(c.code, "landlock_disabled");
  EXPECT_NE(c.message.find("lsm="), std::string::npos);
  h.abi = 3;
  EXPECT_EQ(diagnose(Prim::Landlock, EOPNOTSUPP, kLandlockAbi, 0, {}, h).code, "landlock_abi");
}

TEST(CauseDiagnosis, CgroupControllerNotEnabledOrNotDelegated) {
  FakeHost h;
  h.files["/sys/fs/cgroup/cgroup.controllers"] = "cpu pids";
  EXPECT_EQ(diagnose(Prim::Cgroups, ENOENT, 0, 0, "memory.max", h).code,
            "cgroup_controller_unavailable");
  h.files["/sys/fs/cgroup/cgroup.controllers"] = "cpu memory pids";
  h.files["/sys/fs/cgroup/user.slice/cgroup.controllers"] = "cpu pids";
  EXPECT_EQ(cgroup_controller_blocker(h, "memory", "/sys/fs/cgroup/user.slice")->code,
            "cgroup_controller_not_delegated");
  EXPECT_EQ(diagnose(Prim::Cgroups, EACCES, 0, 0, "memory.max", h).code, "cgroup_not_delegated");
  EXPECT_EQ(diagnose(Prim::Cgroups, EROFS, 0, 0, "memory.max", h).code, "cgroup_readonly");
  h.files["/proc/cgroups"] = "#subsys_name\thierarchy\tnum_cgroups\tenabled\nmemory\t0\t1\t0";
  EXPECT_EQ(cgroup_controller_blocker(h, "memory")->code, "cgroup_controller_disabled");
}

TEST(CauseDiagnosis, ReadOnlyProcSys) {
  FakeHost h;
  EXPECT_EQ(diagnose(Prim::Sysctl, EROFS, 0, 0, {}, h).code, "proc_sys_readonly");
}

TEST(CauseDiagnosis, MissingAppArmorProfile) {
  FakeHost h;
  EXPECT_EQ(apparmor_blocker(h, "nyx")->code, "apparmor_unavailable");
  h.files["/sys/module/apparmor/parameters/enabled"] = "Y";
  h.files["/sys/kernel/security/apparmor/profiles"] = "docker-default (enforce)\nunconfined";
  Cause c = *apparmor_blocker(h, "nyx-harness");
  EXPECT_EQ(c.code, "apparmor_profile_missing");
  EXPECT_NE(c.message.find("nyx-harness"), std::string::npos);
  EXPECT_FALSE(apparmor_blocker(h, "docker-default").has_value());
}

// The apparmor row's parent half (runtime/primitives/apparmor.cpp) on hosts this one is not.
FakeHost apparmor_host() {
  FakeHost h;
  h.files["/sys/module/apparmor/parameters/enabled"] = "Y";
  h.files["/sys/kernel/security/apparmor/profiles"] =
      "containers-default-0.50.1 (enforce)\nnyx-test (complain)\n/usr/bin/man (enforce)";
  return h;
}

TEST(AppArmorPlan, ALoadedProfileIsWritten) {
  FakeHost h = apparmor_host();
  EXPECT_TRUE(host_has_apparmor(h));
  for (const char* p : {"containers-default-0.50.1", "nyx-test", "/usr/bin/man"}) {
    AppArmorDecision d = decide_apparmor(p, h);
    EXPECT_EQ(d.action, AppArmorAction::Write) << p;
    EXPECT_FALSE(d.cause.has_value()) << p;
  }
  // Not in the list, and always there.
  EXPECT_EQ(decide_apparmor("unconfined", h).action, AppArmorAction::Write);
}

TEST(AppArmorPlan, AProfileNotLoadedIsMissingWithItsCause) {
  FakeHost h = apparmor_host();
  // A prefix of a loaded name is not that name.
  for (const char* p : {"nyx-harness", "containers-default", "nyx-tes"}) {
    AppArmorDecision d = decide_apparmor(p, h);
    EXPECT_EQ(d.action, AppArmorAction::Missing) << p;
    ASSERT_TRUE(d.cause.has_value()) << p;
    EXPECT_EQ(d.cause->code, "apparmor_profile_missing");
    EXPECT_NE(d.cause->message.find(p), std::string::npos) << d.cause->message;
  }
}

TEST(AppArmorPlan, AHostWithoutAppArmorSkipsWithItsCause) {
  FakeHost none;  // no module at all
  FakeHost off = apparmor_host();
  off.files["/sys/module/apparmor/parameters/enabled"] = "N";  // apparmor=0
  for (const FakeHost* h : {&none, &off}) {
    EXPECT_FALSE(host_has_apparmor(*h));
    AppArmorDecision d = decide_apparmor("nyx-test", *h);
    EXPECT_EQ(d.action, AppArmorAction::Skip);
    ASSERT_TRUE(d.cause.has_value());
    EXPECT_EQ(d.cause->code, "apparmor_unavailable");
  }
}

// A runtime that may not read the profile list (securityfs not mounted) still asks the
// kernel, which answers ENOENT for a profile that is not loaded.
TEST(AppArmorPlan, AnUnreadableProfileListLeavesItToTheKernel) {
  FakeHost h = apparmor_host();
  h.files.erase("/sys/kernel/security/apparmor/profiles");
  EXPECT_EQ(decide_apparmor("nyx-test", h).action, AppArmorAction::Write);
  EXPECT_EQ(decide_apparmor("anything", h).action, AppArmorAction::Write);
}

TEST(CauseDiagnosis, AppArmorWriteFailures) {
  FakeHost h = apparmor_host();
  PrimOutcome planned;
  planned.detail = {{"profile", "nyx-gone"}};
  Cause c = diagnose(Failure{Prim::Apparmor, ENOENT, 0, 0, {}, planned}, h);
  EXPECT_EQ(c.code, "apparmor_profile_missing");
  EXPECT_NE(c.message.find("nyx-gone"), std::string::npos) << c.message;
  h.files["/proc/self/attr/apparmor/current"] = "nyx-runner (enforce)";
  c = diagnose(Failure{Prim::Apparmor, EACCES, 0, 0, {}, planned}, h);
  EXPECT_EQ(c.code, "apparmor_runtime_confined");
  EXPECT_NE(c.message.find("nyx-runner"), std::string::npos) << c.message;
  h.files["/proc/self/attr/apparmor/current"] = "unconfined";
  EXPECT_EQ(diagnose(Failure{Prim::Apparmor, EACCES, 0, 0, {}, planned}, h).code, "unexplained");
  // Under --enforce on a host without AppArmor the entry fails with EOPNOTSUPP.
  FakeHost none;
  EXPECT_EQ(diagnose(Failure{Prim::Apparmor, EOPNOTSUPP, 0, 0, {}, planned}, none).code,
            "apparmor_unavailable");
}

TEST(CauseDiagnosis, RlimitAboveTheHardLimit) {
  FakeHost h;
  h.caps = ~(std::uint64_t{1} << CAP_SYS_RESOURCE);
  PrimOutcome planned;
  planned.detail = {{"value", 4096}};
  Cause c = diagnose(Failure{Prim::RlimitNofile, EPERM, 0, RLIMIT_NOFILE, {}, planned}, h);
  EXPECT_EQ(c.code, "rlimit_above_hard");
  EXPECT_NE(c.message.find("1024"), std::string::npos);
  h.files["/proc/sys/fs/nr_open"] = "2048";
  EXPECT_EQ(rlimit_blocker(h, RLIMIT_NOFILE, 4096, 4096)->code, "rlimit_above_nr_open");
  EXPECT_EQ(rlimit_blocker(h, RLIMIT_CPU, 10, 5)->code, "rlimit_soft_above_hard");
}

TEST(CauseDiagnosis, UnexplainedFailuresStillCarryACause) {
  FakeHost h;
  Cause c = diagnose(Prim::Root, EBUSY, 0, 0, {}, h);
  EXPECT_EQ(c.code, "unexplained");
  EXPECT_NE(c.message.find("EBUSY"), std::string::npos);
}

// The record: merge_outcome attaches the cause of the first failure, and the JSON carries it.
TEST(CauseDiagnosis, MergeAttachesTheCauseOfTheFirstFailure) {
  FakeHost h;
  h.files["/proc/sys/user/max_user_namespaces"] = "0";
  Outcome planned;
  planned[Prim::Namespaces].requested = true;
  StepEntry e{Prim::Namespaces, PrimStatus::Failed, static_cast<std::uint16_t>(NsType::User),
              ENOSPC, 0};
  Outcome o =
      merge_outcome(planned, {}, {&e, 1}, [&h](const Failure& f) { return diagnose(f, h); });
  nlohmann::json rec = primitives_json(o)["namespaces"];
  EXPECT_EQ(rec["cause"]["code"], "userns_disabled");
  EXPECT_EQ(failure_line(Prim::Namespaces, o[Prim::Namespaces]).find("[userns_disabled: "),
            std::string("namespaces: failed: ENOSPC (No space left on device) ").size());
}

}  // namespace
}  // namespace nyx
