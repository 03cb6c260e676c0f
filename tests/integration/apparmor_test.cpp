// process.apparmorProfile on real containers (runtime/primitives/apparmor.cpp). On a host
// without AppArmor (this CI machine): skipped with its cause and one warning line in
// best-effort mode, refused under --enforce, inherited by exec, and `features` says false. A
// host with AppArmor (the Debian VM, tests/vm/tests.d/apparmor.sh loads a profile there) runs
// the tests that need one; the planning logic for both hosts is in tests/unit/causes_test.cpp.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "tests/integration/harness.hpp"

namespace nyx::test {
namespace {

constexpr const char* kProfile = "nyx-test-profile";

bool host_has_apparmor() {
  std::ifstream in("/sys/module/apparmor/parameters/enabled");
  std::string v;
  return (in >> v) && v == "Y";
}

json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) return json();
  json j = json::parse(in, nullptr, false);
  remember_state(j);
  return j;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

// `run --report` of `cfg`; the report's hardening object.
json run_report(const Sandbox& sb, const json& cfg, const std::vector<std::string>& flags,
                Result* res) {
  sb.write_config(cfg);
  std::string report = sb.dir + "/aa-report.json";
  ::unlink(report.c_str());
  std::vector<std::string> args = {"run", "--report", report};
  args.insert(args.end(), flags.begin(), flags.end());
  args.insert(args.end(), {"--bundle", sb.bundle, sb.id("aa")});
  *res = sb.nyx(args);
  json r = read_json(report);
  return r.is_object() ? r.value("hardening", json()) : json();
}

TEST(AppArmor, SkippedWithItsCauseAndOneWarningWithoutAppArmor) {
  if (host_has_apparmor()) GTEST_SKIP() << "this host has AppArmor (tests.d/apparmor.sh)";
  Sandbox sb;
  json cfg = strict_config({"/bin/true"});
  cfg["process"]["apparmorProfile"] = kProfile;
  Result r;
  json h = run_report(sb, cfg, {}, &r);
  ASSERT_EQ(r.status, 0) << r.err;
  json e = h["primitives"]["apparmor"];
  EXPECT_EQ(e["status"], "skipped") << e;
  EXPECT_EQ(e["profile"], kProfile) << e;
  EXPECT_EQ(e["reason"], "AppArmor is not enabled on this host") << e;
  EXPECT_EQ(e["cause"]["code"], "apparmor_unavailable") << e;
  EXPECT_FALSE(e.contains("errno")) << e;
  // Skipped for want of AppArmor: the level is what the rest made it.
  EXPECT_EQ(h["level"], "full") << h;
  std::vector<std::string> warnings;
  for (const auto& l : lines_of(r.err))
    if (l.find("apparmor") != std::string::npos || l.find("AppArmor") != std::string::npos)
      warnings.push_back(l);
  ASSERT_EQ(warnings.size(), 1u) << r.err;
  EXPECT_NE(warnings[0].find("process.apparmorProfile \"nyx-test-profile\": not applied: AppArmor "
                             "is not enabled on this host"),
            std::string::npos)
      << warnings[0];
}

// A skipped profile neither lowers the level nor raises it: the standard profile stays baseline.
TEST(AppArmor, ASkippedProfileDoesNotRaiseTheBaselineLevel) {
  if (host_has_apparmor()) GTEST_SKIP() << "this host has AppArmor";
  Sandbox sb;
  json cfg = strict_config({"/bin/true"}, {"--profile", "standard"});
  Result r;
  json h = run_report(sb, cfg, {}, &r);
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(h["level"], "baseline") << h;
  cfg["process"]["apparmorProfile"] = kProfile;
  h = run_report(sb, cfg, {}, &r);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(h["primitives"]["apparmor"]["status"], "skipped") << h;
  EXPECT_EQ(h["level"], "baseline") << h;
}

TEST(AppArmor, EnforceRefusesWithoutAppArmor) {
  if (host_has_apparmor()) GTEST_SKIP() << "this host has AppArmor";
  Sandbox sb;
  json cfg = strict_config({"/bin/true"});
  cfg["process"]["apparmorProfile"] = kProfile;
  sb.write_config(cfg);
  std::string id = sb.id("aa-enf");
  Result r = sb.nyx({"run", "--enforce", "--bundle", sb.bundle, id});
  EXPECT_EQ(r.status, 1) << r.err;
  std::vector<std::string> lines = lines_of(r.err);
  ASSERT_EQ(lines.size(), 1u) << r.err;
  EXPECT_NE(lines[0].find("hardening failed in enforce mode: apparmor: failed: EOPNOTSUPP"),
            std::string::npos)
      << lines[0];
  EXPECT_NE(lines[0].find("apparmor_unavailable"), std::string::npos) << lines[0];
  EXPECT_TRUE(dir_entries(sb.root).empty()) << "left behind in " << sb.root;
  // The annotation is --enforce too.
  cfg["annotations"]["org.nyx.hardening.mode"] = "enforce";
  sb.write_config(cfg);
  r = sb.nyx({"run", "--bundle", sb.bundle, sb.id("aa-ann")});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("apparmor: failed: EOPNOTSUPP"), std::string::npos) << r.err;
}

