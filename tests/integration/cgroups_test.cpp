// The container's cgroups on real containers, on whichever host shape the test runs on: cgroup v1
// (hybrid, the CI machine) or v2 (the VM, tests/vm). Each limit is read from inside the
// container where it shows there (/sys/fs/cgroup), or from the host; every refusal is checked
// for its message and for leaving nothing behind; leftovers with a container's name never stop
// a later start.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "tests/integration/harness.hpp"

namespace nyx::test {
namespace {

bool host_v2() {
  struct statfs st {};
  return statfs("/sys/fs/cgroup", &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

void put(const std::string& path, const std::string& value) {
  std::ofstream out(path);
  out << value;
}

// The host directory of cgroup `rel` for controller `ctrl` ("" = the unified hierarchy).
std::string host_dir(const std::string& ctrl, const std::string& rel) {
  if (host_v2()) return "/sys/fs/cgroup" + rel;
  if (ctrl.empty()) return "/sys/fs/cgroup/unified" + rel;
  return "/sys/fs/cgroup/" + ctrl + rel;
}

// Where a controller's file shows inside a container with a "cgroup" mount.
std::string inside(const std::string& ctrl, const std::string& file) {
  return host_v2() ? "/sys/fs/cgroup/" + file : "/sys/fs/cgroup/" + ctrl + "/" + file;
}

json with_cgroup_mount(json cfg) {
  cfg["mounts"].push_back({{"destination", "/sys/fs/cgroup"},
                           {"type", "cgroup"},
                           {"source", "cgroup"},
                           {"options", {"nosuid", "noexec", "nodev", "relatime", "ro"}}});
  return cfg;
}

// A cgroup path of this test process's own, removed (every hierarchy) at the end.
struct TestCgroup {
  std::string rel;
  explicit TestCgroup(const std::string& name)
      : rel("/nyx-it-" + name + "-" + std::to_string(getpid())) {}
  ~TestCgroup() { remove(); }
  void remove() const {
    for (const auto& top : dir_entries("/sys/fs/cgroup")) {
      std::string base = host_v2() ? "/sys/fs/cgroup" : "/sys/fs/cgroup/" + top;
      run({"sh", "-c",
           "d=" + base + rel +
               "; [ -d \"$d\" ] && find \"$d\" -depth -type d -exec rmdir {} + "
               "2>/dev/null; true"});
      if (host_v2()) break;
    }
  }
  // Every directory of it that exists, in any hierarchy.
  std::vector<std::string> existing() const {
    std::vector<std::string> out;
    if (host_v2()) {
      if (path_exists("/sys/fs/cgroup" + rel)) out.push_back("/sys/fs/cgroup" + rel);
      return out;
    }
    for (const auto& top : dir_entries("/sys/fs/cgroup")) {
      std::string d = "/sys/fs/cgroup/" + top + rel;
      if (path_exists(d)) out.push_back(d);
    }
    return out;
  }
};

// Runs the probe reading `files` in a container with `cfg`; path -> contents (trimmed).
std::map<std::string, std::string> read_inside(const Sandbox& sb, const json& cfg,
                                               const std::vector<std::string>& files,
                                               Result* res = nullptr) {
  std::vector<std::string> args;
  for (const auto& f : files) {
    if (!args.empty()) args.push_back("+");
    args.insert(args.end(), {"cat", f});
  }
  Result r;
  std::vector<json> lines = sb.probe(with_cgroup_mount(cfg), args, &r);
  if (res != nullptr) *res = r;
  std::map<std::string, std::string> out;
  for (const auto& l : lines) {
    if (l.value("step", "") != "cat" || !l.value("ok", false)) continue;
    std::string d = l.value("data", "");
    while (!d.empty() && (d.back() == '\n' || d.back() == ' '))
      d.pop_back();
    out[l.value("path", "")] = d;
  }
  return out;
}

std::string field_value(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string k, v;
  while (in >> k >> v) {
    if (k == key) return v;
  }
  return "";
}

TEST(Cgroups, LimitsSeenInside) {
  Sandbox sb;
  TestCgroup cg("limits");
  json cfg = runc_like_config({});
  cfg["linux"]["cgroupsPath"] = cg.rel;
  cfg["linux"]["resources"] = {
      {"memory", {{"limit", 67108864}, {"reservation", 33554432}}},
      {"pids", {{"limit", 33}}},
      {"cpu", {{"shares", 512}, {"quota", 50000}, {"period", 100000}, {"cpus", "0"}}}};
  Result r;
  if (host_v2()) {
    auto got = read_inside(
        sb, cfg,
        {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.low", "/sys/fs/cgroup/pids.max",
         "/sys/fs/cgroup/cpu.weight", "/sys/fs/cgroup/cpu.max", "/sys/fs/cgroup/cpuset.cpus"},
        &r);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(got["/sys/fs/cgroup/memory.max"], "67108864");
    EXPECT_EQ(got["/sys/fs/cgroup/memory.low"], "33554432");
    EXPECT_EQ(got["/sys/fs/cgroup/pids.max"], "33");
    EXPECT_EQ(got["/sys/fs/cgroup/cpu.weight"], "20");  // runc's conversion of 512 shares
    EXPECT_EQ(got["/sys/fs/cgroup/cpu.max"], "50000 100000");
    EXPECT_EQ(got["/sys/fs/cgroup/cpuset.cpus"], "0");
  } else {
    auto got = read_inside(
        sb, cfg,
        {inside("memory", "memory.limit_in_bytes"), inside("memory", "memory.soft_limit_in_bytes"),
         inside("pids", "pids.max"), inside("cpu", "cpu.shares"), inside("cpu", "cpu.cfs_quota_us"),
         inside("cpu", "cpu.cfs_period_us"), inside("cpuset", "cpuset.cpus")},
        &r);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(got[inside("memory", "memory.limit_in_bytes")], "67108864");
    EXPECT_EQ(got[inside("memory", "memory.soft_limit_in_bytes")], "33554432");
    EXPECT_EQ(got[inside("pids", "pids.max")], "33");
    EXPECT_EQ(got[inside("cpu", "cpu.shares")], "512");
    EXPECT_EQ(got[inside("cpu", "cpu.cfs_quota_us")], "50000");
    EXPECT_EQ(got[inside("cpu", "cpu.cfs_period_us")], "100000");
    EXPECT_EQ(got[inside("cpuset", "cpuset.cpus")], "0");
  }
  // The record: which version, driver, path and controllers.
  cfg["process"]["args"] = {"/bin/nyx-probe", "exit", "0"};
  sb.write_config(cfg);
  r = sb.nyx({"run", "--bundle", sb.bundle, "--report", sb.dir + "/report.json", sb.id("rec")});
  ASSERT_EQ(r.status, 0) << r.err;
  json rec = json::parse(slurp(sb.dir + "/report.json"))["hardening"]["primitives"]["cgroups"];
  EXPECT_EQ(rec["status"], "applied") << rec.dump();
  EXPECT_EQ(rec["version"], host_v2() ? "v2" : "hybrid") << rec.dump();
  EXPECT_EQ(rec["driver"], "cgroupfs");
  EXPECT_EQ(rec["path"], cg.rel);
  for (const char* c : {"cpu", "cpuset", "memory", "pids"}) {
    EXPECT_NE(std::find(rec["controllers"].begin(), rec["controllers"].end(), c),
              rec["controllers"].end())
        << c << " " << rec.dump();
  }
  EXPECT_TRUE(cg.existing().empty()) << "left behind: " << cg.existing()[0];
}

// linux.resources.memory's tunables and hugepageLimits (conformance causes C3, C4): applied on
// v1; on v2 what has an equivalent is applied and what has none fails create.
TEST(Cgroups, MemoryTunablesAndHugetlb) {
  Sandbox sb;
  TestCgroup cg("memtun");
  bool has_2mb = path_exists("/sys/kernel/mm/hugepages/hugepages-2048kB");
  json cfg = runc_like_config({});
  cfg["linux"]["cgroupsPath"] = cg.rel;
  if (!host_v2()) {
    cfg["linux"]["resources"] = {{"memory",
                                  {{"limit", 67108864},
                                   {"swappiness", 10},
                                   {"disableOOMKiller", true},
                                   {"kernelTCP", 50593792},
                                   {"kernel", 50593792}}}};
    if (has_2mb) {
      cfg["linux"]["resources"]["hugepageLimits"] = {{{"pageSize", "2MB"}, {"limit", 2097152}}};
    }
    Result r;
    auto got =
        read_inside(sb, cfg,
                    {inside("memory", "memory.swappiness"), inside("memory", "memory.oom_control"),
                     inside("memory", "memory.kmem.tcp.limit_in_bytes"),
                     inside("hugetlb", "hugetlb.2MB.limit_in_bytes")},
                    &r);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(got[inside("memory", "memory.swappiness")], "10");
    EXPECT_EQ(field_value(got[inside("memory", "memory.oom_control")], "oom_kill_disable"), "1");
    EXPECT_EQ(got[inside("memory", "memory.kmem.tcp.limit_in_bytes")], "50593792");
    if (has_2mb) {
      EXPECT_EQ(got[inside("hugetlb", "hugetlb.2MB.limit_in_bytes")], "2097152");
    }
    // Kernel memory has no limit on this kernel: a warning, as runc gives, not an error.
    EXPECT_NE(r.err.find("kernel memory limits are not supported"), std::string::npos) << r.err;
  } else {
    if (has_2mb) {
      cfg["linux"]["resources"] = {{"hugepageLimits", {{{"pageSize", "2MB"}, {"limit", 2097152}}}}};
      auto got = read_inside(sb, cfg, {"/sys/fs/cgroup/hugetlb.2MB.max"});
      EXPECT_EQ(got["/sys/fs/cgroup/hugetlb.2MB.max"], "2097152");
    }
    for (const char* key : {"swappiness", "disableOOMKiller", "kernelTCP"}) {
      json c = cfg;
      c["linux"]["resources"] = {{"memory", {{"limit", 67108864}}}};
      c["linux"]["resources"]["memory"][key] =
          std::string(key) == "disableOOMKiller" ? json(true) : json(10);
      Result r;
      sb.probe(c, {"exit", "0"}, &r);
      EXPECT_EQ(r.status, 1) << key;
      EXPECT_NE(r.err.find("(cgroup v2 "), std::string::npos) << key << ": " << r.err;
    }
  }
  EXPECT_TRUE(cg.existing().empty());
}

// What cannot be applied fails create, naming the setting, and leaves nothing behind.
TEST(Cgroups, RefusedAtCreate) {
  Sandbox sb;
  TestCgroup cg("refused");
  json base = runc_like_config({"/bin/nyx-probe", "exit", "0"});
  base["linux"]["cgroupsPath"] = cg.rel;
  auto refused = [&](const json& resources, const std::string& words) {
    json cfg = base;
    cfg["linux"]["resources"] = resources;
    sb.write_config(cfg);
    const std::string id = sb.id("refused");
    Result r = sb.nyx({"run", "--bundle", sb.bundle, id});
    EXPECT_EQ(r.status, 1) << resources.dump();
    EXPECT_NE(r.err.find(words), std::string::npos) << resources.dump() << ": " << r.err;
    EXPECT_FALSE(path_exists(sb.root + "/" + id));
    EXPECT_TRUE(cg.existing().empty()) << resources.dump() << " left " << cg.existing()[0];
  };
  refused({{"hugepageLimits", {{{"pageSize", "3MB"}, {"limit", 3145728}}}}},
          "invalid huge page size \"3MB\"");
  refused({{"hugepageLimits", {{{"pageSize", "64KB"}, {"limit", 65536}}}}}, "no 64KB huge pages");
  bool net_cls = false;
  for (const auto& m : mounts_under("/sys/fs/cgroup"))
    net_cls = net_cls || m.find("net_cls") != std::string::npos;
  if (!net_cls) refused({{"network", {{"classID", 1048577}}}}, "net_cls");
  if (host_v2()) {
    refused({{"network", {{"priorities", {{{"name", "lo"}, {"priority", 5}}}}}}}, "net_prio");
    refused({{"cpu", {{"realtimeRuntime", 1000}}}}, "realtime");
  } else {
    refused({{"unified", {{"memory.min", "131072"}}}}, "invalid configuration");
  }
  bool weight_file =
      path_exists(host_v2() ? "/sys/fs/cgroup/io.weight" : "/sys/fs/cgroup/blkio/blkio.weight") ||
      path_exists("/sys/fs/cgroup/blkio/blkio.bfq.weight");
  if (!host_v2() && !weight_file) refused({{"blockIO", {{"weight", 500}}}}, "blkio.weight");
  // A device that does not exist cannot be throttled.
  refused(
      {{"blockIO", {{"throttleReadBpsDevice", {{{"major", 259}, {"minor", 4095}, {"rate", 1}}}}}}},
      host_v2() ? "io.max" : "blkio.throttle.read_bps_device");
}

// Block I/O: the four throttles and (v2) the weight, on the device of the test's own /.
TEST(Cgroups, BlockIoThrottles) {
  Sandbox sb;
  TestCgroup cg("blkio");
  // A whole disk: throttles are per device, and a partition is refused.
  Result lsblk = run({"sh", "-c", "lsblk -dno MAJ:MIN,TYPE | awk '$2==\"disk\"{print $1; exit}'"});
  std::string dev = lsblk.out.substr(0, lsblk.out.find('\n'));
  while (!dev.empty() && dev[0] == ' ')
    dev.erase(0, 1);
  ASSERT_NE(dev.find(':'), std::string::npos) << "no block device on this host: " << lsblk.out;
  int major = std::stoi(dev.substr(0, dev.find(':')));
  int minor = std::stoi(dev.substr(dev.find(':') + 1));
  json t = {{"major", major}, {"minor", minor}};
  auto rate = [&](int v) {
    json x = t;
    x["rate"] = v;
    return json::array({x});
  };
  json cfg = runc_like_config({});
  cfg["linux"]["cgroupsPath"] = cg.rel;
  cfg["linux"]["resources"] = {{"blockIO",
                                {{"throttleReadBpsDevice", rate(1048576)},
                                 {"throttleWriteBpsDevice", rate(2097152)},
                                 {"throttleReadIOPSDevice", rate(1000)},
                                 {"throttleWriteIOPSDevice", rate(2000)}}}};
  Result r;
  if (host_v2()) {
    auto got = read_inside(sb, cfg, {"/sys/fs/cgroup/io.max"}, &r);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(got["/sys/fs/cgroup/io.max"],
              dev + " rbps=1048576 wbps=2097152 riops=1000 wiops=2000");
  } else {
    auto got = read_inside(sb, cfg,
                           {inside("blkio", "blkio.throttle.read_bps_device"),
                            inside("blkio", "blkio.throttle.write_bps_device"),
                            inside("blkio", "blkio.throttle.read_iops_device"),
                            inside("blkio", "blkio.throttle.write_iops_device")},
                           &r);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(got[inside("blkio", "blkio.throttle.read_bps_device")], dev + " 1048576");
    EXPECT_EQ(got[inside("blkio", "blkio.throttle.write_bps_device")], dev + " 2097152");
    EXPECT_EQ(got[inside("blkio", "blkio.throttle.read_iops_device")], dev + " 1000");
    EXPECT_EQ(got[inside("blkio", "blkio.throttle.write_iops_device")], dev + " 2000");
  }
}

// net_cls and net_prio: applied where the host mounts them (v1). This host may not: the test
// mounts them in a mount namespace of its own and runs nyx there.
TEST(Cgroups, NetworkClassAndPriorities) {
  Sandbox sb;
  TestCgroup cg("net");
  json cfg = with_cgroup_mount(runc_like_config({}));
  cfg["linux"]["cgroupsPath"] = cg.rel;
  cfg["linux"]["resources"] = {
      {"network", {{"classID", 1048577}, {"priorities", {{{"name", "lo"}, {"priority", 5}}}}}}};
  if (host_v2()) {
    // No such controllers on v2: refused, as runc and crun refuse.
    Result r;
    sb.probe(cfg, {"exit", "0"}, &r);
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("cgroup v2 has no net_cls controller"), std::string::npos) << r.err;
    return;
  }
  cfg["process"]["args"] = {"/bin/nyx-probe",
                            "cat",
                            "/sys/fs/cgroup/net_cls,net_prio/net_cls.classid",
                            "+",
                            "cat",
                            "/sys/fs/cgroup/net_cls,net_prio/net_prio.ifpriomap"};
  sb.write_config(cfg);
  std::string mp = "/sys/fs/cgroup/net_cls,net_prio";
  bool made = mkdir(mp.c_str(), 0755) == 0;
  std::string cmd = "mount -t cgroup -o net_cls,net_prio cgroup '" + mp + "' && exec";
  for (const auto& a : sb.nyx_argv({"run", "--bundle", sb.bundle, sb.id("net")}))
    cmd += " '" + a + "'";
  Result r = run({"unshare", "-m", "--propagation", "private", "sh", "-c", cmd});
  if (made) rmdir(mp.c_str());
  ASSERT_EQ(r.status, 0) << r.err;
  auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(lines[0].value("data", ""), "1048577\n");
  EXPECT_NE(lines[1].value("data", "").find("lo 5"), std::string::npos) << lines[1].dump();
}

// linux.resources.devices: the v1 devices controller, or on v2 the eBPF program nyx attaches.
TEST(Cgroups, DeviceRules) {
  Sandbox sb;
  TestCgroup cg("dev");
  json cfg = runc_like_config({});
  cfg["linux"]["cgroupsPath"] = cg.rel;
  cfg["linux"]["devices"] = {{{"path", "/dev/kmsg"},
                              {"type", "c"},
                              {"major", 1},
                              {"minor", 11},
                              {"fileMode", 0666},
                              {"uid", 0},
                              {"gid", 0}}};
  // Deny all, allow /dev/null with runc's "rwa" (an "a" runc ignores), deny /dev/kmsg.
  cfg["linux"]["resources"] = {
      {"devices",
       {{{"allow", false}, {"access", "rwm"}},
        {{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 3}, {"access", "rwa"}},
        {{"allow", false}, {"type", "c"}, {"major", 1}, {"minor", 11}, {"access", "rwm"}}}}};
  Result r;
  auto lines = sb.probe(cfg,
                        {"openrw", "/dev/null", "+", "read", "/dev/kmsg", "+", "openw", "/dev/zero",
                         "+", "openrw", "/dev/kmsg"},
                        &r);
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(lines.size(), 4u) << r.out;
  EXPECT_TRUE(lines[0].value("ok", false)) << lines[0].dump();
  EXPECT_FALSE(lines[1].value("ok", true)) << lines[1].dump();
  EXPECT_EQ(lines[1].value("error", ""), "EPERM") << lines[1].dump();
  EXPECT_TRUE(lines[2].value("ok", false)) << lines[2].dump();
  EXPECT_EQ(lines[3].value("error", ""), "EPERM") << lines[3].dump();
}

struct Detached {
  const Sandbox& sb;
  std::string id;
  Detached(const Sandbox& s, const json& cfg, const std::string& name) : sb(s), id(s.id(name)) {
    s.write_config(cfg);
    Result r = s.nyx({"run", "-d", "--bundle", s.bundle, id});
    EXPECT_EQ(r.status, 0) << r.err;
    err = r.err;
  }
  ~Detached() { sb.nyx({"delete", "--force", id}); }
  std::string err;
};

// `update` raising and lowering every limit, the CRI case (memory with memory+swap, 64 -> 96
// MiB) included, and a controller the container was created without.
TEST(Cgroups, UpdateRaisesAndLowers) {
  Sandbox sb;
  TestCgroup cg("update");
  bool v2 = host_v2();
  json cfg = runc_like_config({"/bin/nyx-probe", "sleep", "60"});
  cfg["linux"]["cgroupsPath"] = cg.rel;
  cfg["linux"]["resources"] = {{"memory", {{"limit", 33554432}, {"reservation", 25165824}}},
                               {"pids", {{"limit", 20}}}};
  Detached c(sb, cfg, "upd");
  auto file = [&](const std::string& ctrl, const std::string& f) {
    return slurp(host_dir(ctrl, cg.rel) + "/" + f);
  };
  auto update = [&](std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), "update");
    args.push_back(c.id);
    Result r = sb.nyx(args, input);
    EXPECT_EQ(r.status, 0) << r.err;
  };
  std::string mem = v2 ? "memory.max" : "memory.limit_in_bytes";
  bool swap = path_exists(host_dir("memory", cg.rel) +
                          (v2 ? "/memory.swap.max" : "/memory.memsw.limit_in_bytes"));
  // Memory with memory+swap: up, up again, down (the kernel checks memory <= memsw on v1).
  for (const char* m : {"64M", "96M", "32M"}) {
    if (swap) {
      update({"--memory", m, "--memory-swap", m});
    } else {
      update({"--memory", m});
    }
    std::int64_t want = std::stoll(m) << 20;
    EXPECT_EQ(file("memory", mem), std::to_string(want)) << m;
    if (swap && !v2) {
      EXPECT_EQ(file("memory", "memory.memsw.limit_in_bytes"), std::to_string(want));
    }
    if (swap && v2) {
      EXPECT_EQ(file("memory", "memory.swap.max"), "0");
    }
  }
  // Unlimited memory with a swap limit in force: runc lifts the swap limit too.
  update({"--memory", "-1"});
  std::string unlimited = v2 ? "max" : file("memory", "memory.limit_in_bytes");
  EXPECT_TRUE(unlimited == "max" || std::stoull(unlimited) > (1ULL << 60)) << unlimited;
  if (swap && !v2) {
    EXPECT_EQ(file("memory", "memory.memsw.limit_in_bytes"), unlimited);
  }
  update({"--memory-reservation", "16M"});
  EXPECT_EQ(file("memory", v2 ? "memory.low" : "memory.soft_limit_in_bytes"), "16777216");
  update({"--memory-reservation", "48M"});
  EXPECT_EQ(file("memory", v2 ? "memory.low" : "memory.soft_limit_in_bytes"), "50331648");
  // pids: down, up, unlimited.
  update({"--pids-limit", "10"});
  EXPECT_EQ(file("pids", "pids.max"), "10");
  update({"--pids-limit", "50"});
  EXPECT_EQ(file("pids", "pids.max"), "50");
  update({"--pids-limit", "-1"});
  EXPECT_EQ(file("pids", "pids.max"), "max");
  // cpu, which the container was created without (positive values are not "negative").
  update({"--cpu-share", "512", "--cpu-period", "900000", "--cpu-quota", "600000"});
  if (v2) {
    EXPECT_EQ(file("cpu", "cpu.weight"), "20");
    EXPECT_EQ(file("cpu", "cpu.max"), "600000 900000");
  } else {
    EXPECT_EQ(file("cpu", "cpu.shares"), "512");
    EXPECT_EQ(file("cpu", "cpu.cfs_period_us"), "900000");
    EXPECT_EQ(file("cpu", "cpu.cfs_quota_us"), "600000");
  }
  update({"--cpu-share", "100", "--cpu-quota", "100000"});
  update({"--cpu-period", "100000"});  // a period alone keeps the quota
  if (v2) {
    EXPECT_EQ(file("cpu", "cpu.max"), "100000 100000");
  } else {
    EXPECT_EQ(file("cpu", "cpu.shares"), "100");
    EXPECT_EQ(file("cpu", "cpu.cfs_period_us"), "100000");
    EXPECT_EQ(file("cpu", "cpu.cfs_quota_us"), "100000");
  }
  update({"--cpu-quota", "-1"});
  EXPECT_EQ(v2 ? file("cpu", "cpu.max") : file("cpu", "cpu.cfs_quota_us"),
            v2 ? "max 100000" : "-1");
  if (sysconf(_SC_NPROCESSORS_ONLN) > 1) {
    update({"--cpuset-cpus", "1"});
    EXPECT_EQ(file("cpuset", "cpuset.cpus"), "1");
    update({"--cpuset-cpus", "0-1"});
    EXPECT_EQ(file("cpuset", "cpuset.cpus"), "0-1");
  }
  // The same through -r, as containerd sends it.
  update({"-r", "-"}, R"({"memory": {"limit": 41943040}, "pids": {"limit": 30}})");
  EXPECT_EQ(file("memory", mem), "41943040");
  EXPECT_EQ(file("pids", "pids.max"), "30");
  if (path_exists("/sys/kernel/mm/hugepages/hugepages-2048kB")) {
    std::string h = v2 ? "hugetlb.2MB.max" : "hugetlb.2MB.limit_in_bytes";
    update({"-r", "-"}, R"({"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]})");
    EXPECT_EQ(file("hugetlb", h), "4194304");
    update({"-r", "-"}, R"({"hugepageLimits": [{"pageSize": "2MB", "limit": 2097152}]})");
    EXPECT_EQ(file("hugetlb", h), "2097152");
  }
  if (!v2) {
    // Realtime: the parents need a budget first (runc's test writes them by hand too).
    std::string root = "/sys/fs/cgroup/cpu";
    std::string period = slurp(root + "/cpu.rt_period_us"),
                runtime = slurp(root + "/cpu.rt_runtime_us");
    put(root + cg.rel + "/cpu.rt_period_us", period);
    put(root + cg.rel + "/cpu.rt_runtime_us", runtime);
    update({"--cpu-rt-period", "900001", "--cpu-rt-runtime", "600001"});
    EXPECT_EQ(file("cpu", "cpu.rt_period_us"), "900001");
    EXPECT_EQ(file("cpu", "cpu.rt_runtime_us"), "600001");
    update({"-r", "-"}, R"({"cpu": {"realtimePeriod": 800001, "realtimeRuntime": 500001}})");
    EXPECT_EQ(file("cpu", "cpu.rt_period_us"), "800001");
    EXPECT_EQ(file("cpu", "cpu.rt_runtime_us"), "500001");
    update({"--cpu-rt-runtime", "0"});
  } else {
    Result r = sb.nyx({"update", "--cpu-rt-runtime", "1000", c.id});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("realtime"), std::string::npos) << r.err;
  }
  // A value the kernel refuses is an error naming the file.
  Result bad = sb.nyx({"update", "--cpuset-cpus", "1023", c.id});
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("cpuset.cpus"), std::string::npos) << bad.err;
  // Still running, in its cgroup.
  EXPECT_EQ(sb.state(c.id)["status"], "running");
}

