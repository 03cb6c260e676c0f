// The container init between clone and execve. Everything here is a system call on data the
// parent prepared (see plan.hpp): the runtime may have threads or a heap in any state, so the
// child must not allocate, lock, throw or touch iostreams.
#include "runtime/child.hpp"

#include "bundle/config.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

namespace nyx {

namespace {

ChildReport g_report;
const ChildPlan* g_plan = nullptr;

// ---- small no-allocation helpers ---------------------------------------------------------

// Appends to a fixed buffer, truncating silently.
class Buf {
 public:
  Buf(char* data, std::size_t size) : data_(data), size_(size) { data_[0] = '\0'; }
  Buf& add(const char* s) {
    while (s != nullptr && *s != '\0' && len_ + 1 < size_)
      data_[len_++] = *s++;
    data_[len_] = '\0';
    return *this;
  }
  Buf& add(long n) {
    char tmp[24];
    int i = 0;
    bool neg = n < 0;
    unsigned long u = neg ? 0UL - static_cast<unsigned long>(n) : static_cast<unsigned long>(n);
    do {
      tmp[i++] = static_cast<char>('0' + u % 10);
      u /= 10;
    } while (u != 0);
    if (neg) tmp[i++] = '-';
    char out[24];
    for (int j = 0; j < i; ++j)
      out[j] = tmp[i - 1 - j];
    out[i] = '\0';
    return add(out);
  }
  const char* c_str() const { return data_; }

