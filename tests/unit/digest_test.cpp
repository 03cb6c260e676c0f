// Record digests (issue 19): the same config gives the same digests; one changed syscall
// changes the seccomp program's; the Landlock ruleset's follows its rules.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cstdlib>
#include <string>

#include "base/sha256.hpp"
#include "bundle/config.hpp"
#include "bundle/profile.hpp"
#include "runtime/plan.hpp"

namespace nyx {
namespace {

using nlohmann::json;

TEST(Digest, Sha256KnownAnswers) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256().add("a").add("bc").hex(), sha256_hex("abc"));
}

struct Planned {
  std::string dir;
  BuiltPlan bp;
};

std::map<std::string, std::string> digests_of(const json& spec) {
  char tmpl[] = "/tmp/nyx-digest.XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  ::mkdir((dir + "/rootfs").c_str(), 0755);
  for (const char* d : {"/proc", "/dev", "/tmp", "/sys"})
    ::mkdir((dir + "/rootfs" + d).c_str(), 0755);
  Config cfg = parse_config(spec.dump());
  cfg.sha256 = sha256_hex(spec.dump());
  PlanInput in;
  in.cfg = &cfg;
  in.bundle = dir;
  in.rootfs = dir + "/rootfs";
  in.landlock_abi = 7;
  BuiltPlan bp = build_plan(in);
  [[maybe_unused]] int rc = std::system(("rm -rf '" + dir + "'").c_str());
  return bp.planned.digests;
}

json strict() {
  SpecOptions o;
  o.args = {"/bin/true"};
  return json::parse(make_spec(o).dump());
}

TEST(Digest, EqualForTheSameConfig) {
  auto a = digests_of(strict());
  auto b = digests_of(strict());
  ASSERT_EQ(a.count("config"), 1u);
  ASSERT_EQ(a.count("seccomp"), 1u);
  ASSERT_EQ(a.count("landlock"), 1u);
  EXPECT_EQ(a, b);
  for (const auto& [name, hex] : a)
    EXPECT_EQ(hex.size(), 64u) << name;
}

TEST(Digest, OneChangedSyscallChangesTheSeccompDigest) {
  json cfg = strict();
  auto before = digests_of(cfg);
  json& rules = cfg["linux"]["seccomp"]["syscalls"];
  for (auto& r : rules) {
    if (r["action"] != "SCMP_ACT_ALLOW" || r.contains("args")) continue;
    json names = json::array();
    for (const auto& n : r["names"]) {
      if (n != "getpid") names.push_back(n);
    }
    ASSERT_EQ(names.size() + 1, r["names"].size()) << "getpid is in the base group";
    r["names"] = names;
  }
  auto after = digests_of(cfg);
  EXPECT_NE(before["seccomp"], after["seccomp"]);
  EXPECT_NE(before["config"], after["config"]);
  EXPECT_EQ(before["landlock"], after["landlock"]);
}

TEST(Digest, TheLandlockDigestFollowsItsRules) {
  json cfg = strict();
  auto before = digests_of(cfg);
  cfg["mounts"].push_back(
      {{"destination", "/data"}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"nosuid"}}});
  auto after = digests_of(cfg);
  EXPECT_NE(before["landlock"], after["landlock"]);  // one more writable mount
  EXPECT_EQ(before["seccomp"], after["seccomp"]);
}

}  // namespace
}  // namespace nyx
