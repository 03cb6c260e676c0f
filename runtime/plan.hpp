// The hardening plan: everything the container init does between clone and execve, computed in
// the parent so that the child only executes system calls (SPEC §4).
//
// ChildPlan holds raw pointers into PlanStorage. The child is created with fork semantics (no
// CLONE_VM), so it sees an identical copy of the parent's memory at the same addresses: it may
// read the plan freely and must not allocate, lock or throw.
#pragma once

#include <linux/filter.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <vector>

#include "runtime/outcome.hpp"

namespace nyx {

struct MountStep {
  const char* source = nullptr;   // host path for binds, filesystem source otherwise
  const char* target = nullptr;   // relative to the rootfs ("dev/pts")
  const char* fstype = nullptr;   // nullptr for binds
  const char* data = nullptr;     // filesystem options, or nullptr
  unsigned long flags = 0;        // flags of the first mount(2)
  unsigned long remount = 0;      // for binds: flags of a MS_REMOUNT|MS_BIND pass, 0 = none
  unsigned long propagation = 0;  // MS_SHARED/MS_SLAVE/... (| MS_REC), 0 = none
  bool bind = false;
  bool target_is_file = false;  // the mount point to create is a file (bind of a file)
  bool strict_target = false;   // no symlink at all on the way (proc, sysfs, /dev)
  bool remount_only = false;    // only the MS_REMOUNT pass, on an existing mount point
  std::uint16_t index = 0;      // position in config mounts, for the record
};

struct DeviceNode {
  const char* target = nullptr;  // relative to the rootfs ("dev/null")
  const char* host = nullptr;    // host node to bind when mknod is not possible (user namespace)
  mode_t mode = 0;               // S_IFCHR | 0666
  dev_t dev = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

struct DevSymlink {
  const char* link_target = nullptr;  // "/proc/self/fd"
  const char* name = nullptr;         // relative to the rootfs ("dev/fd")
};

struct SysctlStep {
  const char* path = nullptr;  // "/proc/sys/net/ipv4/ip_forward", opened after pivot_root
  const char* value = nullptr;
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
};

enum class RootMethod : std::uint8_t { None, PivotRoot, Chroot };

inline constexpr std::size_t kMaxRlimitSteps = 16;
inline constexpr std::size_t kMaxChildFds = 16;

struct ChildPlan {
  // Synchronisation with the parent.
  int sock = -1;                   // child end of the status socket (SOCK_SEQPACKET)
  int exec_fifo = -1;              // create mode: blocks here until `start`; -1: released via sock
  bool wait_for_go = false;        // maps to write or cgroups to join before the child continues
  bool hooks_stop = false;         // pause before pivot_root so the parent can run hooks
  bool join_only = false;          // exec: joins a running container, whose root it already has
  std::span<const int> keep_fds;   // sorted fds the child keeps open (preserved ones included)
  std::span<const int> preserved;  // the caller's fds handed to the container (--preserve-fds)

  // 1-4
  bool no_new_privs = false;
  std::span<const RlimitStep> rlimits;

  // 5: namespaces created by clone flags are already there; these are joined or unshared here.
  int userns_join_fd = -1;  // setns first, before anything that needs capabilities
  bool userns_new = false;  // become root of the new user namespace once maps are written
  std::span<const NsJoin> joins;
  int unshare_flags = 0;        // CLONE_NEW* created by unshare(2) in the child
  bool fork_for_pidns = false;  // joined user ns + new pid ns: an intermediate process forks
  const char* hostname = nullptr;
  const char* domainname = nullptr;

  // 6: mounts (only when the container has its own mount namespace)
  bool mounts = false;
  const char* rootfs = nullptr;        // absolute host path
  unsigned long root_propagation = 0;  // applied to "/" first (MS_SLAVE|MS_REC by default)
  std::span<const MountStep> mount_steps;
  bool setup_dev = false;     // default device nodes and links in a tmpfs /dev
  bool bind_devices = false;  // user namespace: bind host nodes instead of mknod
  std::span<const DeviceNode> devices;
  std::span<const DevSymlink> dev_links;
  std::span<const char* const> dev_dirs;        // "dev/pts", "dev/shm"
  std::span<const char* const> masked_paths;    // relative to the rootfs
  std::span<const char* const> readonly_paths;  // relative to the rootfs
  std::span<const SysctlStep> sysctls;

