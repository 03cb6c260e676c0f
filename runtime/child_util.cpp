// The child's shared helpers: the report, paths inside the rootfs, remounts. System calls go
// through sys::call only.
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/fd_passing.hpp"
#include "runtime/child_context.hpp"
#include "runtime/syscalls.hpp"

namespace nyx {

using child::Buf;

void ChildContext::record(Prim p, int err, std::uint16_t what, std::int64_t value) {
  StepEntry e;
  e.prim = p;
  e.status = err == 0 ? PrimStatus::Applied : PrimStatus::Failed;
  e.err = err;
  e.what = what;
  e.value = value;
  if (report.count + 1 < kMaxReportEntries) {
    report.entries[report.count++] = e;
    return;
  }
  // Full: the last slot stands for the rest, and a failure is never lost to an applied entry.
  report.truncated = true;
  StepEntry& last = report.entries[kMaxReportEntries - 1];
  if (report.count < kMaxReportEntries || last.status != PrimStatus::Failed) {
    last = e;
    report.count = kMaxReportEntries;
  }
}

bool ChildContext::send(ChildMsg kind) {
  ChildMsg saved = report.kind;
  report.kind = kind;
  long n;
  do {
    n = sys::call(SYS_write, plan.sock, &report, sizeof report);
  } while (n == -EINTR);
  report.kind = saved;
  return n == static_cast<long>(sizeof report);
}

bool ChildContext::send_fd(ChildMsg kind, int fd) {
  ChildMsg saved = report.kind;
  report.kind = kind;
  FdMessage m;
  fd_message(m, &report, sizeof report, fd);
  long n = sys::call(SYS_sendmsg, plan.sock, &m.msg, 0);
  report.kind = saved;
  return n == static_cast<long>(sizeof report);
}

void ChildContext::die_quietly() {
  sys::call(SYS_exit_group, 1);
  ::_exit(1);
}

void ChildContext::fatal(const char* msg, int err, bool explained) {
  report.fatal_errno = err;
  Buf b(report.fatal_msg, sizeof report.fatal_msg);
  b.add(msg);
  if (err != 0 && !explained) b.add(": ").add(child::err_text(err));
  send(ChildMsg::Fatal);
  die_quietly();
}

void ChildContext::fatal_step(Prim p, std::uint16_t what, std::int64_t value, const char* msg,
                              int err, bool explained) {
  report.fatal_has_step = true;
  report.fatal_step = StepEntry{p, PrimStatus::Failed, what, err, value};
  fatal(msg, err, explained);
}

char ChildContext::wait_parent() {
  char c = 0;
  long n;
  do {
    n = sys::call(SYS_read, plan.sock, &c, 1);
  } while (n == -EINTR);
  if (n != 1) die_quietly();
  return c;
}

namespace child {

Buf& Buf::add(const char* s) {
  while (s != nullptr && *s != '\0' && len_ + 1 < size_)
    data_[len_++] = *s++;
  data_[len_] = '\0';
  return *this;
}

Buf& Buf::add(long n) {
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

void fd_path(char (&out)[32], int fd) {
  Buf b(out, sizeof out);
  b.add("/proc/self/fd/").add(static_cast<long>(fd));
}

int close_fd(int fd) {
  return sys::err_of(sys::call(SYS_close, fd));
}

bool may_confine_self() {
  if (sys::call(SYS_prctl, PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1) return true;
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (sys::call(SYS_capget, &hdr, data) < 0) return false;
  return (data[CAP_SYS_ADMIN / 32].effective & (1U << (CAP_SYS_ADMIN % 32))) != 0;
}

long write_all(int fd, const void* data, std::size_t len) {
  long n;
  do {
    n = sys::call(SYS_write, fd, data, len);
  } while (n == -EINTR);
  return n;
}

int open_in_root(int dirfd, const char* rel, bool strict) {
  open_how how{};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | (strict ? RESOLVE_NO_SYMLINKS : 0);
  long fd = sys::call(SYS_openat2, dirfd, rel, &how, sizeof how);
  return static_cast<int>(fd);
}

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
      long rc = last && last_is_file ? sys::call(SYS_mknodat, parent, name, S_IFREG | 0644, 0)
                                     : sys::call(SYS_mkdirat, parent, name, 0755);
      fd = rc < 0 && rc != -EEXIST ? static_cast<int>(rc) : open_in_root(rootfd, buf, strict);
    }
    if (parent != rootfd) close_fd(parent);
    if (fd < 0) return fd;
    parent = fd;
    buf[i] = saved;
    start = i + 1;
  }
  return parent;
}

unsigned long locked_flags(int fd) {
  struct statfs st {};
  if (sys::call(SYS_fstatfs, fd, &st) != 0) return 0;
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

int attach_tree(int src, int dst, bool recursive, std::uint64_t set, std::uint64_t clr) {
  unsigned rec = recursive ? AT_RECURSIVE : 0;
  long tree =
      sys::call(SYS_open_tree, src, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | rec);
  if (tree < 0) return static_cast<int>(-tree);
  int err = 0;
  if (set != 0 || clr != 0) {
    mount_attr attr{};
    attr.attr_set = set;
    // An atime mode is one value of a 3-bit field: setting one clears the field first.
    attr.attr_clr = clr | ((set & MOUNT_ATTR__ATIME) != 0 ? MOUNT_ATTR__ATIME : 0);
    err = sys::err_of(
        sys::call(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | rec, &attr, sizeof attr));
  }
  if (err == 0) {
    err = sys::err_of(sys::call(SYS_move_mount, tree, "", dst, "",
                                MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH));
  }
  close_fd(static_cast<int>(tree));
  return err;
}

int remount_at(int rootfd, const char* rel, bool strict, unsigned long flags, bool keep_locked) {
  int fd = open_in_root(rootfd, rel, strict);
  if (fd < 0) return -fd;
  char path[32];
  fd_path(path, fd);
  if (keep_locked) flags |= locked_flags(fd) & ~(MS_RDONLY | MS_NOATIME | MS_RELATIME);
  int err = sys::err_of(sys::call(SYS_mount, 0L, path, 0L, flags, 0L));
  close_fd(fd);
  return err;
}

}  // namespace child
}  // namespace nyx
