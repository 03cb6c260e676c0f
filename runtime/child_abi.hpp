// What passes between the parent and the container init: the plan the parent computes and the
// init executes between clone and execve (SPEC §4), and the report it sends back. Plain data
// only, no library types: the child reads it without allocating, locking or throwing.
//
// ChildPlan holds raw pointers into storage the parent owns (PlanStorage, plan.hpp). The child
// is created with fork semantics (no CLONE_VM), so it sees an identical copy of that memory at
// the same addresses.
#pragma once

#include <linux/filter.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <cstdint>
#include <span>

#include "runtime/primitives.hpp"

namespace nyx {

struct MountStep {
  const char* source = nullptr;   // binds: /proc/self/fd/N of the source; else the fs source
  const char* origin = nullptr;   // the config's source, for errors
  int tree = -1;                  // binds: a detached copy of the source (open_tree), moved in
  const char* target = nullptr;   // relative to the rootfs ("dev/pts")
  const char* fstype = nullptr;   // nullptr for binds
  const char* data = nullptr;     // filesystem options, or nullptr
  unsigned long flags = 0;        // flags of the first mount(2)
  unsigned long remount = 0;      // for binds: flags of a MS_REMOUNT|MS_BIND pass, 0 = none
  unsigned long propagation = 0;  // MS_SHARED/MS_SLAVE/... (| MS_REC), 0 = none
  std::uint64_t attr_set = 0;     // binds: MOUNT_ATTR_* set on every mount of the copy (rro, ...)
  std::uint64_t attr_clr = 0;
  bool bind = false;
  bool target_is_file = false;  // the mount point to create is a file (bind of a file)
  bool strict_target = false;   // no symlink at all on the way (proc, sysfs, /dev)
  bool remount_only = false;    // only the MS_REMOUNT pass, on an existing mount point
  bool idmapped = false;        // the tree carries an ID mapping a fresh copy would not have
  // The filesystem needs a namespace the experiment ablated (proc: pid, mqueue: ipc): a
  // failure is recorded instead of stopping the container.
  bool tolerate = false;
  std::uint16_t index = 0;  // position in config mounts, for the record
};

struct DeviceNode {
  const char* target = nullptr;  // relative to the rootfs ("dev/null")
  const char* host = nullptr;    // host node to bind when mknod is not possible (user namespace)
  mode_t mode = 0;               // S_IFCHR | 0666
  dev_t dev = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  // User namespace: the node's name in the runtime's staging tmpfs (ChildPlan::dev_stage),
  // made there by the runtime with the config's numbers and owner; nullptr: bind `host`.
  const char* staged = nullptr;
};

// sched_setattr(2)'s argument, first version (SCHED_ATTR_SIZE_VER0): glibc has no declaration,
// and the kernel header's clashes with glibc's sched_param.
struct SchedAttr {
  std::uint32_t size = sizeof(SchedAttr);
  std::uint32_t sched_policy = 0;
  std::uint64_t sched_flags = 0;
  std::int32_t sched_nice = 0;
  std::uint32_t sched_priority = 0;
  std::uint64_t sched_runtime = 0;
  std::uint64_t sched_deadline = 0;
  std::uint64_t sched_period = 0;
};
static_assert(sizeof(SchedAttr) == 48);

struct DevSymlink {
  const char* link_target = nullptr;  // "/proc/self/fd"
  const char* name = nullptr;         // relative to the rootfs ("dev/fd")
};

struct SysctlStep {
  const char* path = nullptr;  // "/proc/sys/net/ipv4/ip_forward", resolved in the root
  const char* value = nullptr;
  const char* key = nullptr;  // "net.ipv4.ip_forward", for errors
};

struct NsJoin {
  int fd = -1;
  int nstype = 0;         // CLONE_NEW*
  std::uint8_t type = 0;  // NsType
};

struct RlimitStep {
  int resource = 0;
  struct rlimit limit {};
  Prim prim = Prim::Rlimits;
  const char* name = nullptr;  // "RLIMIT_NOFILE", for errors
};

// One Landlock path rule (runtime/primitives/landlock.cpp): opened in the child after the root
// change, O_PATH and inside the root, so a rule can only ever name the container's files.
struct LandlockPathStep {
  const char* path = nullptr;  // relative to the container root; "." is the root itself
  std::uint64_t access = 0;    // allowed rights (within the handled ones; files get file rights)
  bool harness_root = false;   // "/" as the harness will see it (the host's with root ablated)
};

struct LandlockPortStep {
  std::uint64_t port = 0;
  std::uint64_t access = 0;
};

struct LandlockPlan {
  int abi = 0;  // the kernel's Landlock ABI, probed by the parent; 0: nothing to do
  std::uint64_t handled_fs = 0;
  std::uint64_t handled_net = 0;
  std::uint64_t scoped = 0;
  std::span<const LandlockPathStep> rules;
  std::span<const LandlockPortStep> ports;
  bool strict = false;  // disableBestEffort: a rule whose path is missing fails the primitive
};

enum class RootMethod : std::uint8_t { None, PivotRoot, Chroot };

struct TerminalPlan {
  bool enabled = false;        // allocate a pty in the container's /dev/ptmx for stdio
  bool console_mount = false;  // bind it on /dev/console (the init, not exec)
  unsigned short rows = 0;
  unsigned short cols = 0;
};

inline constexpr std::size_t kMaxRlimitSteps = 16;

struct ChildPlan {
  // Synchronisation with the parent.
  int sock = -1;             // child end of the status socket (SOCK_SEQPACKET)
  int exec_fifo = -1;        // create mode: blocks here until `start`; -1: released via sock
  bool wait_for_go = false;  // maps to write or cgroups to join before the child continues
  bool hooks_stop = false;   // pause before the root change so the parent can run hooks
  bool join_only = false;    // exec: joins a running container, whose root it already has
  // exec into a pid namespace: the joining process stays outside it (invisible to the
  // container) and forks the exec'd process into it at the start (child.cpp fork_into_container)
  bool fork_at_start = false;
  // The runtime's own environment strings (the caller's, what /proc/PID/environ shows), wiped
  // from the joining process's copy of memory before it forks into the container.
  char* caller_env = nullptr;
  std::size_t caller_env_len = 0;
  std::span<const int> keep_fds;   // sorted fds the child keeps open (preserved ones included)
  std::span<const int> preserved;  // the caller's fds handed to the container (--preserve-fds)
  // Bit per Prim: the config asks for it and it is not ablated. A primitive that needs no data
  // of its own reads its request here.
  std::uint32_t requested = 0;
  bool wants(Prim p) const { return (requested & (1U << static_cast<unsigned>(p))) != 0; }