// A leftover, a killed (cgroup.kill) and a frozen cgroup with a container's name (nyx's default
// path, /nyx-runtime/ID) never make a later start fail or hang; a named cgroup that is frozen
// is refused at once, and one that holds processes gets runc's warning.
TEST(Cgroups, LeftoversNeverPoisonLaterStarts) {
  Sandbox sb;
  json cfg = runc_like_config({"/bin/nyx-probe", "exit", "0"});
  auto default_dir = [&](const std::string& ctrl, const std::string& id) {
    return host_dir(ctrl, "/nyx-runtime/" + id);
  };
  auto start_twice = [&](const std::string& id, const char* what) {
    for (int i = 0; i < 2; ++i) {
      Result r = sb.nyx({"run", "--bundle", sb.bundle, id}, "", 20);
      EXPECT_FALSE(r.timed_out) << what;
      EXPECT_EQ(r.status, 0) << what << " run " << i << ": " << r.err;
    }
    EXPECT_FALSE(path_exists(default_dir("", id))) << what;
  };
  sb.write_config(cfg);
  // Leftover: the directories a harness-killed container leaves, in every hierarchy.
  const std::string left = sb.id("left");
  run({"mkdir", "-p", default_dir("", left), default_dir("memory", left)});
  start_twice(left, "leftover");
  // Killed: cgroup.kill written (the kernel kills what is cloned into it afterwards).
  const std::string killed = sb.id("killed");
  run({"mkdir", "-p", default_dir("", killed)});
  put(default_dir("", killed) + "/cgroup.kill", "1");
  start_twice(killed, "killed");
  // Frozen.
  const std::string frozen = sb.id("frozen");
  run({"mkdir", "-p", default_dir(host_v2() ? "" : "freezer", frozen)});
  if (host_v2()) {
    put(default_dir("", frozen) + "/cgroup.freeze", "1");
  } else {
    put(default_dir("freezer", frozen) + "/freezer.state", "FROZEN");
  }
  start_twice(frozen, "frozen");

  // A frozen cgroup the config names: refused at once (runc's words), never a hang.
  TestCgroup named("frozen");
  std::string fdir = host_dir(host_v2() ? "" : "freezer", named.rel);
  ASSERT_EQ(mkdir(fdir.c_str(), 0755), 0);
  put(fdir + (host_v2() ? "/cgroup.freeze" : "/freezer.state"), host_v2() ? "1" : "FROZEN");
  cfg["linux"]["cgroupsPath"] = named.rel;
  sb.write_config(cfg);
  for (const char* cmd : {"run", "create"}) {
    Result r = sb.nyx({cmd, "--bundle", sb.bundle, sb.id("fz")}, "", 20);
    EXPECT_FALSE(r.timed_out) << cmd;
    EXPECT_EQ(r.status, 1) << cmd;
    EXPECT_NE(r.err.find("container's cgroup unexpectedly frozen"), std::string::npos) << r.err;
  }
  put(fdir + (host_v2() ? "/cgroup.freeze" : "/freezer.state"), host_v2() ? "0" : "THAWED");
  // Then it is usable, and a second container in it gets the warning.
  cfg["process"]["args"] = {"/bin/nyx-probe", "sleep", "30"};
  sb.write_config(cfg);
  Detached a(sb, cfg, "share1");
  Detached b(sb, cfg, "share2");
  EXPECT_EQ(a.err.find("not empty"), std::string::npos) << a.err;
  EXPECT_NE(b.err.find("container's cgroup is not empty: 1 process(es) found"), std::string::npos)
      << b.err;
  // Deleting the second one kills what runs in the shared cgroup (as runc), but never through
  // cgroup.kill, and leaves the cgroup it did not make.
  EXPECT_EQ(sb.nyx({"delete", "--force", b.id}).status, 0);
  EXPECT_TRUE(path_exists(fdir));
}