 private:
  char* data_;
  std::size_t size_;
  std::size_t len_ = 0;
};

// Lower-case error texts in the style engines match on ("no such file or directory").
const char* err_text(int err) {
  switch (err) {
    case ENOENT:
      return "no such file or directory";
    case EACCES:
      return "permission denied";
    case ENOTDIR:
      return "not a directory";
    case EISDIR:
      return "is a directory";
    case ELOOP:
      return "too many levels of symbolic links";
    case EPERM:
      return "operation not permitted";
    case EINVAL:
      return "invalid argument";
    case ENOEXEC:
      return "exec format error";
    case EXDEV:
      return "path escapes the container root";
    default:
      return strerrorname_np(err) != nullptr ? strerrorname_np(err) : "error";
  }
}

void send_report() {
  ssize_t n;
  do {
    n = ::write(g_plan->sock, &g_report, sizeof g_report);
  } while (n < 0 && errno == EINTR);
}

[[noreturn]] void die_quietly() {
  ::_exit(1);
}

// Reports an error that makes running the harness impossible and exits. The message gets the
// error's text appended unless it already says it (`explained`).
[[noreturn]] void fatal(const char* msg, int err, bool explained = false) {
  g_report.kind = ChildMsg::Fatal;
  g_report.fatal_errno = err;
  Buf b(g_report.fatal_msg, sizeof g_report.fatal_msg);
  b.add(msg);
  if (err != 0 && !explained) b.add(": ").add(err_text(err));
  send_report();
  ::_exit(1);
}

// Waits for one byte from the parent; EOF means the parent is gone or gave up.
char wait_parent() {
  char c = 0;
  ssize_t n;
  do {
    n = ::read(g_plan->sock, &c, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) die_quietly();
  return c;
}

void fd_path(char (&out)[32], int fd) {
  Buf b(out, sizeof out);
  b.add("/proc/self/fd/").add(static_cast<long>(fd));
}

void record(Prim p, int err) {
  auto i = static_cast<std::size_t>(p);
  if (err == 0) {
    if (g_report.status[i] != PrimStatus::Failed) g_report.status[i] = PrimStatus::Applied;
  } else if (g_report.status[i] != PrimStatus::Failed) {
    g_report.status[i] = PrimStatus::Failed;
    g_report.err[i] = err;
  }
}

int sys_errno(long rc) {
  return rc < 0 ? errno : 0;
}

// ---- file descriptors -------------------------------------------------------------------

// Closes every fd but stdio, the preserved ones and the plan's own, so no host fd (a cgroup
// directory, a state dir) can be reached through /proc/self/fd before execve (CVE-2024-21626).
void close_other_fds(const ChildPlan& p) {
  unsigned first = 3;
  for (int fd : p.keep_fds) {
    if (static_cast<unsigned>(fd) < first) continue;
    if (static_cast<unsigned>(fd) > first) {
      ::syscall(SYS_close_range, first, static_cast<unsigned>(fd) - 1, 0);
    }
    first = static_cast<unsigned>(fd) + 1;
  }
  ::syscall(SYS_close_range, first, ~0U, 0);
  for (int fd : p.preserved)
    ::fcntl(fd, F_SETFD, 0);
}

void reset_signals() {
  sigset_t none;
  sigemptyset(&none);
  ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, nullptr, sizeof(unsigned long));
}

// ---- paths inside the rootfs ------------------------------------------------------------

int open_in_root(int dirfd, const char* rel, bool strict) {
  open_how how{};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | (strict ? RESOLVE_NO_SYMLINKS : 0);
  long fd = ::syscall(SYS_openat2, dirfd, rel, &how, sizeof how);
  return fd < 0 ? -errno : static_cast<int>(fd);
}

// Opens `rel` under `rootfd` as an O_PATH fd, creating missing directories (and the last
// component as a file when `last_is_file`). Symlinks resolve as if rootfd were "/", so nothing
// outside the rootfs is ever created or returned. Returns the fd or -errno.
int make_in_root(int rootfd, const char* rel, bool last_is_file, bool strict) {
  int fd = open_in_root(rootfd, rel, strict);
  if (fd != -ENOENT) return fd;
  char buf[PATH_MAX];
  std::size_t len = std::strlen(rel);
  if (len + 1 > sizeof buf) return -ENAMETOOLONG;
  std::memcpy(buf, rel, len + 1);
  int parent = rootfd;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= len; ++i) {
    if (buf[i] != '/' && buf[i] != '\0') continue;
    char saved = buf[i];
    buf[i] = '\0';
    fd = open_in_root(rootfd, buf, strict);
    if (fd == -ENOENT) {
      const char* name = buf + start;
      bool last = saved == '\0';
      int rc = last && last_is_file ? ::mknodat(parent, name, S_IFREG | 0644, 0)
                                    : ::mkdirat(parent, name, 0755);
      if (rc < 0 && errno != EEXIST) fd = -errno;
      if (rc == 0 || errno == EEXIST) fd = open_in_root(rootfd, buf, strict);
    }
    if (parent != rootfd) ::close(parent);
    if (fd < 0) return fd;
    parent = fd;
    buf[i] = saved;
    start = i + 1;
  }
  return parent;
}

// Mount flags the kernel locks on a mount made in a less privileged user namespace; a remount
// must repeat them or it fails with EPERM.
unsigned long locked_flags(int fd) {
  struct statfs st {};
  if (::fstatfs(fd, &st) != 0) return 0;
  unsigned long out = 0;
  if (st.f_flags & ST_NOSUID) out |= MS_NOSUID;
  if (st.f_flags & ST_NODEV) out |= MS_NODEV;
  if (st.f_flags & ST_NOEXEC) out |= MS_NOEXEC;
  if (st.f_flags & ST_RDONLY) out |= MS_RDONLY;
  if (st.f_flags & ST_NOATIME) out |= MS_NOATIME;
  if (st.f_flags & ST_NODIRATIME) out |= MS_NODIRATIME;
  if (st.f_flags & ST_RELATIME) out |= MS_RELATIME;
  return out;
}

int remount_at(int rootfd, const char* rel, bool strict, unsigned long flags, bool keep_locked) {
  int fd = open_in_root(rootfd, rel, strict);
  if (fd < 0) return -fd;
  char path[32];
  fd_path(path, fd);
  if (keep_locked) flags |= locked_flags(fd) & ~(MS_RDONLY | MS_NOATIME | MS_RELATIME);
  int err = sys_errno(::mount(nullptr, path, nullptr, flags, nullptr));
  ::close(fd);
  return err;
}

// ---- step 6: mounts ---------------------------------------------------------------------

int mount_one(int rootfd, const MountStep& m) {
  if (m.remount_only) return remount_at(rootfd, m.target, m.strict_target, m.remount, true);
  int fd = make_in_root(rootfd, m.target, m.target_is_file, m.strict_target);
  if (fd < 0) return -fd;
  char path[32];
  fd_path(path, fd);
  int err = 0;
  if (m.bind) {
    err = sys_errno(::mount(m.source, path, nullptr, m.flags, nullptr));
  } else {
    err = sys_errno(::mount(m.source, path, m.fstype, m.flags, m.data));
    // sysfs needs a network namespace owned by the container's user namespace; without one,
    // bind the host's /sys read-only as runc does.
    if (err == EPERM && std::strcmp(m.fstype, "sysfs") == 0) {
      err = sys_errno(::mount("/sys", path, nullptr, MS_BIND | MS_REC, nullptr));
      if (err == 0) {
        err = remount_at(rootfd, m.target, m.strict_target,
                         MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, true);
      }
    }
  }
  ::close(fd);
  if (err != 0) return err;
  if (m.remount != 0) err = remount_at(rootfd, m.target, m.strict_target, m.remount, true);
  if (err == 0 && m.propagation != 0) {
    err = remount_at(rootfd, m.target, m.strict_target, m.propagation, false);
  }
  return err;
}

// Splits "dev/net/tun" into a directory fd (created in-root) and the basename.
int open_parent(int rootfd, const char* rel, char (&dir)[PATH_MAX], const char** base) {
  std::size_t len = std::strlen(rel);
  if (len + 1 > sizeof dir) return -ENAMETOOLONG;
  std::memcpy(dir, rel, len + 1);
  char* slash = std::strrchr(dir, '/');
  if (slash == nullptr) {
    *base = rel;
    return open_in_root(rootfd, ".", true);
  }
  *slash = '\0';
  *base = rel + (slash - dir) + 1;
  return make_in_root(rootfd, dir, false, true);
}

int make_device(int rootfd, const DeviceNode& d, bool bind) {
  char dir[PATH_MAX];
  const char* base = nullptr;
  int dirfd = open_parent(rootfd, d.target, dir, &base);
  if (dirfd < 0) return -dirfd;
  int err = 0;
  if (bind) {
    if (::mknodat(dirfd, base, S_IFREG | 0644, 0) < 0 && errno != EEXIST) err = errno;
    if (err == 0) {
      int fd = open_in_root(dirfd, base, true);
      if (fd < 0) {
        err = -fd;
      } else {
        char path[32];
        fd_path(path, fd);
        err = sys_errno(::mount(d.host, path, nullptr, MS_BIND, nullptr));
        ::close(fd);
      }
    }
  } else if (::mknodat(dirfd, base, d.mode, d.dev) == 0) {
    err = sys_errno(::fchownat(dirfd, base, d.uid, d.gid, AT_SYMLINK_NOFOLLOW));
  } else if (errno != EEXIST) {
    err = errno;
  }
  ::close(dirfd);
  return err;
}

int setup_dev(const ChildPlan& p, int rootfd) {
  for (const char* dir : p.dev_dirs) {
    int fd = make_in_root(rootfd, dir, false, true);
    if (fd < 0) return -fd;
    ::close(fd);
  }
  for (const DeviceNode& d : p.devices) {
    if (int err = make_device(rootfd, d, p.bind_devices); err != 0) return err;
  }
  for (const DevSymlink& l : p.dev_links) {
    char dir[PATH_MAX];
    const char* base = nullptr;
    int dirfd = open_parent(rootfd, l.name, dir, &base);
    if (dirfd < 0) return -dirfd;
    int err = sys_errno(::symlinkat(l.link_target, dirfd, base));
    ::close(dirfd);
    if (err != 0 && err != EEXIST) return err;
  }
  return 0;
}

// Hides a path: /dev/null over files, an empty read-only tmpfs over directories.
int mask_path(int rootfd, const char* rel) {
  int fd = open_in_root(rootfd, rel, false);
  if (fd == -ENOENT) return 0;
  if (fd < 0) return -fd;
  struct stat st {};
  int err = sys_errno(::fstat(fd, &st));
  char path[32];
  fd_path(path, fd);
  if (err == 0 && S_ISDIR(st.st_mode)) {
    err = sys_errno(::mount("tmpfs", path, "tmpfs", MS_RDONLY, nullptr));
  } else if (err == 0) {
    err = sys_errno(::mount("/dev/null", path, nullptr, MS_BIND, nullptr));
  }
  ::close(fd);
  return err;
}

int readonly_path(int rootfd, const char* rel) {
  int fd = open_in_root(rootfd, rel, false);
  if (fd == -ENOENT) return 0;
  if (fd < 0) return -fd;
  char path[32];
  fd_path(path, fd);
  int err = sys_errno(::mount(path, path, nullptr, MS_BIND | MS_REC, nullptr));
  ::close(fd);
  if (err != 0) return err;
  return remount_at(rootfd, rel, false, MS_BIND | MS_REMOUNT | MS_RDONLY, true);
}

// Returns an O_PATH fd of the rootfs to resolve everything against (its own bind mount when
// the container has a mount namespace, so pivot_root has a mount point).
int prepare_root(const ChildPlan& p) {
  if (p.mounts) {
    if (::mount(nullptr, "/", nullptr, p.root_propagation, nullptr) < 0) return -errno;
    if (::mount(p.rootfs, p.rootfs, nullptr, MS_BIND | MS_REC, nullptr) < 0) return -errno;
  }
  int fd = ::open(p.rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  return fd < 0 ? -errno : fd;
}

// Through the container's /proc under rootfd when rootfd >= 0: the file must be reached without
// symlinks and be on procfs, so a crafted rootfs cannot redirect the write.
void apply_sysctls(const ChildPlan& p, int rootfd) {
  for (const SysctlStep& s : p.sysctls) {
    int fd = -1;
    if (rootfd >= 0) {
      open_how how{};
      how.flags = O_WRONLY | O_CLOEXEC;
      how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
      fd = static_cast<int>(::syscall(SYS_openat2, rootfd, s.path + 1, &how, sizeof how));
    } else {
      fd = ::open(s.path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    }
    int err = fd < 0 ? errno : 0;
    if (fd >= 0) {
      struct statfs sf {};
      if (::fstatfs(fd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC) {
        err = EXDEV;
      } else if (::write(fd, s.value, std::strlen(s.value)) < 0) {
        err = errno;
      }
      ::close(fd);
    }
    record(Prim::Sysctl, err);
  }
}

bool mounts_any(const ChildPlan& p) {
  return !p.mount_steps.empty() || p.setup_dev || !p.devices.empty() || !p.masked_paths.empty() ||
         !p.readonly_paths.empty();
}

void do_mounts(const ChildPlan& p, int rootfd) {
  for (const MountStep& m : p.mount_steps) {
    int err = mount_one(rootfd, m);
    if (err != 0) {
      if (g_report.failed_mount < 0) g_report.failed_mount = m.index;
      record(Prim::Mounts, err);
      continue;
    }
    ++g_report.mounts_done;
  }
  if (p.setup_dev || !p.devices.empty()) {
    record(Prim::Mounts, setup_dev(p, rootfd));
  }
}

void protect_paths(const ChildPlan& p, int rootfd) {
  for (const char* m : p.masked_paths)
    record(Prim::Mounts, mask_path(rootfd, m));
  for (const char* r : p.readonly_paths)
    record(Prim::Mounts, readonly_path(rootfd, r));
  record(Prim::Mounts, 0);
}

// ---- step 7: root -----------------------------------------------------------------------

int pivot(int rootfd) {
  if (::fchdir(rootfd) < 0) return errno;
  if (::syscall(SYS_pivot_root, ".", ".") < 0) return errno;
  // The old root is stacked under the new one at "."; detach it without the detach
  // propagating back to the host.
  if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0) return errno;
  if (::umount2(".", MNT_DETACH) < 0) return errno;
  if (::chdir("/") < 0) return errno;
  return 0;
}

int enter_chroot(int rootfd, bool own_mount_ns) {
  if (::fchdir(rootfd) < 0) return errno;
  // Moving the rootfs over "/" first leaves no parent mount to climb back to.
  if (own_mount_ns) ::mount(".", "/", nullptr, MS_MOVE, nullptr);
  if (::chroot(".") < 0) return errno;
  if (::chdir("/") < 0) return errno;
  return 0;
}

void change_root(const ChildPlan& p, int rootfd) {
  if (p.root_method == RootMethod::None) return;
  int err = 0;
  if (p.root_method == RootMethod::PivotRoot) {
    err = pivot(rootfd);
    g_report.root_method = RootMethod::PivotRoot;
    if (err == EINVAL) {  // e.g. the host root is an initramfs: chroot is what works there
      g_report.pivot_err = err;
      err = enter_chroot(rootfd, p.mounts);
      g_report.root_method = RootMethod::Chroot;
    }
  } else {
    err = enter_chroot(rootfd, p.mounts);
    g_report.root_method = RootMethod::Chroot;
  }
  if (err != 0) fatal("root: cannot enter the container root", err);
  if (p.readonly_root) {
    struct statfs st {};
    unsigned long keep = 0;
    if (::statfs("/", &st) == 0) {
      if (st.f_flags & ST_NOSUID) keep |= MS_NOSUID;
      if (st.f_flags & ST_NODEV) keep |= MS_NODEV;
      if (st.f_flags & ST_NOEXEC) keep |= MS_NOEXEC;
    }
    err =
        sys_errno(::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | keep, nullptr));
  }
  record(Prim::Root, err);
}

// ---- step 5: namespaces joined or created here ------------------------------------------

void ns_failed(NsType type, int err) {
  auto i = static_cast<std::size_t>(type);
  if (g_report.ns_err[i] == 0) g_report.ns_err[i] = err;
}

void become_userns_root() {
  // The maps are written; become uid/gid 0 of the namespace (we are its owner, so this keeps
  // every capability in it).
  if (::syscall(SYS_setresgid, 0, 0, 0) < 0)
    fatal("namespaces: setresgid(0) in the user namespace", errno);
  if (::syscall(SYS_setresuid, 0, 0, 0) < 0)
    fatal("namespaces: setresuid(0) in the user namespace", errno);
}

void join_namespaces(const ChildPlan& p) {
  if (p.userns_join_fd >= 0) {
    if (::setns(p.userns_join_fd, CLONE_NEWUSER) < 0) {
      ns_failed(NsType::User, errno);
    } else {
      become_userns_root();
    }
  }
  for (const NsJoin& j : p.joins) {
    if (::setns(j.fd, j.nstype) < 0) ns_failed(static_cast<NsType>(j.type), errno);
    ::close(j.fd);
  }
  if (p.unshare_flags != 0 && ::unshare(p.unshare_flags) < 0) {
    // Try one by one so the record says which ones held.
    static constexpr int kFlags[] = {CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET,
                                     CLONE_NEWCGROUP};
    static constexpr NsType kTypes[] = {NsType::Mount, NsType::Ipc, NsType::Uts, NsType::Network,
                                        NsType::Cgroup};
    for (std::size_t i = 0; i < sizeof kFlags / sizeof kFlags[0]; ++i) {
      if ((p.unshare_flags & kFlags[i]) == 0) continue;
      if (::unshare(kFlags[i]) < 0) ns_failed(kTypes[i], errno);
    }
  }
}

// A new pid namespace only applies to children: fork the init and let this process report its
// pid and exit. CLONE_PARENT makes the init a child of the runtime, which reaps it.
void fork_into_pidns() {
  if (::unshare(CLONE_NEWPID) < 0) {
    ns_failed(NsType::Pid, errno);
    return;
  }
  long pid = ::syscall(SYS_clone, CLONE_PARENT | SIGCHLD, nullptr, nullptr, nullptr, 0);
  if (pid < 0) fatal("namespaces: cannot fork into the new pid namespace", errno);
  if (pid > 0) {
    g_report.kind = ChildMsg::Pid;
    g_report.pid = static_cast<std::int32_t>(pid);
    send_report();
    ::_exit(0);
  }
  g_report.kind = ChildMsg::Report;
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
}

void set_names(const ChildPlan& p) {
  if (p.hostname != nullptr && ::sethostname(p.hostname, std::strlen(p.hostname)) < 0) {
    ns_failed(NsType::Uts, errno);
  }
  if (p.domainname != nullptr && ::setdomainname(p.domainname, std::strlen(p.domainname)) < 0) {
    ns_failed(NsType::Uts, errno);
  }
}

// ---- steps 1-4 --------------------------------------------------------------------------

void apply_rlimits(const ChildPlan& p) {
  for (std::size_t i = 0; i < p.rlimits.size() && i < kMaxRlimitSteps; ++i) {
    const RlimitStep& r = p.rlimits[i];
    int err = sys_errno(::setrlimit(static_cast<__rlimit_resource_t>(r.resource), &r.limit));
    g_report.rlimit_err[i] = err;
    record(r.prim, err);
  }
}

// ---- step 8: capabilities and user ------------------------------------------------------

int drop_bounding(const ChildPlan& p) {
  for (int cap = 0; cap <= p.cap_last; ++cap) {
    if ((p.cap_bounding >> cap) & 1U) continue;
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) return errno;
  }
  return 0;
}

int set_cap_sets(const ChildPlan& p) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  for (int i = 0; i < 2; ++i) {
    data[i].effective = static_cast<std::uint32_t>(p.cap_effective >> (32 * i));
    data[i].permitted = static_cast<std::uint32_t>(p.cap_permitted >> (32 * i));
    data[i].inheritable = static_cast<std::uint32_t>(p.cap_inheritable >> (32 * i));
  }
  if (::syscall(SYS_capset, &hdr, data) < 0) return errno;
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
    return errno;
  }
  for (int cap = 0; cap <= p.cap_last; ++cap) {
    if (((p.cap_ambient >> cap) & 1U) == 0) continue;
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) return errno;
  }
  return 0;
}

