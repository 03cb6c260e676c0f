// linux.resources parsing, the device rules' v1 semantics and their eBPF program (loaded into
// the kernel, which verifies it), and the systemd driver's paths and unit properties.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "base/error.hpp"
#include "bundle/config.hpp"
#include "runtime/cgroup_devices.hpp"
#include "runtime/systemd_cgroup.hpp"

namespace nyx {
namespace {

Resources resources(const std::string& json) {
  std::string text = R"({"ociVersion": "1.0.2", "root": {"path": "rootfs"},
    "process": {"args": ["/bin/true"], "cwd": "/"}, "linux": {"resources": )" +
                     json + "}}";
  return parse_config(text).linux.resources;
}

std::string error_of(const std::string& json) {
  try {
    resources(json);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Resources, ParsesEverySection) {
  Resources r = resources(R"({
    "memory": {"limit": 1048576, "swap": 2097152, "kernel": 10, "kernelTCP": 20, "swappiness": 10,
               "disableOOMKiller": true},
    "cpu": {"shares": 512, "quota": 50000, "period": 100000, "realtimeRuntime": 950,
            "realtimePeriod": 1000, "burst": 1000, "idle": 1, "cpus": "0-1", "mems": "0"},
    "blockIO": {"weight": 500, "leafWeight": 300,
                "weightDevice": [{"major": 8, "minor": 0, "weight": 600, "leafWeight": 20}],
                "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
                "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 300}]},
    "hugepageLimits": [{"pageSize": "2MB", "limit": 2097152}, {"pageSize": "1GB", "limit": 0}],
    "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 500}]},
    "unified": {"memory.high": "max"},
    "devices": [{"allow": false, "access": "rwm"},
                {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "rwa"}]})");
  EXPECT_EQ(r.memory_kernel, 10);
  EXPECT_EQ(r.memory_kernel_tcp, 20);
  EXPECT_EQ(r.memory_swappiness, 10u);
  EXPECT_EQ(r.disable_oom_killer, true);
  EXPECT_EQ(r.cpu_rt_runtime, 950);
  EXPECT_EQ(r.cpu_rt_period, 1000u);
  EXPECT_EQ(r.cpu_burst, 1000u);
  EXPECT_EQ(r.cpu_idle, 1);
  EXPECT_EQ(r.blkio_weight, 500);
  EXPECT_EQ(r.blkio_leaf_weight, 300);
  ASSERT_EQ(r.blkio_weight_devices.size(), 1u);
  EXPECT_EQ(r.blkio_weight_devices[0].weight, 600);
  EXPECT_EQ(r.blkio_weight_devices[0].leaf_weight, 20);
  ASSERT_EQ(r.blkio_read_bps.size(), 1u);
  EXPECT_EQ(r.blkio_read_bps[0].rate, 1048576u);
  ASSERT_EQ(r.blkio_write_iops.size(), 1u);
  EXPECT_EQ(r.blkio_write_iops[0].minor, 16);
  ASSERT_EQ(r.hugepage_limits.size(), 2u);
  EXPECT_EQ(r.hugepage_limits[1].page_size, "1GB");
  EXPECT_EQ(r.net_class_id, 1048577u);
  ASSERT_EQ(r.net_priorities.size(), 1u);
  EXPECT_EQ(r.net_priorities[0].name, "eth0");
  EXPECT_EQ(r.unified.at("memory.high"), "max");
  // "rwa" as runc takes it: r and w; the "a" means nothing.
  EXPECT_EQ(r.devices[1].access, "rw");
  EXPECT_TRUE(r.has_memory() && r.has_cpu() && r.has_blkio() && r.has_network());
}

TEST(Resources, RefusesWhatCannotBeRight) {
  EXPECT_EQ(error_of(R"({"hugepageLimits": [{"pageSize": "3MB", "limit": 1}]})"),
            "linux.resources.hugepageLimits[0].pageSize: invalid huge page size \"3MB\" (expected "
            "a power of two with a unit: 2MB, 1GB)");
  EXPECT_NE(error_of(R"({"hugepageLimits": [{"pageSize": "2M", "limit": 1}]})"), "");
  EXPECT_NE(error_of(R"({"hugepageLimits": [{"limit": 1}]})").find("missing required field"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"blockIO": {"weight": 5}})").find("10..1000"), std::string::npos);
  EXPECT_NE(error_of(R"({"blockIO": {"throttleReadBpsDevice": [{"major": 8, "rate": 1}]}})")
                .find("minor: missing required field"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"network": {"priorities": [{"name": "a/b", "priority": 1}]}})"), "");
  EXPECT_NE(error_of(R"({"memory": {"swappiness": 101}})").find("0..100"), std::string::npos);
  EXPECT_NE(error_of(R"({"cpu": {"realtimeRuntime": -2}})"), "");
  EXPECT_NE(error_of(R"({"devices": [{"allow": true, "access": "rx"}]})"), "");
  EXPECT_NE(error_of(R"({"unified": {"../x": "1"}})"), "");
}

TEST(Resources, SignedNonNegativeValuesAreUnsigned) {
  // update's flags build the document in code, with signed integers.
  nlohmann::json doc = {
      {"ociVersion", "1.0.2"},
      {"root", {{"path", "/"}}},
      {"linux",
       {{"resources",
         {{"cpu", {{"period", std::int64_t{900000}}, {"shares", std::int64_t{512}}}}}}}}};
  Config c = parse_config_json(doc);
  EXPECT_EQ(c.linux.resources.cpu_period, 900000u);
  EXPECT_EQ(c.linux.resources.cpu_shares, 512u);
  doc["linux"]["resources"]["cpu"]["period"] = std::int64_t{-5};
  EXPECT_THROW(parse_config_json(doc), Error);
}

DeviceRule rule(bool allow, char type, std::int64_t major, std::int64_t minor, const char* access) {
  DeviceRule r;
  r.allow = allow;
  r.type = type;
  if (major >= 0) r.major = major;
  if (minor >= 0) r.minor = minor;
  r.access = access;
  return r;
}

using namespace cgroup;

TEST(DeviceFilter, FoldsLikeTheV1Controller) {
  // runc's default: deny all, then the allow list (and nyx's defaults after it).
  DeviceFilter f =
      device_filter({rule(false, 'a', -1, -1, "rwm"), rule(true, 'c', 10, 200, "rwm")});
  EXPECT_FALSE(f.default_allow);
  EXPECT_TRUE(filter_allows(f, 'c', 10, 200, kRead | kWrite));
  EXPECT_TRUE(filter_allows(f, 'c', 1, 3, kRead | kWrite));  // /dev/null (default)
  EXPECT_TRUE(filter_allows(f, 'c', 136, 7, kRead));         // a pty (136:*)
  EXPECT_TRUE(filter_allows(f, 'b', 8, 0, kMknod));          // mknod of anything
  EXPECT_FALSE(filter_allows(f, 'b', 8, 0, kRead));
  EXPECT_FALSE(filter_allows(f, 'c', 1, 11, kRead));  // /dev/kmsg
  // A later deny narrows an earlier allow.
  f = device_filter(
      {rule(false, 'a', -1, -1, "rwm"), rule(true, 'c', 4, 1, "rwm"), rule(false, 'c', 4, 1, "w")});
  EXPECT_TRUE(filter_allows(f, 'c', 4, 1, kRead));
  EXPECT_FALSE(filter_allows(f, 'c', 4, 1, kWrite));
  EXPECT_FALSE(filter_allows(f, 'c', 4, 1, kRead | kWrite));
  // Without a deny-all the default stays allow, and a deny refuses any of its bits.
  f = device_filter({rule(false, 'c', 1, 11, "rw")});
  EXPECT_TRUE(f.default_allow);
  EXPECT_FALSE(filter_allows(f, 'c', 1, 11, kRead));
  EXPECT_FALSE(filter_allows(f, 'c', 1, 11, kRead | kMknod));
  EXPECT_TRUE(filter_allows(f, 'c', 1, 11, kMknod));
  EXPECT_TRUE(filter_allows(f, 'b', 8, 0, kRead | kWrite));
  // An "a" rule in the middle resets everything before it.
  f = device_filter({rule(true, 'c', 4, 1, "rwm"), rule(false, 'a', -1, -1, "")});
  EXPECT_FALSE(filter_allows(f, 'c', 4, 1, kRead));
}

// The program the kernel gets: its verifier accepts it, for default-deny and default-allow
// filters, with wildcard and exact numbers.
TEST(DeviceFilter, ProgramPassesTheVerifier) {
  if (geteuid() != 0) GTEST_SKIP() << "loading a BPF program needs root";
  for (const auto& rules :
       {std::vector<DeviceRule>{rule(false, 'a', -1, -1, "rwm"), rule(true, 'c', 10, 200, "rw"),
                                rule(true, 'b', -1, 3, "m")},
        std::vector<DeviceRule>{rule(false, 'c', 1, 11, "rwm")}, std::vector<DeviceRule>{}}) {
    std::vector<BpfInsn> prog = device_program(device_filter(rules));
    static const char kLicense[] = "GPL";
    static char log[1 << 16];
    bpf_attr attr{};
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insn_cnt = static_cast<std::uint32_t>(prog.size());
    attr.insns = reinterpret_cast<std::uint64_t>(prog.data());
    attr.license = reinterpret_cast<std::uint64_t>(kLicense);
    long fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
    if (fd < 0) {  // again, for the verifier's account of why
      attr.log_buf = reinterpret_cast<std::uint64_t>(log);
      attr.log_size = sizeof log;
      attr.log_level = 1;
      syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
    }
    EXPECT_GE(fd, 0) << "errno " << errno << ": " << log;
    if (fd >= 0) close(static_cast<int>(fd));
  }
}

// The program attached to a real cgroup (the unified hierarchy, v2 or hybrid): a process in it
// opens what the rules allow and gets EPERM for the rest.
TEST(DeviceFilter, ProgramEnforcesInACgroup) {
  if (geteuid() != 0) GTEST_SKIP() << "attaching a BPF program needs root";
  std::string base =
      access("/sys/fs/cgroup/unified", F_OK) == 0 ? "/sys/fs/cgroup/unified" : "/sys/fs/cgroup";
  std::string dir = base + "/nyx-unit-devices-" + std::to_string(getpid());
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0) << errno;
  ASSERT_EQ(
      attach_device_program(dir, {rule(false, 'a', -1, -1, "rwm"), rule(true, 'c', 1, 11, "rwm")}),
      0);
  // Rules replaced by an update: the new program alone decides (/dev/kmsg read only).
  ASSERT_EQ(
      attach_device_program(dir, {rule(false, 'a', -1, -1, "rwm"), rule(true, 'c', 1, 11, "r")}),
      0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::string me = std::to_string(getpid());
    int fd = open((dir + "/cgroup.procs").c_str(), O_WRONLY);
    if (fd < 0 || write(fd, me.data(), me.size()) < 0) _exit(10);
    close(fd);
    int null_rw = open("/dev/null", O_RDWR);   // 1:3 rw: a default rule
    int kmsg_r = open("/dev/kmsg", O_RDONLY);  // 1:11 r
    int kmsg_w = open("/dev/kmsg", O_WRONLY);  // 1:11 w: denied
    int kmsg_errno = errno;
    int tty = open("/dev/tty0", O_RDONLY);  // 4:0: denied (no rule)
    int tty_errno = errno;
    int random = open("/dev/urandom", O_RDONLY);  // 1:9: a default rule
    if (null_rw < 0) _exit(21);
    if (kmsg_r < 0) _exit(22);
    if (kmsg_w >= 0 || kmsg_errno != EPERM) _exit(23);
    if (tty >= 0 || (tty_errno != EPERM && tty_errno != ENOENT)) _exit(24);
    _exit(random >= 0 ? 0 : 25);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  rmdir(dir.c_str());
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(SystemdPath, RuncsSlicePrefixName) {
  SystemdPath p = parse_systemd_path("machine.slice:libpod:abc", "id");
  EXPECT_EQ(p.slice, "machine.slice");
  EXPECT_EQ(p.unit, "libpod-abc.scope");
  EXPECT_EQ(p.cgroup, "/machine.slice/libpod-abc.scope");
  p = parse_systemd_path("machine-pod1.slice:nyx:c1", "id");
  EXPECT_EQ(p.cgroup, "/machine.slice/machine-pod1.slice/nyx-c1.scope");
  p = parse_systemd_path("", "c2");
  EXPECT_EQ(p.unit, "nyx-runtime-c2.scope");
  EXPECT_EQ(p.cgroup, "/system.slice/nyx-runtime-c2.scope");
  p = parse_systemd_path(":crio:x", "id");
  EXPECT_EQ(p.slice, "system.slice");
  p = parse_systemd_path("-.slice::y", "id");
  EXPECT_EQ(p.unit, "y.scope");
  EXPECT_EQ(p.cgroup, "/y.scope");
  EXPECT_THROW(parse_systemd_path("/a/b", "id"), Error);
  EXPECT_THROW(parse_systemd_path("machine.slice:x", "id"), Error);
  EXPECT_THROW(parse_systemd_path("notaslice:x:y", "id"), Error);
  EXPECT_THROW(parse_systemd_path("a--b.slice:x:y", "id"), Error);
  EXPECT_THROW(parse_systemd_path("machine.slice:x:y/z", "id"), Error);
}

TEST(SystemdPath, UnitProperties) {
  Resources r;
  r.memory_limit = 67108864;
  r.memory_swap = 100663296;
  r.pids_limit = -1;
  r.cpu_shares = 1024;
  r.cpu_quota = 50000;
  r.cpu_period = 100000;
  std::vector<std::string> p = systemd_properties(r);
  auto has = [&](const std::string& s) { return std::find(p.begin(), p.end(), s) != p.end(); };
  EXPECT_TRUE(has("t:MemoryMax=67108864"));
  EXPECT_TRUE(has("t:MemorySwapMax=33554432"));
  EXPECT_TRUE(has("t:TasksMax=18446744073709551615"));
  EXPECT_TRUE(has("t:CPUWeight=39"));
  EXPECT_TRUE(has("t:CPUQuotaPerSecUSec=500000"));
  EXPECT_TRUE(has("t:CPUQuotaPeriodUSec=100000"));
}

}  // namespace
}  // namespace nyx
