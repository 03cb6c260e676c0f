// Parser and validation: every rule of SPEC §6 that config.json alone can break.
#include <gtest/gtest.h>

#include <string>

#include "base/error.hpp"
#include "bundle/config.hpp"

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