void switch_user(const ChildPlan& p) {
  bool keep = p.set_caps && p.uid != 0;
  if (keep) ::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
  if (p.set_groups && ::syscall(SYS_setgroups, p.groups.size(), p.groups.data()) < 0) {
    fatal("process.user.additionalGids: setgroups", errno);
  }
  if (::syscall(SYS_setresgid, p.gid, p.gid, p.gid) < 0)
    fatal("process.user.gid: setresgid", errno);
  if (::syscall(SYS_setresuid, p.uid, p.uid, p.uid) < 0)
    fatal("process.user.uid: setresuid", errno);
  if (keep) ::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
}

int load_seccomp(const ChildPlan& p) {
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, p.seccomp_flags, p.seccomp) == 0) return 0;
  int err = errno;
  if (err == ENOSYS && p.seccomp_flags == 0 &&
      ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, p.seccomp, 0, 0) == 0) {
    return 0;
  }
  return err;
}

// ---- process ----------------------------------------------------------------------------

void enter_cwd(const ChildPlan& p) {
  char msg[PATH_MAX + 64];
  if (::chdir(p.cwd) < 0) {
    int err = errno;
    Buf b(msg, sizeof msg);
    b.add("process.cwd: chdir \"").add(p.cwd).add("\": ").add(err_text(err));
    fatal(msg, err, true);
  }
  // A cwd reached through a leaked fd lies outside the root; the kernel then prefixes
  // getcwd's answer with "(unreachable)".
  char cwd[PATH_MAX];
  long n = ::syscall(SYS_getcwd, cwd, sizeof cwd);
  if (n < 0 || cwd[0] != '/') {
    Buf b(msg, sizeof msg);
    b.add("process.cwd: \"").add(p.cwd).add("\" is outside the container root");
    fatal(msg, EXDEV, true);
  }
}

