// Parser and validation: every rule of SPEC §6 that config.json alone can break.
#include <gtest/gtest.h>

#include <string>

#include "base/error.hpp"
#include "bundle/config.hpp"
#include "bundle/profile.hpp"

namespace nyx {
namespace {

const char* kMinimal = R"({
  "ociVersion": "1.0.2",
  "root": {"path": "rootfs"},
  "process": {"args": ["/bin/true"], "cwd": "/"}
})";

// Parses `text` and returns the error message ("" when it parsed).
std::string error_of(const std::string& text) {
  try {
    parse_config(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// kMinimal with one JSON fragment spliced in before the final brace.
std::string with(const std::string& fragment) {
  std::string s = kMinimal;
  s.insert(s.rfind('}'), ", " + fragment);
  return s;
}

TEST(Config, ParsesMinimal) {
  Config c = parse_config(kMinimal);
  EXPECT_EQ(c.oci_version, "1.0.2");
  EXPECT_EQ(c.root.path, "rootfs");
  ASSERT_TRUE(c.process.has_value());
  EXPECT_EQ(c.process->args, std::vector<std::string>{"/bin/true"});
  EXPECT_EQ(c.process->cwd, "/");
  EXPECT_FALSE(c.process->no_new_privileges);
}

TEST(Config, SyntaxErrorNamesLineAndColumn) {
  std::string msg = error_of("{\n  \"ociVersion\": \"1.0.2\",\n  \"root\": {\"path\": x}\n}");
  EXPECT_NE(msg.find("config.json: line 3, column"), std::string::npos) << msg;
}

TEST(Config, WrongTypeNamesJsonPath) {
  EXPECT_EQ(
      error_of(R"({"ociVersion":"1.0.2","root":{"path":"r"},"process":{"args":"x","cwd":"/"}})"),
      "process.args: expected array of strings");
  EXPECT_EQ(
      error_of(
          R"({"ociVersion":"1.0.2","root":{"path":"r"},"process":{"args":["a",1],"cwd":"/"}})"),
      "process.args: expected array of strings");
  EXPECT_EQ(error_of(with(R"("hostname": 5)")), "hostname: expected string");
}

TEST(Config, MissingRequiredFields) {
  EXPECT_EQ(error_of(R"({"root":{"path":"r"}})"), "ociVersion: missing required field");
  EXPECT_EQ(error_of(R"({"ociVersion":"1.0.2"})"), "root: missing required field");
  EXPECT_EQ(error_of(R"({"ociVersion":"1.0.2","root":{"path":"r"},"process":{"cwd":"/"}})"),
            "process.args: missing required field");
  EXPECT_EQ(error_of(R"({"ociVersion":"1.0.2","root":{"path":"r"},"process":{"args":["a"]}})"),
            "process.cwd: missing required field");
}

TEST(Config, UnknownNames) {
  EXPECT_EQ(error_of(with(R"("linux": {"namespaces": [{"type": "pid"}, {"type": "bogus"}]})")),
            "linux.namespaces[1].type: unknown namespace type \"bogus\"");
  std::string rl = R"({"ociVersion":"1.0.2","root":{"path":"r"},"process":{"args":["a"],"cwd":"/",
      "rlimits":[{"type":"RLIMIT_FOO","soft":1,"hard":1}]}})";
  EXPECT_EQ(error_of(rl), "process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\"");
  std::string cap = R"({"ociVersion":"1.0.2","root":{"path":"r"},"process":{"args":["a"],"cwd":"/",
      "capabilities":{"bounding":["CAP_CHOWN","CAP_NOPE"]}}})";
  EXPECT_EQ(error_of(cap), "process.capabilities.bounding[1]: unknown capability \"CAP_NOPE\"");
}

TEST(Config, MountDestinations) {
  EXPECT_EQ(error_of(with(R"("mounts": [{"destination": "proc", "type": "proc"}])")),
            "mounts[0].destination: must be an absolute path, got \"proc\"");
  EXPECT_EQ(error_of(with(R"("mounts": [{"destination": "/a/../../etc", "type": "tmpfs"}])")),
            "mounts[0].destination: \"/a/../../etc\" contains \"..\"");
}