// A create killed half-way (SIGKILL while a createRuntime hook runs): `delete --force` removes
// every cgroup it made, nested levels included, and the ID starts again.
TEST(Cgroups, KilledCreateIsCleanedByDelete) {
  Sandbox sb;
  TestCgroup cg("killed");
  json cfg = runc_like_config({"/bin/nyx-probe", "exit", "0"});
  cfg["linux"]["cgroupsPath"] = cg.rel + "/pod/ctr";
  cfg["linux"]["resources"] = {{"pids", {{"limit", 10}}}};
  const std::string hook_pid = sb.dir + "/hook.pid";
  cfg["hooks"]["createRuntime"] = {
      {{"path", "/bin/sh"}, {"args", {"sh", "-c", "echo $$ > " + hook_pid + "; exec sleep 30"}}}};
  sb.write_config(cfg);
  const std::string id = sb.id("k");
  std::vector<std::string> argv = sb.nyx_argv({"create", "--bundle", sb.bundle, id});
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    execv(argv[0].c_str(), c_argv(argv).data());
    _exit(127);
  }
  // The hook runs once the cgroups are made and the init is in them.
  for (int i = 0; i < 3000 && slurp(hook_pid).empty(); ++i)
    usleep(10000);
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_FALSE(cg.existing().empty()) << "the create never made its cgroup";
  Result r = sb.nyx({"delete", "--force", id});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(cg.existing().empty()) << "left: " << cg.existing()[0];
  // The hook of the killed create, which it started (its pid from the hook itself).
  if (pid_t hook = std::atoi(slurp(hook_pid).c_str()); hook > 0) kill(hook, SIGKILL);
  cfg["hooks"] = json::object();
  sb.write_config(cfg);
  r = sb.nyx({"run", "--bundle", sb.bundle, id});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(cg.existing().empty());
}