bool executable(const char* path, int* err) {
  struct stat st {};
  if (::stat(path, &st) < 0) {
    *err = errno;
    return false;
  }
  if (S_ISDIR(st.st_mode)) {
    *err = EISDIR;
    return false;
  }
  if (::faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) < 0) {
    *err = errno;
    return false;
  }
  return true;
}

// Resolves argv[0] like execvp, in the container, before `create` returns: a missing binary
// is a create error with runc's wording, which engines map to exit codes 126/127.
void find_executable(const ChildPlan& p, char (&out)[PATH_MAX]) {
  const char* arg0 = p.argv[0];
  char msg[PATH_MAX * 2 + 64];
  int err = 0;
  if (std::strchr(arg0, '/') != nullptr) {
    if (executable(arg0, &err)) {
      Buf(out, sizeof out).add(arg0);
      return;
    }
    Buf b(msg, sizeof msg);
    b.add("exec: \"").add(arg0).add("\": ");
    if (err == ENOENT || err == ENOTDIR) b.add("stat ").add(arg0).add(": ");
    b.add(err_text(err));
    fatal(msg, err, true);
  }
  const char* path = p.path_env != nullptr
                         ? p.path_env
                         : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  int first_err = 0;
  while (*path != '\0') {
    const char* end = std::strchr(path, ':');
    std::size_t len = end != nullptr ? static_cast<std::size_t>(end - path) : std::strlen(path);
    if (len + std::strlen(arg0) + 2 < sizeof out) {
      std::memcpy(out, path, len);
      std::size_t at = len;
      if (at == 0) out[at++] = '.';
      out[at++] = '/';
      std::strcpy(out + at, arg0);
      if (executable(out, &err)) return;
      if (err == EACCES && first_err == 0) first_err = err;
    }
    path += len;
    if (*path == ':') ++path;
  }
  Buf b(msg, sizeof msg);
  b.add("exec: \"").add(arg0).add("\": ");
  b.add(first_err == EACCES ? "permission denied" : "executable file not found in $PATH");
  fatal(msg, first_err != 0 ? first_err : ENOENT, true);
}