  // Process
  bool no_new_privs = false;
  std::span<const RlimitStep> rlimits;

  // Isolation: namespaces created by clone flags are already there; these are joined or
  // unshared here.
  int userns_join_fd = -1;  // setns first, before anything that needs capabilities
  bool userns_new = false;  // become root of the new user namespace once maps are written
  std::span<const NsJoin> joins;
  int unshare_flags = 0;        // CLONE_NEW* created by unshare(2) in the child
  bool fork_for_pidns = false;  // joined user ns + new pid ns: an intermediate process forks
  const char* hostname = nullptr;
  const char* domainname = nullptr;

  bool mounts = false;                 // the container has a mount namespace of its own
  const char* rootfs = nullptr;        // absolute host path
  unsigned long root_propagation = 0;  // applied to "/" first (MS_SLAVE|MS_REC by default)
  // Applied to the new root after the root change: an unbindable tree cannot be bind-mounted
  // from, so rootfsPropagation "unbindable" comes last (0: nothing).
  unsigned long root_propagation_after = 0;
  // A read-only tmpfs /dev is filled first and made read-only after: these flags (0: no).
  unsigned long dev_readonly_remount = 0;
  std::span<const MountStep> mount_steps;
  bool setup_dev = false;     // default device nodes and links in a tmpfs /dev
  bool bind_devices = false;  // user namespace: bind host nodes instead of mknod
  // A detached tmpfs (fsmount) holding linux.devices' nodes, made by the runtime where the
  // container's user namespace cannot mknod: attached under /dev, bound from, detached.
  int dev_stage = -1;
  std::span<const DeviceNode> devices;
  std::span<const DevSymlink> dev_links;
  std::span<const char* const> dev_dirs;        // "dev/pts", "dev/shm"
  std::span<const char* const> masked_paths;    // relative to the rootfs
  std::span<const char* const> readonly_paths;  // relative to the rootfs
  std::span<const SysctlStep> sysctls;

