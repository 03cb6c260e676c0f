// Config shapes podman sends that the engine acceptance stage (tests/engines) found mishandled,
// pinned here on plain bundles so they fail fast without podman installed.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/integration/harness.hpp"

namespace nyx::test {
namespace {

json run_with_report(const Sandbox& sb, const json& cfg, Result* r) {
  sb.write_config(cfg);
  std::string report = sb.dir + "/report.json";
  *r = sb.nyx({"run", "--report", report, sb.bundle});
  Result cat = run({"cat", report});
  return cat.status == 0 ? json::parse(cat.out) : json();
}

// podman lists /proc/sys in readonlyPaths and sets net.ipv4.ping_group_range: the sysctl must be
// written before /proc/sys turns read-only, as runc orders it.
TEST(EngineConfigs, SysctlWrittenBeforeProcSysIsReadOnly) {
  Sandbox sb;
  json cfg = runc_like_config({"/bin/cat", "/proc/sys/net/ipv4/ping_group_range"});
  cfg["linux"]["sysctl"] = {{"net.ipv4.ping_group_range", "0 0"}};
  auto& ro = cfg["linux"]["readonlyPaths"];
  if (std::find(ro.begin(), ro.end(), "/proc/sys") == ro.end()) ro.push_back("/proc/sys");
  Result r;
  json rep = run_with_report(sb, cfg, &r);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "0\t0\n");
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(rep["hardening"]["primitives"]["sysctl"]["status"], "applied") << rep.dump();
}

// podman's --privileged and --device pass the host's st_mode, file type bits included
// (020666 for a character device): only the permission bits count.
TEST(EngineConfigs, DeviceFileModeWithTypeBits) {
  Sandbox sb;
  json cfg = runc_like_config({"/bin/stat", "-c", "%F %a %t:%T", "/dev/extra-null"});
  cfg["linux"]["devices"] = json::array({{{"path", "/dev/extra-null"},
                                          {"type", "c"},
                                          {"major", 1},
                                          {"minor", 3},
                                          {"fileMode", 020640},
                                          {"uid", 0},
                                          {"gid", 0}}});
  Result r;
  run_with_report(sb, cfg, &r);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "character special file 640 1:3\n");
}

TEST(EngineConfigs, DeviceFileModeBeyondModeBitsIsAnError) {
  Sandbox sb;
  json cfg = runc_like_config({"/bin/true"});
  cfg["linux"]["devices"] = json::array(
      {{{"path", "/dev/x"}, {"type", "c"}, {"major", 1}, {"minor", 3}, {"fileMode", 01000000}}});
  sb.write_config(cfg);
  Result r = sb.nyx({"run", sb.bundle});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("linux.devices[0].fileMode: out of range"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace nyx::test
