// Malformed and hostile input (SPEC §6): one error line naming the JSON path and the cause,
// exit status 1, and nothing left behind: no state directory, mount, cgroup or process.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <optional>

#include "tests/integration/harness.hpp"

namespace nyx::test {
namespace {

// Entries of `dir` (none when it does not exist).
// Runs `nyx create` (and `run`) on the bundle as it is and checks the failure.
void expect_rejected(const Sandbox& sb, const std::string& what,
                     const std::vector<std::string>& needles,
                     const std::optional<std::string>& id = std::nullopt) {
  std::string cid = id ? *id : sb.id("bad");
  for (const std::string cmd : {"create", "run"}) {
    Result r = sb.nyx({cmd, "--bundle", sb.bundle, cid});
    SCOPED_TRACE(what + " (" + cmd + ")");
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.rfind("nyx-runtime: ", 0), 0u) << r.err;
    for (const auto& n : needles)
      EXPECT_NE(r.err.find(n), std::string::npos) << "missing \"" << n << "\" in: " << r.err;
    EXPECT_TRUE(dir_entries(sb.root).empty()) << "left behind in --root";
    EXPECT_TRUE(mounts_under(sb.dir).empty());
    EXPECT_TRUE(mounts_under(shared_rootfs()).empty());
    if (!cid.empty() && cid.find('/') == std::string::npos && cid != "..") {
      Result cg = run({"find", "/sys/fs/cgroup", "-maxdepth", "6", "-type", "d", "-name", cid});
      EXPECT_EQ(cg.out, "") << "cgroup left behind";
    }
  }
}

void expect_config_rejected(const Sandbox& sb, const std::string& what,
                            const std::function<void(json&)>& mutate,
                            const std::vector<std::string>& needles) {
  json cfg = runc_like_config({"/bin/nyx-probe", "echo", "never"});
  mutate(cfg);
  sb.write_config(cfg);
  expect_rejected(sb, what, needles);
}

json seccomp_with_arg(json arg) {
  return {{"defaultAction", "SCMP_ACT_ALLOW"},
          {"syscalls", {{{"names", {"getppid"}}, {"action", "SCMP_ACT_ERRNO"}, {"args", {arg}}}}}};
}

TEST(BadInput, SeccompAndCapabilityNames) {
  Sandbox sb;
  expect_config_rejected(sb, "unknown action",
                         [](json& c) {
                           c["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_FOO"}};
                         },
                         {"linux.seccomp.defaultAction", "SCMP_ACT_FOO"});
  expect_config_rejected(sb, "unknown rule action",
                         [](json& c) {
                           c["linux"]["seccomp"] = {
                               {"defaultAction", "SCMP_ACT_ALLOW"},
                               {"syscalls",
                                {{{"names", {"read"}}, {"action", "SCMP_ACT_ERRNO"}},
                                 {{"names", {"write"}}, {"action", "SCMP_ACT_BLOCK"}}}}};
                         },
                         {"linux.seccomp.syscalls[1].action", "SCMP_ACT_BLOCK"});
  expect_config_rejected(sb, "unknown arch",
                         [](json& c) {
                           c["linux"]["seccomp"] = {
                               {"defaultAction", "SCMP_ACT_ALLOW"},
                               {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_PDP11"}}};
                         },
                         {"linux.seccomp.architectures[1]", "SCMP_ARCH_PDP11"});
  expect_config_rejected(sb, "bad op",
                         [](json& c) {
                           c["linux"]["seccomp"] = seccomp_with_arg(
                               {{"index", 0}, {"value", 1}, {"op", "SCMP_CMP_ALMOST"}});
                         },
                         {"linux.seccomp.syscalls[0].args[0].op", "SCMP_CMP_ALMOST"});
  expect_config_rejected(sb, "arg index 6",
                         [](json& c) {
                           c["linux"]["seccomp"] = seccomp_with_arg(
                               {{"index", 6}, {"value", 1}, {"op", "SCMP_CMP_EQ"}});
                         },
                         {"linux.seccomp.syscalls[0].args[0].index"});
  expect_config_rejected(
      sb, "errnoRet on ALLOW",
      [](json& c) {
        c["linux"]["seccomp"] = {
            {"defaultAction", "SCMP_ACT_ERRNO"},
            {"syscalls", {{{"names", {"read"}}, {"action", "SCMP_ACT_ALLOW"}, {"errnoRet", 1}}}}};
      },
      {"linux.seccomp.syscalls[0].errnoRet"});
  // SCMP_ACT_NOTIFY is supported for rules (seccomp_test.cpp), never as the default action.
  expect_config_rejected(
      sb, "notify",
      [](json& c) {
        c["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_NOTIFY"}};
      },
      {"linux.seccomp.defaultAction", "SCMP_ACT_NOTIFY cannot be the default action"});
  for (const char* set : {"bounding", "effective", "permitted", "inheritable", "ambient"}) {
    expect_config_rejected(sb, std::string("unknown capability in ") + set,
                           [&](json& c) {
                             c["process"]["capabilities"][set] = {"CAP_KILL", "CAP_FLY"};
                           },
                           {std::string("process.capabilities.") + set + "[1]", "CAP_FLY"});
  }
}

TEST(BadInput, TypesNamesAndIds) {
  Sandbox sb;
  expect_config_rejected(sb, "args type", [](json& c) { c["process"]["args"] = "echo"; },
                         {"process.args", "expected array of strings"});
  expect_config_rejected(sb, "args element type",
                         [](json& c) {
                           c["process"]["args"] = {"/bin/true", 3};
                         },
                         {"process.args"});
  expect_config_rejected(sb, "missing args", [](json& c) { c["process"].erase("args"); },
                         {"process.args"});
  expect_config_rejected(sb, "negative uid", [](json& c) { c["process"]["user"]["uid"] = -1; },
                         {"process.user.uid"});
  expect_config_rejected(sb, "unknown namespace",
                         [](json& c) {
                           c["linux"]["namespaces"].push_back({{"type", "time-travel"}});
                         },
                         {"linux.namespaces[5].type", "time-travel"});
  expect_config_rejected(
      sb, "unknown rlimit",
      [](json& c) {
        c["process"]["rlimits"].push_back({{"type", "RLIMIT_FOO"}, {"soft", 1}, {"hard", 1}});
      },
      {"process.rlimits[1].type", "RLIMIT_FOO"});
  expect_config_rejected(sb, "missing rootfs",
                         [](json& c) { c["root"]["path"] = "/nonexistent/nyx-rootfs"; },
                         {"root.path", "/nonexistent/nyx-rootfs"});
  // runtime-spec fields nyx does not apply are refused, never silently dropped.
  expect_config_rejected(sb, "execCPUAffinity",
                         [](json& c) {
                           c["process"]["execCPUAffinity"] = {{"initial", "0"}};
                         },
                         {"process.execCPUAffinity", "not supported by nyx-runtime"});
  expect_config_rejected(sb, "intelRdt",
                         [](json& c) {
                           c["linux"]["intelRdt"] = {{"closID", "guaranteed"}};
                         },
                         {"linux.intelRdt", "not supported by nyx-runtime"});
  expect_config_rejected(sb, "timeOffsets",
                         [](json& c) {
                           c["linux"]["timeOffsets"] = {{"monotonic", {{"secs", 1}}}};
                         },
                         {"linux.timeOffsets", "not supported by nyx-runtime"});

  sb.write_config(runc_like_config({"/bin/nyx-probe", "echo", "never"}));
  expect_rejected(sb, "id with /", {"a/b", "/"}, "a/b");
  expect_rejected(sb, "id ..", {"\"..\""}, "..");
  expect_rejected(sb, "id with control character", {"container id"}, "a\tb");
  expect_rejected(sb, "empty id", {"container"}, std::string());
}

TEST(BadInput, JsonSyntaxDuplicatesAndSize) {
  Sandbox sb;
  auto write_raw = [&](const std::string& text) {
    std::ofstream(sb.bundle + "/config.json") << text;
  };
  write_raw(
      "{\"ociVersion\": \"1.0.2\",\n \"process\": {\"args\": [\"/bin/true\"] \"cwd\": \"/\"}}");
  expect_rejected(sb, "syntax error", {"line 2, column"});
  write_raw("{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"" + shared_rootfs() +
            "\"},\n \"process\": {\"args\": [\"/bin/true\"], \"cwd\": \"/\", \"cwd\": \"/tmp\"}}");
  expect_rejected(sb, "duplicate key", {"process", "duplicate key \"cwd\""});
  write_raw("[1, 2]");
  expect_rejected(sb, "not an object", {"config", "expected object"});
  std::ofstream(sb.bundle + "/config.json")
      << "{\"ociVersion\": \"1.0.2\", \"annotations\": {\"a\": \"" << std::string(20u << 20, 'x')
      << "\"}}";
  expect_rejected(sb, "absurd size", {"config.json", "limit"});
  unlink((sb.bundle + "/config.json").c_str());
  expect_rejected(sb, "no config", {"config.json"});
}

TEST(BadInput, HostileMountDestinations) {
  Sandbox sb;
  expect_config_rejected(sb, "relative destination",
                         [](json& c) {
                           c["mounts"].push_back({{"destination", "tmp"}, {"type", "tmpfs"}});
                         },
                         {"mounts[5].destination", "absolute"});
  expect_config_rejected(
      sb, "dotdot destination",
      [](json& c) {
        c["mounts"].push_back({{"destination", "/tmp/../../etc"}, {"type", "tmpfs"}});
      },
      {"mounts[5].destination", ".."});

  // A rootfs whose symlinks point out of it: a relative one climbing above its root is refused;
  // an absolute one resolves inside the rootfs, as in a chroot, never on the host.
  std::string rootfs = sb.dir + "/rootfs", host = sb.dir + "/host-target";
  for (const auto& d : {rootfs, rootfs + "/bin", rootfs + "/proc", rootfs + "/dev", host})
    mkdir(d.c_str(), 0755);
  ASSERT_EQ(run({"cp", probe_bin(), rootfs + "/bin/nyx-probe"}).status, 0);
  ASSERT_EQ(symlink("../../../../../../..", (rootfs + "/up").c_str()), 0);
  ASSERT_EQ(symlink(host.c_str(), (rootfs + "/abs").c_str()), 0);
  auto cfg_with = [&](const std::string& dest) {
    json c = runc_like_config({"/bin/nyx-probe", "report"});
    c["root"]["path"] = rootfs;
    c["mounts"] = {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
                   {{"destination", dest}, {"type", "tmpfs"}, {"source", "tmpfs"}}};
    c["linux"].erase("maskedPaths");
    c["linux"].erase("readonlyPaths");
    return c;
  };
  sb.write_config(cfg_with("/up" + host));
  expect_rejected(sb, "symlink above the root", {"mounts[1].destination", "symlink"});

  // The mount lands at rootfs/<host>/sub, made inside the rootfs as runc does, and the
  // harness sees it there.
  sb.write_config(cfg_with("/abs/sub"));
  Result r = sb.nyx({"run", "--bundle", sb.bundle, sb.id("abs")});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");  // no failed primitive
  json in = step(json_lines(r.out), "report");
  EXPECT_NE(std::find(in["mounts"].begin(), in["mounts"].end(), json(host + "/sub")),
            in["mounts"].end())
      << in["mounts"];
  EXPECT_TRUE(path_exists(rootfs + host + "/sub"));
  // The same in a user namespace, where the runtime makes the mount points itself.
  json strict = strict_config({"/bin/nyx-probe", "report"});
  strict["root"]["path"] = rootfs;
  strict["mounts"].push_back({{"destination", "/abs/sub2"}, {"type", "tmpfs"}, {"source", "t"}});
  sb.write_config(strict);
  r = sb.nyx({"run", "--bundle", sb.bundle, sb.id("abs2")});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  in = step(json_lines(r.out), "report");
  EXPECT_NE(std::find(in["mounts"].begin(), in["mounts"].end(), json(host + "/sub2")),
            in["mounts"].end())
      << in["mounts"];
  EXPECT_TRUE(dir_entries(host).empty()) << "created on the host through the symlink";
  EXPECT_TRUE(mounts_under(host).empty());
  EXPECT_TRUE(dir_entries(sb.root).empty());
}

// What the container is, the host cannot change: a namespace path of the wrong type, and a
// capability the runtime does not hold (here: CAP_SYS_RESOURCE dropped from its bounding set
// by setpriv), fail create in best-effort mode as in enforce mode, with one line naming the
// field and the cause, and leave nothing behind.
void expect_refused_in_both_modes(Sandbox& sb, const json& cfg,
                                  const std::vector<std::string>& wrapper,
                                  const std::string& says) {
  sb.write_config(cfg);
  for (std::vector<std::string> flags : {std::vector<std::string>{}, {"--enforce"}}) {
    for (const std::string cmd : {"create", "run"}) {
      SCOPED_TRACE(cmd + (flags.empty() ? " best-effort" : " --enforce"));
      std::vector<std::string> argv = wrapper;
      for (auto& a : sb.nyx_argv({cmd, "--bundle", sb.bundle}))
        argv.push_back(a);
      argv.insert(argv.end(), flags.begin(), flags.end());
      argv.push_back(sb.id("refuse"));
      Result res = run(argv);
      EXPECT_EQ(res.status, 1) << res.out << res.err;
      EXPECT_EQ(res.out.find("ran"), std::string::npos);
      EXPECT_EQ(std::count(res.err.begin(), res.err.end(), '\n'), 1) << res.err;
      EXPECT_NE(res.err.find(says), std::string::npos) << res.err;
      EXPECT_EQ(run({"ls", "-A", sb.root}).out, "");
    }
  }
}

TEST(BadInput, NamespacePathOfTheWrongTypeFailsCreateInEveryMode) {
  Sandbox sb;
  json cfg = runc_like_config({"/bin/nyx-probe", "echo", "ran"});
  for (auto& ns : cfg["linux"]["namespaces"]) {
    if (ns["type"] == "network") ns["path"] = "/proc/self/ns/pid";
  }
  expect_refused_in_both_modes(sb, cfg, {}, "linux.namespaces[");
  expect_refused_in_both_modes(sb, cfg, {}, "\"/proc/self/ns/pid\" is not a network namespace");
}

TEST(BadInput, CapabilityTheHostCannotGrantFailsCreateInEveryMode) {
  Sandbox sb;
  json cfg = runc_like_config({"/bin/nyx-probe", "echo", "ran"});
  for (const char* set : {"bounding", "effective", "permitted"})
    cfg["process"]["capabilities"][set].push_back("CAP_SYS_RESOURCE");
  expect_refused_in_both_modes(sb, cfg, {"setpriv", "--bounding-set=-sys_resource", "--"},
                               "capabilities: the host cannot grant CAP_SYS_RESOURCE");
}

}  // namespace
}  // namespace nyx::test