// Sends `fd` to the parent with SCM_RIGHTS, tagged as a Console message.
void send_fd(int fd) {
  g_report.kind = ChildMsg::Console;
  iovec iov{&g_report, sizeof g_report};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cm), &fd, sizeof fd);
  if (::sendmsg(g_plan->sock, &msg, 0) < 0) fatal("process.terminal: cannot send the pty", errno);
  g_report.kind = ChildMsg::Report;
}

// The pty comes from the container's own devpts (its /dev/ptmx), so that ttyname() and
// /dev/console work inside; the master goes to the parent.
void set_terminal(const ChildPlan& p) {
  if (!p.terminal) return;
  int master = ::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) fatal("process.terminal: cannot open /dev/ptmx in the container", errno);
  int unlock = 0;
  if (::ioctl(master, TIOCSPTLCK, &unlock) < 0)
    fatal("process.terminal: cannot unlock the pty", errno);
  int slave = ::ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) fatal("process.terminal: cannot open the pty", errno);
  if (p.rows != 0 && p.cols != 0) {
    winsize ws{p.rows, p.cols, 0, 0};
    ::ioctl(master, TIOCSWINSZ, &ws);
  }
  if (p.console_mount) {
    unsigned n = 0;
    char path[32];
    if (::ioctl(master, TIOCGPTN, &n) == 0) {
      Buf(path, sizeof path).add("/dev/pts/").add(static_cast<long>(n));
      int fd = ::open("/dev/console", O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
      if (fd >= 0) ::close(fd);
      ::mount(path, "/dev/console", nullptr, MS_BIND, nullptr);
    }
  }
  send_fd(master);
  ::close(master);
  ::setsid();
  if (::ioctl(slave, TIOCSCTTY, 0) < 0)
    fatal("process.terminal: cannot make the pty the controlling terminal", errno);
  for (int fd = 0; fd < 3; ++fd) {
    if (::dup3(slave, fd, 0) < 0) fatal("process.terminal: dup3", errno);
  }
  ::close(slave);
}