// An empty cpuset in a pre-existing parent (a pod made by hand): nyx fills it from the nearest
// ancestor, and the container runs confined in its cgroup, never in the root cpuset.
TEST(Cgroups, EmptyParentCpusetStaysConfined) {
  Sandbox sb;
  TestCgroup pod("pod");
  std::string ctrl = host_v2() ? "" : "cpuset";
  ASSERT_EQ(mkdir(host_dir(ctrl, pod.rel).c_str(), 0755), 0);
  json cfg = runc_like_config({"/bin/nyx-probe", "cat", "/proc/self/cgroup"});
  cfg["linux"]["cgroupsPath"] = pod.rel + "/ct";
  sb.write_config(cfg);
  Result r = sb.nyx({"run", "--bundle", sb.bundle, sb.id("cpuset")});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  std::string data = lines[0].value("data", "");
  EXPECT_NE(data.find((host_v2() ? "0::" : ":cpuset:") + pod.rel + "/ct\n"), std::string::npos)
      << data;
}

// An OOM kill shows in the final state (run --report: exit.oomKilled).
TEST(Cgroups, OomKillIsReported) {
  Sandbox sb;
  TestCgroup cg("oom");
  json cfg = runc_like_config({});
  cfg["linux"]["cgroupsPath"] = cg.rel;
  cfg["linux"]["resources"] = {{"memory", {{"limit", 33554432}, {"swap", 33554432}}}};
  sb.write_config(cfg);
  Result r;
  sb.probe(cfg, {"alloc", "256", "touch"}, &r, {"--report", sb.dir + "/oom.json"});
  EXPECT_EQ(r.status, 137) << r.err;
  json rep = json::parse(slurp(sb.dir + "/oom.json"), nullptr, false);
  ASSERT_TRUE(rep.is_object()) << r.err;
  EXPECT_EQ(rep["exit"].value("oomKilled", false), true) << rep["exit"].dump();
  // And a run that was not OOM-killed says nothing of it.
  sb.probe(cfg, {"alloc", "4", "touch"}, &r, {"--report", sb.dir + "/ok.json"});
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(json::parse(slurp(sb.dir + "/ok.json"))["exit"].contains("oomKilled"));
}

