// Snapshots of build_plan for the example bundles' configs (examples/make-examples.sh writes
// them with `spec`): the child plan, the planned record and the clone flags, compared with
// tests/unit/snapshots/*.json. A change in what the parent plans shows up here as a diff.
// NYX_UPDATE_SNAPSHOTS=1 rewrites the files.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "bundle/config.hpp"
#include "bundle/profile.hpp"
#include "runtime/plan.hpp"

namespace nyx {
namespace {

using nlohmann::json;

class TempRootfs {
 public:
  TempRootfs() {
    char tmpl[] = "/tmp/nyx-plan-snapshot.XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) std::abort();
    dir = tmpl;
    rootfs = dir + "/rootfs";
    ::mkdir(rootfs.c_str(), 0755);
    for (const char* d : {"/bin", "/etc", "/proc", "/dev", "/tmp", "/sys"})
      ::mkdir((rootfs + d).c_str(), 0755);
  }
  ~TempRootfs() {
    std::string cmd = "rm -rf '" + dir + "'";
    [[maybe_unused]] int rc = std::system(cmd.c_str());
  }
  std::string dir, rootfs;
};

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

json strings(std::span<const char* const> list) {
  json out = json::array();
  for (const char* s : list)
    out.push_back(s);
  return out;
}

json mount_json(const MountStep& m) {
  return {{"source", m.source != nullptr ? m.source : ""},
          {"target", m.target},
          {"fstype", m.fstype != nullptr ? m.fstype : ""},
          {"data", m.data != nullptr ? m.data : ""},
          {"flags", m.flags},
          {"remount", m.remount},
          {"propagation", m.propagation},
          {"bind", m.bind},
          {"file", m.target_is_file},
          {"strict", m.strict_target},
          {"remountOnly", m.remount_only},
          {"index", m.index}};
}

// Everything of the plan that does not depend on the machine (fd numbers, the kernel's last
// capability, the compiled program's bytes).
json dump(const BuiltPlan& bp) {
  const ChildPlan& p = bp.storage->plan;
  json mounts = json::array();
  for (const MountStep& m : p.mount_steps)
    mounts.push_back(mount_json(m));
  json devices = json::array();
  for (const DeviceNode& d : p.devices)
    devices.push_back({{"target", d.target}, {"mode", d.mode}, {"dev", d.dev}});
  json rlimits = json::array();
  for (const RlimitStep& r : p.rlimits)
    rlimits.push_back({r.resource, r.limit.rlim_cur, r.limit.rlim_max});
  json sysctls = json::array();
  for (const SysctlStep& s : p.sysctls)
    sysctls.push_back({s.path, s.value});
  json caps = {p.set_caps,        p.cap_bounding, p.cap_effective, p.cap_permitted,
               p.cap_inheritable, p.cap_ambient,  p.defer_cap_drop};
  json argv = json::array();
  for (const char* const* a = p.argv; *a != nullptr; ++a)
    argv.push_back(*a);
  const LandlockPlan& ll = p.landlock;
  json ll_rules = json::array();
  for (const LandlockPathStep& r : ll.rules)
    ll_rules.push_back({r.path, r.access, r.harness_root});
  json ll_ports = json::array();
  for (const LandlockPortStep& r : ll.ports)
    ll_ports.push_back({r.port, r.access});
  json landlock = {{"abi", ll.abi},       {"fs", ll.handled_fs}, {"net", ll.handled_net},
                   {"scoped", ll.scoped}, {"rules", ll_rules},   {"ports", ll_ports},
                   {"strict", ll.strict}};
  json record = hardening_json(bp.planned, false, {});
  // libseccomp's output may differ between versions; the Landlock ruleset's may not.
  if (record.contains("digests")) record["digests"].erase("seccomp");
  return {
      {"cloneFlags", bp.ns.clone_flags},
      {"waitForGo", p.wait_for_go},
      {"noNewPrivs", p.no_new_privs},
      {"rlimits", rlimits},
      {"userns", {p.userns_new, p.unshare_flags, p.fork_for_pidns}},
      {"hostname", p.hostname != nullptr ? p.hostname : ""},
      {"mounts", p.mounts},
      {"rootfs", p.rootfs},
      {"rootPropagation", p.root_propagation},
      {"mountSteps", mounts},
      {"setupDev", p.setup_dev},
      {"bindDevices", p.bind_devices},
      {"devices", devices},
      {"devDirs", strings(p.dev_dirs)},
      {"masked", strings(p.masked_paths)},
      {"readonly", strings(p.readonly_paths)},
      {"sysctls", sysctls},
      {"rootMethod", static_cast<int>(p.root_method)},
      {"readonlyRoot", p.readonly_root},
      {"caps", caps},
      {"user", {p.uid, p.gid, p.umask, p.cwd}},
      {"landlock", landlock},
      {"seccomp", {p.seccomp != nullptr, p.seccomp_flags}},
      {"argv", argv},
      {"record", record},
  };
}

struct Example {
  const char* name;
  SpecOptions spec;
};

class PlanSnapshot : public testing::TestWithParam<Example> {};

TEST_P(PlanSnapshot, MatchesTheRecordedPlan) {
  const Example& ex = GetParam();
  TempRootfs t;
  Config cfg = parse_config_json(json::parse(make_spec(ex.spec).dump()));
  PlanInput in;
  in.cfg = &cfg;
  in.bundle = t.dir;
  in.rootfs = t.rootfs;
  in.rootless = false;
  in.landlock_abi = 7;  // the snapshots are of a kernel with Landlock ABI 7 (Linux 6.15+)
  BuiltPlan bp = build_plan(in);
  std::string got = replace_all(dump(bp).dump(2), t.dir, "$BUNDLE") + "\n";

  std::string path = std::string(NYX_SOURCE_DIR) + "/tests/unit/snapshots/" + ex.name + ".json";
  const char* update = std::getenv("NYX_UPDATE_SNAPSHOTS");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(path) << got;
    GTEST_SKIP() << "rewrote " << path;
  }
  std::ifstream in_file(path);
  ASSERT_TRUE(in_file) << path << " is missing: run with NYX_UPDATE_SNAPSHOTS=1";
  std::stringstream want;
  want << in_file.rdbuf();
  EXPECT_EQ(got, want.str()) << "the plan for " << ex.name << " changed; if on purpose, "
                             << "rerun with NYX_UPDATE_SNAPSHOTS=1 and review the diff";
}

SpecOptions spec_of(std::string profile, std::vector<std::string> allow = {},
                    std::optional<unsigned> memory = {}, std::optional<unsigned> timeout = {}) {
  SpecOptions o;
  o.profile = std::move(profile);
  o.allow = std::move(allow);
  o.memory_mib = memory;
  o.timeout_s = timeout;
  o.args = {"/bin/sh", "/harness.sh"};
  return o;
}

// The example bundles (hello and escape-attempt share the strict default), and the profile's
// other shapes.
const Example kExamples[] = {
    {"hello", spec_of("strict")},
    {"python-harness-no-host-libs", spec_of("strict", {}, 256, 20)},
    {"strict-allow-net-setuid", spec_of("strict", {"net", "setuid"})},
    {"standard", spec_of("standard")},
};

INSTANTIATE_TEST_SUITE_P(Examples, PlanSnapshot, testing::ValuesIn(kExamples),
                         [](const auto& info) {
                           std::string n = info.param.name;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

}  // namespace
}  // namespace nyx