TEST(Config, DuplicateKeysAndDepth) {
  EXPECT_EQ(error_of(R"({"ociVersion":"1.0.2","ociVersion":"1.0.2"})"),
            "config: duplicate key \"ociVersion\"");
  EXPECT_EQ(error_of(R"({"ociVersion":"1.0.2","root":{"path":"r","path":"s"}})"),
            "root: duplicate key \"path\"");
  std::string deep = "{\"annotations\":" + std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_NE(error_of(deep).find("nested deeper than 64 levels"), std::string::npos);
}

TEST(Config, RefusesCommentsTrailingDataNulAndBadUtf8) {
  EXPECT_NE(error_of(std::string(kMinimal) + " // comment").find("config.json"), std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + " {}").find("config.json"), std::string::npos);
  EXPECT_EQ(error_of(with(R"("hostname": "a\u0000b")")), "hostname: string contains a NUL byte");
  EXPECT_NE(error_of(with("\"hostname\": \"a\xff\"")).find("UTF-8"), std::string::npos);
}

TEST(Config, OutOfRangeNumbers) {
  std::string uid = R"({"ociVersion":"1.0.2","root":{"path":"r"},"process":{"args":["a"],"cwd":"/",
      "user":{"uid":4294967296,"gid":0}}})";
  EXPECT_EQ(error_of(uid), "process.user.uid: out of range: 4294967296 does not fit in 32 bits");
  std::string neg = R"({"ociVersion":"1.0.2","root":{"path":"r"},"process":{"args":["a"],"cwd":"/",
      "rlimits":[{"type":"RLIMIT_NOFILE","soft":-1,"hard":1}]}})";
  EXPECT_EQ(error_of(neg), "process.rlimits[0].soft: out of range: must not be negative");
  EXPECT_EQ(error_of(with(R"("linux": {"namespaces": [{"type":"user"}],
      "uidMappings": [{"containerID": 0, "hostID": 4294967000, "size": 65536}],
      "gidMappings": [{"containerID": 0, "hostID": 0, "size": 1}]})")),
            "linux.uidMappings[0].size: out of range: the mapping runs past 4294967295");
  EXPECT_EQ(error_of(with(R"("linux": {"resources": {"memory": {"limit": -5}}})")),
            "linux.resources.memory.limit: out of range: must be -1 (unlimited) or a byte count");
}

TEST(Config, SeccompChecks) {
  auto sc = [](const std::string& body) { return with(R"("linux": {"seccomp": )" + body + "}"); };
  EXPECT_EQ(error_of(sc(R"({"defaultAction": "SCMP_ACT_NOPE"})")),
            "linux.seccomp.defaultAction: unknown seccomp action \"SCMP_ACT_NOPE\"");
  EXPECT_EQ(
      error_of(sc(R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_VAX"]})")),
      "linux.seccomp.architectures[0]: unknown architecture \"SCMP_ARCH_VAX\"");
  EXPECT_EQ(
      error_of(sc(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"],
      "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]})")),
      "linux.seccomp.syscalls[0].args[0].index: out of range: a syscall has arguments 0 to 5");
  EXPECT_EQ(error_of(sc(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"],
      "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ABOUT"}]}]})")),
            "linux.seccomp.syscalls[0].args[0].op: unknown comparison operator \"SCMP_CMP_ABOUT\"");
}

TEST(Config, CrossFieldRules) {
  EXPECT_EQ(error_of(with(R"("hostname": "h")")),
            "hostname: setting a hostname needs a uts namespace in linux.namespaces");
  EXPECT_EQ(error_of(with(R"("linux": {"namespaces": [{"type": "user"}]})")),
            "linux.uidMappings: a new user namespace needs uid mappings");
  EXPECT_EQ(
      error_of(with(R"("linux": {"sysctl": {"kernel.panic": "1"}})")),
      "linux.sysctl.kernel.panic: sysctl is not namespaced; setting it would change the host");
}

TEST(Config, LargeConfigsParseInLinearTime) {
  std::string env;
  for (int i = 0; i < 100000; ++i)
    env += (i ? ",\"K" : "\"K") + std::to_string(i) + "=v\"";
  std::string text =
      R"({"ociVersion":"1.0.2","root":{"path":"r"},"process":{"args":["a"],"cwd":"/","env":[)" +
      env + "]}}";
  Config c = parse_config(text);
  EXPECT_EQ(c.process->env.size(), 100000u);
}

}  // namespace
}  // namespace nyx