// Blocks until the container is started: `start` writes to the exec FIFO, or (run) the parent
// sends Start. 'K' from the parent means the container is committed to the state store: the
// init must now outlive the `create` process.
void wait_for_start(const ChildPlan& p) {
  for (;;) {
    char c = wait_parent();
    if (c == static_cast<char>(ParentMsg::Start)) return;
    if (c == static_cast<char>(ParentMsg::Keep)) {
      ::prctl(PR_SET_PDEATHSIG, 0);
      // Acknowledge: the parent must not exit (which would fire the death signal) before this.
      [[maybe_unused]] ssize_t n = ::write(g_plan->sock, &c, 1);
      if (p.exec_fifo >= 0) break;
    }
  }
  char c = 0;
  ssize_t n;
  do {
    n = ::read(p.exec_fifo, &c, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) die_quietly();
}

[[noreturn]] void exec_harness(const ChildPlan& p, const char* path, int exe_fd) {
  if (exe_fd >= 0) {
    ::syscall(SYS_execveat, exe_fd, "", p.argv, p.envp, AT_EMPTY_PATH);
  } else {
    ::execve(path, const_cast<char* const*>(p.argv), const_cast<char* const*>(p.envp));
  }
  int err = errno;
  char msg[PATH_MAX + 96];
  Buf b(msg, sizeof msg);
  b.add("nyx-runtime: exec \"").add(path).add("\": ").add(err_text(err)).add("\n");
  [[maybe_unused]] ssize_t ignored = ::write(2, msg, std::strlen(msg));
  ::_exit(err == ENOENT ? 127 : 126);
}

// Makes every permitted capability effective: loading a filter without no_new_privs needs
// CAP_SYS_ADMIN, which the user switch took out of the effective set.
int raise_effective() {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capget, &hdr, data) < 0) return errno;
  for (auto& d : data)
    d.effective = d.permitted;
  return ::syscall(SYS_capset, &hdr, data) < 0 ? errno : 0;
}