// pause/resume freeze the container's cgroup (v1 freezer, v2 cgroup.freeze); events and ps print
// what runc prints; exec joins the container's (nested) cgroup; delete removes every level.
// delete --force of a container whose init someone froze in a freezer cgroup of their own
// (crun's test_simple_delete): a frozen v1 task cannot die, so nyx moves the container's
// processes back into the container's own, thawed, freezer cgroup and the delete finishes. The
// other cgroup is left as it was (still FROZEN, now empty, so its owner can remove it).
// cgroup v1 only (v2 has no such move).
TEST(Cgroups, DeleteForceOfAnInitFrozenElsewhere) {
  if (host_v2() || !path_exists("/sys/fs/cgroup/freezer/cgroup.procs")) {
    GTEST_SKIP() << "needs the cgroup v1 freezer";
  }
  Sandbox sb;
  Detached c(sb, runc_like_config({"/bin/nyx-probe", "sleep", "60"}), "frozen-elsewhere");
  int pid = sb.state(c.id).value("pid", 0);
  ASSERT_GT(pid, 0);
  TestCgroup cg("frozen");
  std::string fr = host_dir("freezer", cg.rel);
  ASSERT_EQ(mkdir(fr.c_str(), 0755), 0);
  put(fr + "/cgroup.procs", std::to_string(pid));
  put(fr + "/freezer.state", "FROZEN");
  Result r = sb.nyx({"delete", "--force", c.id}, "", 20);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(sb.state(c.id).is_null());
  // Gone, or a zombie its parent has yet to reap.
  std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  EXPECT_TRUE(stat.empty() || stat.find(") Z ") != std::string::npos) << stat;
  EXPECT_EQ(slurp(fr + "/cgroup.procs"), "");
  EXPECT_EQ(slurp(fr + "/freezer.state"), "FROZEN");
  put(fr + "/freezer.state", "THAWED");
}