namespace nyx {
namespace {

// Whether one comparison (the config's form) holds for `arg`.
bool holds(const nlohmann::json& c, std::uint64_t arg) {
  EXPECT_EQ(c["op"], "SCMP_CMP_MASKED_EQ");
  return (arg & c["value"].get<std::uint64_t>()) == c["valueTwo"].get<std::uint64_t>();
}

// The strict profile's ioctl rule: allowed exactly when the low 32 bits of the request are
// neither TIOCSTI nor TIOCLINUX, whatever the high bits; and never unconditionally (a rule
// without arguments would override it in libseccomp).
TEST(Profile, StrictIoctlRuleDeniesTerminalInjectionOnTheLow32Bits) {
  SpecOptions o;
  nlohmann::json spec = nlohmann::json::parse(make_spec(o).dump());
  const nlohmann::json* rule = nullptr;
  for (const auto& r : spec["linux"]["seccomp"]["syscalls"]) {
    for (const auto& n : r["names"]) {
      if (n != "ioctl") continue;
      ASSERT_EQ(rule, nullptr) << "ioctl in two rules";
      rule = &r;
    }
  }
  ASSERT_NE(rule, nullptr);
  EXPECT_EQ((*rule)["action"], "SCMP_ACT_ALLOW");
  ASSERT_TRUE((*rule)["args"].is_array() && !(*rule)["args"].empty());
  auto allowed = [&](std::uint64_t arg) {
    for (const auto& c : (*rule)["args"]) {
      EXPECT_EQ(c["index"], 1);
      if (holds(c, arg)) return true;
    }
    return false;
  };
  for (std::uint64_t high : {0ULL, 1ULL << 32, 0xffffffff00000000ULL, 0x8000000000000000ULL}) {
    EXPECT_FALSE(allowed(high | 0x5412)) << std::hex << high;  // TIOCSTI
    EXPECT_FALSE(allowed(high | 0x541C)) << std::hex << high;  // TIOCLINUX
    for (std::uint64_t low = 0; low < 0x10000; ++low) {
      if (low == 0x5412 || low == 0x541C) continue;
      ASSERT_TRUE(allowed(high | low)) << std::hex << (high | low);
    }
    for (std::uint64_t low : {0x80045430ULL, 0xc0045877ULL, 0xffffffffULL, 0x40085412ULL})
      EXPECT_TRUE(allowed(high | low)) << std::hex << (high | low);
  }
}

// clone without CLONE_NEW* only (libc's fork and threads), unshare and clone3 not at all, unless
// the namespaces group is allowed.
TEST(Profile, StrictCloneRuleKeepsNamespacesOut) {
  auto rules_for = [](const std::vector<std::string>& allow) {
    SpecOptions o;
    o.allow = allow;
    return nlohmann::json::parse(make_spec(o).dump())["linux"]["seccomp"]["syscalls"];
  };
  auto find = [](const nlohmann::json& rules, const std::string& name) {
    std::vector<nlohmann::json> out;
    for (const auto& r : rules) {
      for (const auto& n : r["names"])
        if (n == name) out.push_back(r);
    }
    return out;
  };
  nlohmann::json rules = rules_for({});
  auto clone = find(rules, "clone");
  ASSERT_EQ(clone.size(), 1u);
  ASSERT_EQ(clone[0]["args"].size(), 1u);
  EXPECT_EQ(clone[0]["args"][0]["value"], 0x7E020000);
  EXPECT_EQ(clone[0]["args"][0]["valueTwo"], 0);
  EXPECT_TRUE(find(rules, "unshare").empty());
  auto clone3 = find(rules, "clone3");
  ASSERT_EQ(clone3.size(), 1u);
  EXPECT_EQ(clone3[0]["errnoRet"], 38);  // ENOSYS: glibc falls back to clone
  nlohmann::json with_ns = rules_for({"namespaces"});
  auto open_clone = find(with_ns, "clone");
  ASSERT_EQ(open_clone.size(), 1u);
  EXPECT_FALSE(open_clone[0].contains("args"));
}

}  // namespace
}  // namespace nyx
