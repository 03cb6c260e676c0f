// Typed model of an OCI runtime-spec config.json (1.0.x / 1.1), as far as nyx uses it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace nyx {

enum class NsType : std::uint8_t { User, Pid, Mount, Ipc, Uts, Network, Cgroup, Time };
inline constexpr std::size_t kNsTypeCount = 8;

// The runtime-spec name ("user", "pid", "mount", "ipc", "uts", "network", "cgroup", "time").
std::string_view ns_type_name(NsType type);
std::optional<NsType> ns_type_from_name(std::string_view name);

struct Rlimit {
  int resource = 0;  // RLIMIT_*
  std::string name;  // "RLIMIT_NOFILE"
  std::uint64_t soft = 0;
  std::uint64_t hard = 0;
};

struct User {
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::optional<std::uint32_t> umask;
  std::vector<std::uint32_t> additional_gids;
};

// Capability sets as bit masks (bit N = capability N), resolved from CAP_* names.
struct CapabilitySets {
  std::uint64_t bounding = 0;
  std::uint64_t effective = 0;
  std::uint64_t inheritable = 0;
  std::uint64_t permitted = 0;
  std::uint64_t ambient = 0;
};

struct ConsoleSize {
  unsigned height = 0;
  unsigned width = 0;
};

// process.landlock, shaped after the runtime-spec draft (opencontainers/runtime-spec PR 1241,
// not merged): rights as masks of bundle/landlock_rights.hpp. docs/config.md documents it.
struct LandlockPathRule {
  std::uint64_t allowed = 0;
  std::vector<std::string> paths;  // absolute container paths
};

struct LandlockPortRule {
  std::uint64_t allowed = 0;
  std::vector<std::uint16_t> ports;
};

struct Landlock {
  std::optional<std::uint64_t> handled_fs;   // absent: every filesystem right the kernel has
  std::optional<std::uint64_t> handled_net;  // absent: the rights the netPort rules name
  std::uint64_t scoped = 0;                  // a nyx extension (ABI 6 scopes)
  std::vector<LandlockPathRule> path_beneath;
  std::vector<LandlockPortRule> net_port;
  bool disable_best_effort = false;
};

// runtime-spec 1.1 process.ioPriority: ioprio_set(2)'s class (IOPRIO_CLASS_*) and level.
struct IoPriority {
  int io_class = 0;
  int priority = 0;
};

// runtime-spec 1.1 process.scheduler: sched_setattr(2)'s fields.
struct Scheduler {
  std::uint32_t policy = 0;  // SCHED_*
  std::uint64_t flags = 0;   // SCHED_FLAG_*
  std::int32_t nice = 0;
  std::uint32_t priority = 0;
  std::uint64_t runtime = 0;
  std::uint64_t deadline = 0;
  std::uint64_t period = 0;
};

struct Process {
  bool terminal = false;
  std::optional<ConsoleSize> console_size;
  User user;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  std::optional<CapabilitySets> capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::optional<int> oom_score_adj;
  std::optional<IoPriority> io_priority;
  std::optional<Scheduler> scheduler;
  std::string apparmor_profile;
  std::string selinux_label;
  std::optional<Landlock> landlock;
};

struct Root {
  std::string path;
  bool readonly = false;
};

struct IdMapping {
  std::uint32_t container_id = 0;
  std::uint32_t host_id = 0;
  std::uint32_t size = 0;
};

struct Mount {
  std::string destination;
  std::string type;
  std::string source;
  std::vector<std::string> options;
  // An idmapped bind mount's own mappings (runtime-spec 1.1: mounts[].uidMappings, written to
  // the mount's user namespace as the container's are).
  std::vector<IdMapping> uid_mappings;
  std::vector<IdMapping> gid_mappings;
};

struct Namespace {
  NsType type = NsType::Mount;
  std::string path;  // empty: create a new one
};

struct SeccompArg {
  unsigned index = 0;
  std::uint64_t value = 0;
  std::uint64_t value_two = 0;
  std::string op;  // "SCMP_CMP_EQ", ...
};

struct SeccompRule {
  std::vector<std::string> names;
  std::string action;
  std::optional<std::uint32_t> errno_ret;
  std::vector<SeccompArg> args;
};

struct Seccomp {
  std::string default_action;
  std::optional<std::uint32_t> default_errno_ret;
  std::vector<std::string> architectures;
  std::vector<std::string> flags;
  std::string listener_path;
  std::string listener_metadata;
  bool notify = false;  // some rule is SCMP_ACT_NOTIFY
  std::vector<SeccompRule> syscalls;
};

struct Device {
  std::string path;
  char type = 'c';  // 'c', 'u', 'b' or 'p'
  std::int64_t major = 0;
  std::int64_t minor = 0;
  std::optional<std::uint32_t> file_mode;
  std::optional<std::uint32_t> uid;
  std::optional<std::uint32_t> gid;
};

struct Hook {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  bool has_env = false;  // "env" was given: without it the hook gets the runtime's environment
  std::optional<int> timeout;  // seconds
};

struct Hooks {
  std::vector<Hook> prestart;
  std::vector<Hook> create_runtime;
  std::vector<Hook> create_container;
  std::vector<Hook> start_container;
  std::vector<Hook> poststart;
  std::vector<Hook> poststop;
  bool empty() const {
    return prestart.empty() && create_runtime.empty() && create_container.empty() &&
           start_container.empty() && poststart.empty() && poststop.empty();
  }
};

// linux.resources, typed where nyx applies it; `raw` keeps the section as given.
struct DeviceRule {
  bool allow = false;
  char type = 'a';
  std::optional<std::int64_t> major;
  std::optional<std::int64_t> minor;
  std::string access = "rwm";
};