TEST(Cgroups, PauseEventsPsExec) {
  Sandbox sb;
  TestCgroup cg("ops");
  json cfg = runc_like_config({"/bin/nyx-probe", "sleep", "60"});
  cfg["linux"]["cgroupsPath"] = cg.rel + "/a/b";
  cfg["linux"]["resources"] = {{"memory", {{"limit", 67108864}}}, {"pids", {{"limit", 40}}}};
  {
    Detached c(sb, cfg, "ops");
    std::string fr = host_dir(host_v2() ? "" : "freezer", cg.rel + "/a/b");
    ASSERT_EQ(sb.nyx({"pause", c.id}).status, 0);
    EXPECT_EQ(sb.state(c.id)["status"], "paused");
    if (host_v2()) {
      EXPECT_EQ(field_value(slurp(fr + "/cgroup.events"), "frozen"), "1");
    } else {
      EXPECT_EQ(slurp(fr + "/freezer.state"), "FROZEN");
    }
    ASSERT_EQ(sb.nyx({"resume", c.id}).status, 0);
    EXPECT_EQ(sb.state(c.id)["status"], "running");
    EXPECT_EQ(host_v2() ? field_value(slurp(fr + "/cgroup.events"), "frozen")
                        : slurp(fr + "/freezer.state"),
              host_v2() ? "0" : "THAWED");

    Result r = sb.nyx({"events", "--stats", c.id});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out.rfind("{\"type\":\"stats\",\"id\":\"" + c.id + "\",\"data\":{", 0), 0u)
        << r.out;
    json ev = json::parse(r.out);
    for (const char* k : {"cpu", "memory", "pids", "blkio", "hugetlb"})
      EXPECT_TRUE(ev["data"].contains(k)) << k;
    EXPECT_EQ(ev["data"]["pids"].value("current", 0), 1);
    EXPECT_EQ(ev["data"]["pids"].value("limit", 0), 40);
    EXPECT_EQ(ev["data"]["memory"]["usage"].value("limit", 0ULL), 67108864ULL);
    EXPECT_GT(ev["data"]["memory"]["usage"].value("usage", 0ULL), 0ULL);
    // events without --stats: a stats line each interval, until the container is deleted (here
    // until the harness stops it; 4 s leaves a slow emulated VM time to start it).
    r = sb.nyx({"events", "--interval", "100ms", c.id}, "", 4);
    EXPECT_TRUE(r.timed_out);
    std::vector<json> evs = json_lines(r.out);
    EXPECT_GE(evs.size(), 2u) << r.out;
    for (const json& e : evs)
      EXPECT_EQ(e.value("type", ""), "stats") << e.dump();

    r = sb.nyx({"ps", c.id});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out.find("UID"), 0u) << r.out;
    EXPECT_NE(r.out.find("nyx-probe sleep 60"), std::string::npos) << r.out;
    r = sb.nyx({"ps", c.id, "-e", "-x"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("PID TTY"), std::string::npos) << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2) << r.out;
    r = sb.nyx({"ps", "-f", "json", c.id});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(json::parse(r.out).size(), 1u);

    r = sb.nyx({"exec", c.id, "/bin/nyx-probe", "cat", "/proc/self/cgroup"});
    ASSERT_EQ(r.status, 0) << r.err;
    std::string data = json_lines(r.out).at(0).value("data", "");
    EXPECT_NE(data.find((host_v2() ? "0::" : ":memory:") + cg.rel + "/a/b\n"), std::string::npos)
        << data;

    // exec --cgroup: a sub-cgroup that exists, never a parent, never a missing one (runc's
    // words, which scripts match).
    r = sb.nyx({"exec", "--cgroup", "..", c.id, "/bin/true"});
    EXPECT_EQ(r.status, 255);  // exec's own errors, as runc's
    EXPECT_NE(r.err.find(" .. is not a sub cgroup path"), std::string::npos) << r.err;
    r = sb.nyx({"exec", "--cgroup", "nonexistent", c.id, "/bin/true"});
    EXPECT_EQ(r.status, 255);
    EXPECT_NE(r.err.find("adding pid to cgroups: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("/nonexistent/cgroup.procs: no such file "), std::string::npos) << r.err;
    std::string ctrl = host_v2() ? "" : "memory";
    ASSERT_EQ(mkdir(host_dir(ctrl, cg.rel + "/a/b/sub").c_str(), 0755), 0);
    r = sb.nyx({"exec", "--cgroup", (host_v2() ? "" : "memory:") + std::string("sub"), c.id,
                "/bin/nyx-probe", "cat", "/proc/self/cgroup"});
    ASSERT_EQ(r.status, 0) << r.err;
    data = json_lines(r.out).at(0).value("data", "");
    EXPECT_NE(data.find((host_v2() ? "0::" : ":memory:") + cg.rel + "/a/b/sub\n"),
              std::string::npos)
        << data;
    r = sb.nyx({"exec", "--cgroup", "whaaat:/", c.id, "/bin/true"});
    EXPECT_EQ(r.status, 255);
    EXPECT_NE(r.err.find("unknown controller \"whaaat\""), std::string::npos) << r.err;
    if (!host_v2()) {
      // A controller list names each controller's hierarchy, whether the host mounts cpu and
      // cpuacct together or apart (runc's exec.bats "sub-cgroups [v1]").
      for (const char* h : {"cpu", "cpuacct"}) {
        int rc = mkdir(host_dir(h, cg.rel + "/a/b/subcpu").c_str(), 0755);
        ASSERT_TRUE(rc == 0 || errno == EEXIST) << h << ": " << std::strerror(errno);
      }
      r = sb.nyx({"exec", "--cgroup", "memory:sub", "--cgroup", "cpu,cpuacct:subcpu", c.id,
                  "/bin/nyx-probe", "cat", "/proc/self/cgroup"});
      ASSERT_EQ(r.status, 0) << r.err;
      data = json_lines(r.out).at(0).value("data", "");
      EXPECT_NE(data.find(":memory:" + cg.rel + "/a/b/sub\n"), std::string::npos) << data;
      for (const char* h : {"cpu", "cpuacct"}) {
        std::regex line(std::string("\\d+:([a-z_,]*,)?") + h + "(,[a-z_,]*)?:" + cg.rel +
                        "/a/b/subcpu\n");
        EXPECT_TRUE(std::regex_search(data, line)) << h << " in " << data;
      }
    }
  }
  EXPECT_TRUE(cg.existing().empty()) << "left: " << cg.existing()[0];
}

}  // namespace
}  // namespace nyx::test