// Step 8, and step 9 when noNewPrivileges is false. Then the kernel wants CAP_SYS_ADMIN to load
// the filter, so it is loaded after the user switch and before the final capability drop,
// which leaves only capset, prctl and the runtime's read/write/execve after the filter.
void user_and_caps(const ChildPlan& p) {
  int cap_err = p.set_caps ? drop_bounding(p) : 0;
  bool early = p.seccomp != nullptr && p.seccomp_early;
  // Without capability sets a non-root user loses every capability at the switch: load first.
  if (early && !p.set_caps) record(Prim::Seccomp, load_seccomp(p));
  switch_user(p);
  if (early && p.set_caps) {
    int err = raise_effective();
    record(Prim::Seccomp, err != 0 ? err : load_seccomp(p));
  }
  if (!p.set_caps) return;
  if (cap_err == 0) cap_err = set_cap_sets(p);
  if (early && cap_err != 0) {
    // Running on with the capabilities raised for the load would be more than was asked.
    fatal(
        "capabilities: cannot drop them after loading the seccomp filter (with noNewPrivileges "
        "false the filter must allow capset and prctl)",
        cap_err);
  }
  record(Prim::Capabilities, cap_err);
}

void prepare_process(const ChildPlan& p) {
  for (int fd = 0; fd < 3; ++fd) {
    // An init without stdio would hand its first opened files out as 0-2.
    if (::fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
      int nfd = ::open("/dev/null", O_RDWR);
      if (nfd >= 0 && nfd != fd) {
        ::dup2(nfd, fd);
        ::close(nfd);
      }
    }
  }
  set_terminal(p);
}