// --ablate apparmor: marked ablated, and no warning: nothing was asked of the host.
TEST(AppArmor, AblatedIsRecordedWithoutAWarning) {
  Sandbox sb;
  json cfg = strict_config({"/bin/true"});
  cfg["process"]["apparmorProfile"] = kProfile;
  Result r;
  json h = run_report(sb, cfg, {"--ablate", "apparmor"}, &r);
  ASSERT_EQ(r.status, 0) << r.err;
  json e = h["primitives"]["apparmor"];
  EXPECT_EQ(e["status"], "skipped") << e;
  EXPECT_EQ(e["ablated"], true) << e;
  EXPECT_EQ(e["profile"], kProfile) << e;
  EXPECT_FALSE(e.contains("cause")) << e;
  EXPECT_EQ(r.err.find("apparmor"), std::string::npos) << r.err;
  EXPECT_EQ(h["ablation"], json({"apparmor"})) << h;
}

// Without a profile in the config the entry is not listed at all.
TEST(AppArmor, NotListedWhenNotAskedFor) {
  Sandbox sb;
  Result r;
  json h = run_report(sb, strict_config({"/bin/true"}), {}, &r);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_FALSE(h["primitives"].contains("apparmor")) << h;
}

// An exec'd process keeps the container's profile (the stored config's), from the command line
// and from --process without one; --apparmor or the file's own replace it.
TEST(AppArmor, ExecInheritsTheContainersProfile) {
  Sandbox sb;
  json cfg = strict_config({"/bin/nyx-probe", "sleep", "30"});
  cfg["process"]["apparmorProfile"] = host_has_apparmor() ? "unconfined" : kProfile;
  std::string want = cfg["process"]["apparmorProfile"];
  sb.write_config(cfg);
  std::string id = sb.id("aa-exec");
  Result r = sb.nyx({"run", "--detach", "--bundle", sb.bundle, id});
  ASSERT_EQ(r.status, 0) << r.err;
  std::string file = sb.dir + "/process.json";
  json proc = cfg["process"];
  proc.erase("apparmorProfile");
  proc["args"] = {"/bin/true"};
  std::ofstream(file) << proc.dump();
  json named = proc;
  named["apparmorProfile"] = "nyx-from-file";
  std::string named_file = sb.dir + "/named.json";
  std::ofstream(named_file) << named.dump();

  struct Case {
    std::vector<std::string> args;
    std::string profile;
  };
  const Case cases[] = {
      {{"exec", id, "/bin/true"}, want},
      {{"exec", "--process", file, id}, want},
      {{"exec", "--apparmor", "nyx-other", id, "/bin/true"}, "nyx-other"},
      {{"exec", "--process", named_file, id}, "nyx-from-file"},
      {{"exec", "--apparmor", "nyx-other", "--process", named_file, id}, "nyx-other"},
  };
  std::size_t n = 0;
  for (const Case& c : cases) {
    r = sb.nyx(c.args);
    json st = sb.state(id);
    json execs = st["hardening"].value("execs", json::array());
    ASSERT_EQ(execs.size(), ++n) << r.err << st["hardening"];
    json e = execs.back()["primitives"]["apparmor"];
    EXPECT_EQ(e["profile"], c.profile) << c.args[1] << " " << e;
    if (!host_has_apparmor()) {
      EXPECT_EQ(r.status, 0) << r.err;
      EXPECT_EQ(e["status"], "skipped") << e;
      EXPECT_EQ(e["cause"]["code"], "apparmor_unavailable") << e;
    }
  }
  sb.nyx({"delete", "--force", id});
}

TEST(AppArmor, FeaturesTellTheTruth) {
  Sandbox sb;
  Result r = sb.nyx({"features"});
  ASSERT_EQ(r.status, 0) << r.err;
  json f = json::parse(r.out);
  EXPECT_EQ(f["linux"]["apparmor"]["enabled"], host_has_apparmor()) << f["linux"];
  // The primitive is listed among those nyx records and ablates.
  std::string prims = f["annotations"]["org.nyx.hardening.primitives"];
  EXPECT_NE(prims.find("apparmor"), std::string::npos) << prims;
}

// On a host with AppArmor: a profile that is not loaded fails with ENOENT and its cause, a
// warning in best-effort mode and a refusal under --enforce.
TEST(AppArmor, AProfileNotLoadedFailsWithItsCause) {
  if (!host_has_apparmor()) GTEST_SKIP() << "this host has no AppArmor";
  Sandbox sb;
  json cfg = strict_config({"/bin/true"});
  cfg["process"]["apparmorProfile"] = "nyx-never-loaded";
  Result r;
  json h = run_report(sb, cfg, {}, &r);
  ASSERT_EQ(r.status, 0) << r.err;
  json e = h["primitives"]["apparmor"];
  EXPECT_EQ(e["status"], "failed") << e;
  EXPECT_EQ(e["error"], "ENOENT") << e;
  EXPECT_EQ(e["cause"]["code"], "apparmor_profile_missing") << e;
  EXPECT_EQ(h["level"], "partial") << h;
  EXPECT_NE(r.err.find("apparmor: failed: ENOENT"), std::string::npos) << r.err;
  r = sb.nyx({"run", "--enforce", "--bundle", sb.bundle, sb.id("aa-missing")});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("apparmor_profile_missing"), std::string::npos) << r.err;
}

// On a host with AppArmor: "unconfined" is applied (docker's apparmor=unconfined), and the
// harness sees it as its label.
TEST(AppArmor, UnconfinedIsApplied) {
  if (!host_has_apparmor()) GTEST_SKIP() << "this host has no AppArmor";
  Sandbox sb;
  json cfg = strict_config({"/bin/cat", "/proc/self/attr/current"});
  cfg["process"]["apparmorProfile"] = "unconfined";
  Result r;
  json h = run_report(sb, cfg, {}, &r);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(h["primitives"]["apparmor"]["status"], "applied") << h;
  EXPECT_EQ(r.out, "unconfined\n");
}

}  // namespace
}  // namespace nyx::test