  // 7: root
  RootMethod root_method = RootMethod::PivotRoot;
  bool readonly_root = false;

  // 8: capabilities and user
  bool set_caps = false;
  std::uint64_t cap_bounding = 0;
  std::uint64_t cap_effective = 0;
  std::uint64_t cap_permitted = 0;
  std::uint64_t cap_inheritable = 0;
  std::uint64_t cap_ambient = 0;
  int cap_last = 40;  // /proc/sys/kernel/cap_last_cap, read by the parent
  uid_t uid = 0;
  gid_t gid = 0;
  bool set_groups = false;  // setgroups is denied in user namespaces made by unprivileged users
  std::span<const gid_t> groups;
  int umask = 022;
  const char* cwd = "/";

  // 9: seccomp
  const sock_fprog* seccomp = nullptr;
  unsigned seccomp_flags = 0;
  bool seccomp_early = false;  // noNewPrivileges false: load while CAP_SYS_ADMIN is still held

  // execve
  const char* const* argv = nullptr;
  const char* const* envp = nullptr;
  const char* path_env = nullptr;  // value of PATH for the executable lookup

  // Terminal: allocate a pty in the container's /dev/ptmx, make it stdio and the controlling
  // terminal, bind it on /dev/console and send the master to the parent.
  bool terminal = false;
  bool console_mount = false;  // bind the pty on /dev/console (the init, not exec)
  unsigned short rows = 0;
  unsigned short cols = 0;
};

// Messages between parent and child over the status socket.
enum class ChildMsg : std::uint32_t { Report = 1, HookPoint = 2, Pid = 3, Fatal = 4, Console = 5 };
enum class ParentMsg : char { Go = 'G', Continue = 'C', Start = 'S', Keep = 'K' };

// Sends Keep over `sock` and waits for the child's acknowledgement: from then on the child
// outlives this process (its parent-death signal is cleared). Returns false if it died.
bool keep_child(int sock);

inline constexpr std::uint32_t kReportMagic = 0x6e797831;  // "nyx1"

struct ChildReport {
  std::uint32_t magic = kReportMagic;
  ChildMsg kind = ChildMsg::Report;
  PrimStatus status[kPrimCount] = {};
  std::int32_t err[kPrimCount] = {};
  std::int32_t rlimit_err[kMaxRlimitSteps] = {};  // per plan rlimit step, 0 = applied
  std::int32_t ns_err[8] = {};                    // per NsType: setns/unshare errno
  RootMethod root_method = RootMethod::None;
  std::int32_t pivot_err = 0;  // pivot_root errno when the child fell back to chroot
  std::uint32_t mounts_done = 0;
  std::int32_t failed_mount = -1;  // config index of the first mount that failed
  std::int32_t pid = 0;            // ChildMsg::Pid: the container init, seen from the parent
  std::int32_t fatal_errno = 0;
  char fatal_msg[480] = {};
};

// Owns every string and array a ChildPlan points into.
struct PlanStorage {
  ChildPlan plan;
  std::deque<std::string> strings;
  std::vector<MountStep> mount_steps;
  std::vector<DeviceNode> devices;
  std::vector<DevSymlink> dev_links;
  std::vector<const char*> dev_dirs;
  std::vector<const char*> masked;
  std::vector<const char*> readonly;
  std::vector<SysctlStep> sysctls;
  std::vector<RlimitStep> rlimits;
  std::vector<NsJoin> joins;
  std::vector<gid_t> groups;
  std::vector<const char*> argv;
  std::vector<const char*> envp;
  std::vector<int> keep_fds;
  std::vector<int> preserved;
  std::vector<sock_filter> seccomp_code;
  sock_fprog seccomp_prog{};

  const char* keep(std::string s) { return strings.emplace_back(std::move(s)).c_str(); }
};

}  // namespace nyx