// blockIO.weightDevice[]: a per-device weight (v1 blkio.weight_device, v2 io.weight).
struct BlkioWeightDevice {
  std::int64_t major = 0;
  std::int64_t minor = 0;
  std::optional<std::uint16_t> weight;
  std::optional<std::uint16_t> leaf_weight;
};

// blockIO.throttle*Device[]: a per-device rate (bytes or I/O operations per second).
struct BlkioThrottle {
  std::int64_t major = 0;
  std::int64_t minor = 0;
  std::uint64_t rate = 0;
};

// hugepageLimits[]: "2MB", "1GB", ... and the byte limit.
struct HugepageLimit {
  std::string page_size;
  std::uint64_t limit = 0;
};

// network.priorities[]: an interface and its priority (net_prio.ifpriomap).
struct NetPriority {
  std::string name;
  std::uint32_t priority = 0;
};

struct Resources {
  std::optional<std::int64_t> memory_limit;
  std::optional<std::int64_t> memory_reservation;
  std::optional<std::int64_t> memory_swap;
  std::optional<std::int64_t> memory_kernel;  // no kernel-memory limit since Linux 6.x: a warning
  std::optional<std::int64_t> memory_kernel_tcp;
  std::optional<std::uint64_t> memory_swappiness;
  std::optional<bool> disable_oom_killer;
  std::optional<bool> memory_use_hierarchy;
  std::optional<bool> memory_check_before_update;
  std::optional<std::int64_t> pids_limit;
  std::optional<std::uint64_t> cpu_shares;
  std::optional<std::int64_t> cpu_quota;
  std::optional<std::uint64_t> cpu_period;
  std::optional<std::uint64_t> cpu_burst;
  std::optional<std::int64_t> cpu_rt_runtime;
  std::optional<std::uint64_t> cpu_rt_period;
  std::optional<std::int64_t> cpu_idle;
  std::string cpuset_cpus;
  std::string cpuset_mems;
  std::optional<std::uint16_t> blkio_weight;
  std::optional<std::uint16_t> blkio_leaf_weight;
  std::vector<BlkioWeightDevice> blkio_weight_devices;
  std::vector<BlkioThrottle> blkio_read_bps;
  std::vector<BlkioThrottle> blkio_write_bps;
  std::vector<BlkioThrottle> blkio_read_iops;
  std::vector<BlkioThrottle> blkio_write_iops;
  std::vector<HugepageLimit> hugepage_limits;
  std::optional<std::uint32_t> net_class_id;
  std::vector<NetPriority> net_priorities;
  std::map<std::string, std::string> unified;  // cgroup v2 file -> value
  std::vector<DeviceRule> devices;
  nlohmann::json raw;  // null when absent
  bool empty() const { return raw.is_null() || raw.empty(); }
  bool has_memory() const {
    return memory_limit || memory_reservation || memory_swap || memory_kernel ||
           memory_kernel_tcp || memory_swappiness || disable_oom_killer;
  }
  bool has_cpu() const {
    return cpu_shares || cpu_quota || cpu_period || cpu_burst || cpu_rt_runtime || cpu_rt_period ||
           cpu_idle;
  }
  bool has_cpuset() const { return !cpuset_cpus.empty() || !cpuset_mems.empty(); }
  bool has_blkio() const {
    return blkio_weight || blkio_leaf_weight || !blkio_weight_devices.empty() ||
           !blkio_read_bps.empty() || !blkio_write_bps.empty() || !blkio_read_iops.empty() ||
           !blkio_write_iops.empty();
  }
  bool has_network() const { return net_class_id || !net_priorities.empty(); }
};

struct Linux {
  // linux.personality's domain, as personality(2) takes it (PER_LINUX, PER_LINUX32).
  std::optional<unsigned long> personality;
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings;
  std::vector<IdMapping> gid_mappings;
  std::map<std::string, std::string> sysctl;
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  std::optional<Seccomp> seccomp;
  std::vector<Device> devices;
  Resources resources;
  std::string cgroups_path;
  std::string rootfs_propagation;
  std::string mount_label;

  const Namespace* find_namespace(NsType type) const;
};

struct Config {
  std::string oci_version;
  Root root;
  std::optional<Process> process;
  std::string hostname;
  std::string domainname;
  std::vector<Mount> mounts;
  Linux linux;
  Hooks hooks;
  std::map<std::string, std::string> annotations;
  nlohmann::json raw;  // the document as parsed, kept in the state for exec
  std::string sha256;  // hex digest of the bytes load_config read ("" when not from a file)
};

// Which namespace makes a sysctl safe to set for one container only (runc's rule); nullopt for
// one that is not namespaced.
std::optional<NsType> sysctl_namespace(std::string_view key);

// Largest config.json nyx reads; larger files are refused before parsing.
inline constexpr std::size_t kMaxConfigBytes = 16u << 20;

// Parses and validates config text. Throws Error naming the JSON path ("process.args: expected
// array of strings") or, for syntax errors, the line and column.
Config parse_config(std::string_view text);

// The same for an already parsed document.
Config parse_config_json(nlohmann::json doc);

// A process object alone (exec --process), checked as config.json's "process".
Process parse_process_json(const nlohmann::json& doc);

// The number of "CAP_SYS_ADMIN", or nullopt for a name that is not a CAP_* capability.
std::optional<int> capability_from_name(std::string_view name);

// Reads `path` without blocking on FIFOs or following a final symlink, refusing anything that is
// not a regular file of at most kMaxConfigBytes, and parses it.
Config load_config(const std::string& path);

}  // namespace nyx