namespace nyx::test {
namespace {

bool systemd_pid1() {
  return path_exists("/run/systemd/system");
}

std::string unit_property(const std::string& unit, const std::string& prop) {
  Result r = run({"systemctl", "show", "-p", prop, "--value", unit});
  std::string v = r.out;
  while (!v.empty() && (v.back() == '\n' || v.back() == ' '))
    v.pop_back();
  return v;
}

// --systemd-cgroup: the container's cgroup is a transient scope (runc's "slice:prefix:name"),
// its resources unit properties and files; update changes both; exec joins it; delete stops it,
// and a killed create leaves nothing that delete --force cannot remove. Without systemd as init
// the flag is refused at once.
TEST(CgroupsSystemd, ScopeLifecycle) {
  Sandbox sb;
  json cfg = runc_like_config({"/bin/nyx-probe", "sleep", "60"});
  const std::string name = "it-" + std::to_string(getpid());
  const std::string unit = "nyx-" + name + ".scope";
  cfg["linux"]["cgroupsPath"] = "machine.slice:nyx:" + name;
  cfg["linux"]["resources"] = {{"memory", {{"limit", 67108864}}}, {"pids", {{"limit", 33}}}};
  sb.write_config(cfg);
  const std::string id = sb.id("sd");
  if (!systemd_pid1()) {
    Result r = sb.nyx({"--systemd-cgroup", "run", "-d", "--bundle", sb.bundle, id});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("systemd is not running"), std::string::npos) << r.err;
    r = sb.nyx({"--cgroup-manager", "systemd", "run", "-d", "--bundle", sb.bundle, id});
    EXPECT_EQ(r.status, 1);
    return;
  }
  Result r = sb.nyx({"--systemd-cgroup", "run", "-d", "--bundle", sb.bundle, id});
  ASSERT_EQ(r.status, 0) << r.err;
  json st = sb.state(id);
  int pid = st["pid"].get<int>();
  EXPECT_EQ(slurp("/proc/" + std::to_string(pid) + "/cgroup"), "0::/machine.slice/" + unit);
  EXPECT_EQ(unit_property(unit, "ActiveState"), "active");
  EXPECT_EQ(unit_property(unit, "MemoryMax"), "67108864");
  EXPECT_EQ(unit_property(unit, "TasksMax"), "33");
  EXPECT_EQ(slurp("/sys/fs/cgroup/machine.slice/" + unit + "/memory.max"), "67108864");
  json rec = st["hardening"]["primitives"]["cgroups"];
  EXPECT_EQ(rec["driver"], "systemd") << rec.dump();
  EXPECT_EQ(rec["unit"], unit) << rec.dump();
  EXPECT_EQ(rec["version"], "v2") << rec.dump();
  r = sb.nyx({"update", "--memory", "96M", "--pids-limit", "44", id});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(unit_property(unit, "MemoryMax"), "100663296");
  EXPECT_EQ(unit_property(unit, "TasksMax"), "44");
  EXPECT_EQ(slurp("/sys/fs/cgroup/machine.slice/" + unit + "/memory.max"), "100663296");
  r = sb.nyx({"exec", id, "/bin/nyx-probe", "cat", "/proc/self/cgroup"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(json_lines(r.out).at(0).value("data", ""), "0::/machine.slice/" + unit + "\n");
  ASSERT_EQ(sb.nyx({"pause", id}).status, 0);
  EXPECT_EQ(sb.state(id)["status"], "paused");
  ASSERT_EQ(sb.nyx({"resume", id}).status, 0);
  r = sb.nyx({"delete", "--force", id});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(unit_property(unit, "ActiveState"), "active");
  EXPECT_FALSE(path_exists("/sys/fs/cgroup/machine.slice/" + unit));

  // The default: system.slice:nyx-runtime:ID.
  cfg["linux"].erase("cgroupsPath");
  cfg["process"]["args"] = {"/bin/nyx-probe", "cat", "/proc/self/cgroup"};
  sb.write_config(cfg);
  const std::string id2 = sb.id("sddef");
  r = sb.nyx({"--systemd-cgroup", "run", "--bundle", sb.bundle, id2});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(json_lines(r.out).at(0).value("data", ""),
            "0::/system.slice/nyx-runtime-" + id2 + ".scope\n");
  EXPECT_FALSE(path_exists("/sys/fs/cgroup/system.slice/nyx-runtime-" + id2 + ".scope"));

  // A create killed while a createRuntime hook runs: delete --force stops the scope.
  const std::string hook_pid = sb.dir + "/hook.pid";
  cfg["linux"]["cgroupsPath"] = "machine.slice:nyx:" + name + "-k";
  cfg["hooks"]["createRuntime"] = {
      {{"path", "/bin/sh"}, {"args", {"sh", "-c", "echo $$ > " + hook_pid + "; exec sleep 30"}}}};
  sb.write_config(cfg);
  const std::string id3 = sb.id("sdkill");
  const std::string unit3 = "nyx-" + name + "-k.scope";
  std::vector<std::string> argv =
      sb.nyx_argv({"--systemd-cgroup", "create", "--bundle", sb.bundle, id3});
  pid_t creator = fork();
  ASSERT_GE(creator, 0);
  if (creator == 0) {
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    execv(argv[0].c_str(), c_argv(argv).data());
    _exit(127);
  }
  for (int i = 0; i < 3000 && slurp(hook_pid).empty(); ++i)
    usleep(10000);
  EXPECT_EQ(unit_property(unit3, "ActiveState"), "active");
  kill(creator, SIGKILL);
  int status = 0;
  waitpid(creator, &status, 0);
  if (pid_t hook = std::atoi(slurp(hook_pid).c_str()); hook > 0) kill(hook, SIGKILL);
  r = sb.nyx({"delete", "--force", id3});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(unit_property(unit3, "ActiveState"), "active");
  EXPECT_FALSE(path_exists("/sys/fs/cgroup/machine.slice/" + unit3));
  // And the name starts again.
  cfg["hooks"] = json::object();
  cfg["process"]["args"] = {"/bin/nyx-probe", "exit", "0"};
  sb.write_config(cfg);
  r = sb.nyx({"--systemd-cgroup", "run", "--bundle", sb.bundle, id3});
  EXPECT_EQ(r.status, 0) << r.err;
}

}  // namespace
}  // namespace nyx::test