  RootMethod root_method = RootMethod::PivotRoot;
  bool readonly_root = false;

  // Identity
  bool set_caps = false;
  std::uint64_t cap_bounding = 0;
  std::uint64_t cap_effective = 0;
  std::uint64_t cap_permitted = 0;
  std::uint64_t cap_inheritable = 0;
  std::uint64_t cap_ambient = 0;
  int cap_last = 40;                       // /proc/sys/kernel/cap_last_cap, read by the parent
  std::span<const char* const> cap_names;  // "CAP_CHOWN", ... by number, for errors
  // noNewPrivileges false and a filter to load: loading needs CAP_SYS_ADMIN, so the final
  // capability sets are set after the Confine stage, as the last thing before execve.
  bool defer_cap_drop = false;
  uid_t uid = 0;
  gid_t gid = 0;
  bool set_groups = false;  // setgroups is denied in user namespaces made by unprivileged users
  std::span<const gid_t> groups;
  int umask = 022;
  // runtime-spec 1.1 process attributes, set before capabilities are dropped (a realtime class
  // or policy needs CAP_SYS_ADMIN or CAP_SYS_NICE) and kept across execve.
  int ioprio = -1;  // ioprio_set(2) value; -1: not set
  bool set_scheduler = false;
  SchedAttr sched{};      // sched_setattr(2)'s argument, ready to pass
  long personality = -1;  // personality(2) domain; -1: not set
  const char* cwd = "/";
  const char* cwd_in_root = nullptr;  // create: the cwd relative to the rootfs, made when missing

  // Confine
  // AppArmor (runtime/primitives/apparmor.cpp): an O_PATH fd of the runtime's own /proc, and
  // "exec PROFILE" to write to this thread's attr/apparmor/exec through it; -1: no write.
  int apparmor_proc = -1;
  const char* apparmor_exec = nullptr;
  std::size_t apparmor_exec_len = 0;
  LandlockPlan landlock;
  const sock_fprog* seccomp = nullptr;
  unsigned seccomp_flags = 0;

  // execve
  dev_t runtime_dev = 0;  // the runtime's own binary, which the harness must never be
  ino_t runtime_ino = 0;
  const char* const* argv = nullptr;
  const char* const* envp = nullptr;
  const char* path_env = nullptr;  // value of PATH for the executable lookup

  TerminalPlan terminal;
};

// Messages between parent and child over the status socket.
enum class ChildMsg : std::uint32_t {
  Report = 1,
  HookPoint = 2,
  Pid = 3,
  Fatal = 4,
  Console = 5,          // carries the pty master
  SeccompListener = 6,  // carries the seccomp listener fd (SCMP_ACT_NOTIFY)
};
enum class ParentMsg : char { Go = 'G', Continue = 'C', Start = 'S', Keep = 'K' };

// One step's result. The child appends one per step it runs (and the parent one per event it
// sees, such as a cgroup write that failed); merge_outcome turns them into the record.
struct StepEntry {
  Prim prim = Prim::NoNewPrivs;
  PrimStatus status = PrimStatus::Skipped;
  std::uint16_t what = 0;  // per primitive: which part (a namespace type, a mount index, ...)
  std::int32_t err = 0;    // errno when failed
  std::int64_t value = 0;  // per primitive: one detail (a count, a method, a resource, ...)
};

inline constexpr std::uint32_t kReportMagic = 0x6e797832;  // "nyx2"
inline constexpr std::size_t kMaxReportEntries = 96;

struct ChildReport {
  std::uint32_t magic = kReportMagic;
  ChildMsg kind = ChildMsg::Report;
  std::uint32_t count = 0;
  bool truncated = false;  // more entries than fit: the last one stands for the rest
  StepEntry entries[kMaxReportEntries] = {};
  std::int32_t pid = 0;  // ChildMsg::Pid: the container init, seen from the parent
  std::int32_t fatal_errno = 0;
  // The step a Fatal message is about, for the parent to name its cause: the entry's fields.
  bool fatal_has_step = false;
  StepEntry fatal_step;
  char fatal_msg[480] = {};
};

// Sends Keep over `sock` and waits for the child's acknowledgement: from then on the child
// outlives this process (its parent-death signal is cleared). Returns false if it died.
bool keep_child(int sock);

}  // namespace nyx