// Steps 6 and 7: mounts, the hook stop, and entering the root. Returns an fd of the harness
// binary inside the rootfs when the root change is ablated, else -1.
int build_root(const ChildPlan& p) {
  int rootfd = prepare_root(p);
  if (rootfd < 0) fatal("root.path: cannot prepare the container root", -rootfd);
  // Sysctls go through the container's own /proc once it is mounted and before readonlyPaths
  // make /proc/sys read-only (podman lists it), runc's order; without mounts, after the root
  // change as before.
  bool mounted = p.mounts && mounts_any(p);
  if (mounted) {
    do_mounts(p, rootfd);
    apply_sysctls(p, rootfd);
    protect_paths(p, rootfd);
  }
  if (p.hooks_stop) {
    g_report.kind = ChildMsg::HookPoint;
    send_report();
    g_report.kind = ChildMsg::Report;
    if (wait_parent() != static_cast<char>(ParentMsg::Continue)) die_quietly();
  }
  change_root(p, rootfd);
  if (!mounted) apply_sysctls(p, -1);
  int exe_fd = -1;
  if (p.root_method == RootMethod::None) {
    // Root ablated: the harness sees the host's tree but still runs the rootfs's binary.
    const char* arg0 = p.argv[0];
    while (*arg0 == '/')
      ++arg0;
    exe_fd = open_in_root(rootfd, arg0, false);
  }
  ::close(rootfd);
  return exe_fd;
}

}  // namespace

void run_child(const ChildPlan& p) {
  g_plan = &p;
  g_report = ChildReport{};
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  close_other_fds(p);
  reset_signals();
  ::umask(0);
  // The parent may have died before PR_SET_PDEATHSIG took effect: then its end is closed.
  pollfd pfd{p.sock, POLLRDHUP, 0};
  if (::poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP)) != 0) die_quietly();

  if (p.wait_for_go && wait_parent() != static_cast<char>(ParentMsg::Go)) die_quietly();
  if (p.userns_new) become_userns_root();

  // 1-4
  if (p.no_new_privs) record(Prim::NoNewPrivs, sys_errno(::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)));
  apply_rlimits(p);

  // 5
  join_namespaces(p);
  if (p.fork_for_pidns) fork_into_pidns();
  set_names(p);

  // 6-7
  int exe_fd = p.join_only ? -1 : build_root(p);  // exec plans carry no sysctls
  prepare_process(p);

  // 8
  user_and_caps(p);
  // A change of uid clears the parent-death signal (commit_creds): arm it again and re-check
  // that the runtime is still there, so a killed `run` never leaves its harness behind.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP)) != 0) die_quietly();
  ::umask(static_cast<mode_t>(p.umask));
  enter_cwd(p);
  char exe[PATH_MAX] = "";
  if (exe_fd < 0) find_executable(p, exe);

  // 9
  if (p.seccomp != nullptr && !p.seccomp_early) record(Prim::Seccomp, load_seccomp(p));

  send_report();
  wait_for_start(p);
  exec_harness(p, exe, exe_fd);
}

}  // namespace nyx
