// The hardening level (SPEC §4) over real containers: baseline, full, partial and none, and
// what --enforce (or the enforce annotation) does when a primitive fails.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "tests/integration/harness.hpp"

namespace nyx::test {
namespace {

// A config whose only requested hardening is a seccomp filter (allow all but acct). Run under a
// host that forbids seccomp(2) (nyx-errno-wrap, as a container engine's default profile can), the
// filter cannot be loaded: a protection the host refuses, which best-effort records and runs on.
json seccomp_only_config(const std::vector<std::string>& args) {
  json rule = {{"names", {"acct"}}, {"action", "SCMP_ACT_ERRNO"}};
  json seccomp = {{"defaultAction", "SCMP_ACT_ALLOW"}, {"syscalls", json::array({rule})}};
  json cfg = {{"ociVersion", "1.0.2"},
              {"process", {{"args", args}, {"cwd", "/"}, {"user", {{"uid", 0}, {"gid", 0}}}}},
              {"root", {{"path", "rootfs"}}}};
  cfg["linux"]["seccomp"] = seccomp;
  return cfg;
}

constexpr const char* kNoSeccomp = "seccomp=EPERM";

// runc spec's capabilities: ambient capabilities with an empty inheritable set, which the
// kernel never raises.
json ambient_config(const std::vector<std::string>& args) {
  json caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  return {{"ociVersion", "1.0.2"},
          {"process",
           {{"args", args},
            {"cwd", "/"},
            {"user", {{"uid", 0}, {"gid", 0}}},
            {"capabilities",
             {{"bounding", caps}, {"permitted", caps}, {"effective", caps}, {"ambient", caps}}}}},
          {"root", {{"path", "rootfs"}}}};
}

json report_of(const std::string& report) {
  Result cat = run({"cat", report});
  if (cat.status != 0) return json();
  json st = json::parse(cat.out, nullptr, false);
  return st.is_object() ? st.value("hardening", json()) : json();
}

json hardening_under(const Sandbox& sb, const std::string& deny, const json& cfg, Result* res,
                     const std::vector<std::string>& flags = {}) {
  sb.write_config(cfg);
  std::string report = sb.dir + "/report.json";
  unlink(report.c_str());
  std::vector<std::string> cmd = {"run", "--report", report, "--bundle", sb.bundle};
  cmd.insert(cmd.end(), flags.begin(), flags.end());
  cmd.push_back(sb.id("lvl"));
  *res = sb.nyx_denied(deny, cmd);
  return report_of(report);
}

json hardening_of_run(const Sandbox& sb, const json& cfg, Result* res,
                      const std::vector<std::string>& flags = {}) {
  sb.write_config(cfg);
  std::string report = sb.dir + "/report.json";
  unlink(report.c_str());
  std::vector<std::string> cmd = {"run", "--report", report, "--bundle", sb.bundle};
  cmd.insert(cmd.end(), flags.begin(), flags.end());
  cmd.push_back(sb.id("lvl"));
  *res = sb.nyx(cmd);
  Result cat = run({"cat", report});
  if (cat.status != 0) return json();
  return json::parse(cat.out)["hardening"];
}

TEST(Levels, FullWhenEveryRequestedPrimitiveApplied) {
  Sandbox sb;
  Result res;
  json h = hardening_of_run(sb, runc_like_config({"/bin/nyx-probe", "echo", "x"}), &res);
  ASSERT_EQ(res.status, 0) << res.err;
  EXPECT_EQ(h["level"], "full");
  EXPECT_EQ(h["mode"], "best-effort");
  EXPECT_EQ(h["ablation"], json::array());
  EXPECT_EQ(res.err, "");  // nothing failed: no warning

  h = hardening_of_run(sb, strict_config({"/bin/nyx-probe", "echo", "x"}), &res);
  ASSERT_EQ(res.status, 0) << res.err;
  EXPECT_EQ(h["level"], "full");
  for (auto& [name, p] : h["primitives"].items())
    EXPECT_NE(p["status"], "failed") << name;
}

TEST(Levels, BaselineForTheStandardProfile) {
  Sandbox sb;
  Result res;
  json h = hardening_of_run(
      sb, strict_config({"/bin/nyx-probe", "echo", "x"}, {"--profile", "standard"}), &res);
  ASSERT_EQ(res.status, 0) << res.err;
  EXPECT_EQ(h["level"], "baseline");
  EXPECT_EQ(h["primitives"]["no_new_privs"]["status"], "applied");
  EXPECT_EQ(h["primitives"]["rlimit_as"]["status"], "applied");
  for (const char* p : {"namespaces", "mounts", "capabilities", "seccomp"})
    EXPECT_EQ(h["primitives"][p]["status"], "skipped") << p;
}

TEST(Levels, NoneWhenAllRequestedFailed) {
  Sandbox sb;
  Result res;
  // The session and the keyring are asked for by every container, not by the config: ablated
  // here, so that the one primitive the config requests is all there is to count.
  json h = hardening_under(sb, kNoSeccomp, seccomp_only_config({"/bin/nyx-probe", "echo", "ran"}),
                           &res, {"--ablate", "session,keyring"});
  // Best effort: the failure is a warning and the harness still runs.
  ASSERT_EQ(res.status, 0) << res.err;
  EXPECT_NE(res.out.find("\"ran\""), std::string::npos);
  EXPECT_NE(res.err.find("seccomp"), std::string::npos) << res.err;
  EXPECT_NE(res.err.find("EPERM"), std::string::npos) << res.err;
  EXPECT_EQ(h["level"], "none");
  json sc = h["primitives"]["seccomp"];
  EXPECT_EQ(sc["status"], "failed");
  EXPECT_EQ(sc["errno"], EPERM);
  EXPECT_EQ(sc["error"], "EPERM");
}

TEST(Levels, PartialWhenSomeFailedSomeApplied) {
  Sandbox sb;
  json cfg = seccomp_only_config({"/bin/nyx-probe", "report"});
  cfg["process"]["noNewPrivileges"] = true;
  cfg["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 100}, {"hard", 200}}};
  Result res;
  json h = hardening_under(sb, kNoSeccomp, cfg, &res);
  ASSERT_EQ(res.status, 0) << res.err;
  EXPECT_EQ(h["level"], "partial");
  EXPECT_EQ(h["primitives"]["no_new_privs"]["status"], "applied");
  EXPECT_EQ(h["primitives"]["rlimit_nofile"]["status"], "applied");
  EXPECT_EQ(h["primitives"]["rlimit_nofile"]["value"], 100);
  EXPECT_EQ(h["primitives"]["rlimit_nofile"]["hard"], 200);
  EXPECT_EQ(h["primitives"]["seccomp"]["status"], "failed");
  // What the record says held, held (no /proc here: getrlimit is the witness).
  json in = step(json_lines(res.out), "report");
  EXPECT_EQ(in["limits"]["nofile"]["soft"], 100);
  EXPECT_EQ(in["limits"]["nofile"]["hard"], 200);
}

// runc's default capabilities list ambient capabilities the kernel cannot raise (no
// inheritable set): a grant not given is recorded, not a failure. The level stays full, stderr
// stays quiet and --enforce runs it, as runc does.
TEST(Levels, AmbientCapabilitiesNotRaisedAreRecordedNotFailed) {
  Sandbox sb;
  for (std::vector<std::string> flags : {std::vector<std::string>{}, {"--enforce"}}) {
    sb.write_config(ambient_config({"/bin/nyx-probe", "echo", "ran"}));
    std::string report = sb.dir + "/report.json";
    unlink(report.c_str());
    std::vector<std::string> cmd = {"run", "--report", report, "--bundle", sb.bundle};
    cmd.insert(cmd.end(), flags.begin(), flags.end());
    cmd.push_back(sb.id("amb"));
    Result res = sb.nyx(cmd);
    ASSERT_EQ(res.status, 0) << res.err;
    EXPECT_EQ(res.err, "");
    json h = report_of(report);
    EXPECT_EQ(h["level"], "full");
    json caps = h["primitives"]["capabilities"];
    EXPECT_EQ(caps["status"], "applied");
    EXPECT_EQ(caps["ambientNotRaised"],
              json({"CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"}));
    EXPECT_TRUE(caps.contains("ambientReason"));
  }
}

// `runc spec` (runc 1.1.5, tests/integration/data) with the terminal off: what engines and
// runc's own tests run. It starts at level full, passes --enforce, says nothing on stderr, and
// names the ambient capabilities the kernel does not raise.
TEST(Levels, RuncDefaultConfigRunsFullUnderEnforce) {
  Sandbox sb;
  std::ifstream in(std::string(NYX_SOURCE_DIR) + "/tests/integration/data/runc-1.1.5-spec.json");
  json cfg = json::parse(in);
  cfg["process"]["terminal"] = false;
  cfg["process"]["args"] = {"/bin/nyx-probe", "echo", "ran"};
  cfg["root"]["path"] = "rootfs";
  Result res;
  json h = hardening_of_run(sb, cfg, &res, {"--enforce"});
  ASSERT_EQ(res.status, 0) << res.err;
  EXPECT_EQ(res.err, "");
  EXPECT_NE(res.out.find("\"ran\""), std::string::npos);
  EXPECT_EQ(h["mode"], "enforce");
  EXPECT_EQ(h["level"], "full");
  json caps = h["primitives"]["capabilities"];
  EXPECT_EQ(caps["status"], "applied");
  EXPECT_EQ(caps["ambientNotRaised"],
            json({"CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"}));
}

// --enforce and the annotation turn the same failure into an error naming the primitive and
// errno, and nothing is left behind.
TEST(Levels, EnforceAbortsOnAFailedPrimitive) {
  Sandbox sb;
  json cfg = seccomp_only_config({"/bin/nyx-probe", "echo", "ran"});
  json annotated = cfg;
  annotated["annotations"] = {{"org.nyx.hardening.mode", "enforce"}};
  struct Case {
    json cfg;
    std::vector<std::string> flags;
  };
  for (const auto& c : {Case{cfg, {"--enforce"}}, Case{annotated, {}}}) {
    for (const std::string cmd : {"create", "run"}) {
      sb.write_config(c.cfg);
      std::vector<std::string> argv = {cmd, "--bundle", sb.bundle};
      argv.insert(argv.end(), c.flags.begin(), c.flags.end());
      argv.push_back(sb.id("enf"));
      Result res = sb.nyx_denied(kNoSeccomp, argv);
      SCOPED_TRACE(cmd + (c.flags.empty() ? " annotation" : " --enforce"));
      EXPECT_EQ(res.status, 1);
      EXPECT_EQ(res.out.find("ran"), std::string::npos);
      EXPECT_EQ(std::count(res.err.begin(), res.err.end(), '\n'), 1) << res.err;
      EXPECT_NE(res.err.find("seccomp"), std::string::npos) << res.err;
      EXPECT_NE(res.err.find("EPERM"), std::string::npos) << res.err;
      EXPECT_EQ(run({"ls", "-A", sb.root}).out, "");
      EXPECT_TRUE(mounts_under(shared_rootfs()).empty());
      Result cg = run({"find", "/sys/fs/cgroup", "-maxdepth", "6", "-name", sb.id("enf")});
      EXPECT_EQ(cg.out, "");
    }
  }
  // With nothing failing, enforce changes nothing but the recorded mode.
  Result res;
  json h =
      hardening_of_run(sb, runc_like_config({"/bin/nyx-probe", "echo", "x"}), &res, {"--enforce"});
  ASSERT_EQ(res.status, 0) << res.err;
  EXPECT_EQ(h["mode"], "enforce");
  EXPECT_EQ(h["level"], "full");
}

// exec plans with the container's mode and ablation mask (state hardening.mode and
// .ablation): into an enforced container, a primitive that fails aborts the exec (the
// container's seccomp filter, refused by a host that forbids seccomp(2) to the exec) and the
// harness never runs; into a best-effort one it is a warning and the record in
// hardening.execs says failed. An ablated primitive stays ablated for the exec.
TEST(Levels, ExecKeepsTheContainersModeAndAblation) {
  Sandbox sb;
  for (bool enforce : {true, false}) {
    SCOPED_TRACE(enforce ? "enforce" : "best-effort");
    sb.write_config(seccomp_only_config({"/bin/nyx-probe", "sleep", "5"}));
    std::string id = sb.id(enforce ? "exenf" : "exbe");
    std::vector<std::string> run = {"run",     "--detach", "--bundle",
                                    sb.bundle, "--ablate", "keyring"};
    if (enforce) run.push_back("--enforce");
    run.push_back(id);
    Result d = sb.nyx(run);
    ASSERT_EQ(d.status, 0) << d.err;
    Result e = sb.nyx_denied(kNoSeccomp, {"exec", id, "/bin/nyx-probe", "echo", "ran"});
    json st = sb.state(id);
    sb.nyx({"delete", "--force", id});
    json execs = st["hardening"].value("execs", json::array());
    if (enforce) {
      EXPECT_EQ(e.status, 255) << e.err;
      EXPECT_EQ(e.out.find("ran"), std::string::npos) << e.out;
      EXPECT_NE(e.err.find("hardening failed in enforce mode: seccomp: failed: EPERM"),
                std::string::npos)
          << e.err;
      EXPECT_TRUE(execs.empty()) << execs;
    } else {
      EXPECT_EQ(e.status, 0) << e.err;
      EXPECT_NE(e.out.find("ran"), std::string::npos) << e.out;
      EXPECT_NE(e.err.find("seccomp: failed: EPERM"), std::string::npos) << e.err;
      ASSERT_EQ(execs.size(), 1u) << st["hardening"];
      EXPECT_EQ(execs[0]["mode"], "best-effort");
      EXPECT_EQ(execs[0]["primitives"]["seccomp"]["status"], "failed");
      EXPECT_EQ(execs[0]["ablation"], json({"keyring"}));
      EXPECT_EQ(execs[0]["primitives"]["keyring"]["ablated"], true);
    }
  }
}

}  // namespace
}  // namespace nyx::test
