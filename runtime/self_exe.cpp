#include "runtime/self_exe.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <string>

#include "base/fd.hpp"

namespace nyx {

namespace {

char** g_argv = nullptr;

// Set across the re-execution: a copy that is somehow not recognised as protected must not
// make the runtime execute itself again and again.
constexpr const char* kReexecMark = "_NYX_PROTECTED_EXE";

// Whether `id` lies in a mapping of /proc/PID/{uid,gid}_map ("inside outside count" lines).
bool mapped(pid_t pid, const char* file, unsigned id) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/" + file);
  unsigned long long inside = 0, outside = 0, count = 0;
  while (in >> inside >> outside >> count) {
    if (id >= outside && id - outside < count) return true;
  }
  return false;
}

// execveat of `fd`; returns only on failure, with the errno.
int exec_fd(int fd) {
  ::setenv(kReexecMark, "1", 1);
  ::syscall(SYS_execveat, fd, "", g_argv, environ, AT_EMPTY_PATH);
  int err = errno;
  ::unsetenv(kReexecMark);
  return err;
}

int readonly_bind() {
  UniqueFd tree(static_cast<int>(
      ::syscall(SYS_open_tree, AT_FDCWD, "/proc/self/exe", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)));
  if (!tree) return errno;
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  if (::syscall(SYS_mount_setattr, tree.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) {
    return errno;
  }
  return exec_fd(tree.get());
}

int sealed_copy() {
  UniqueFd src(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (!src || ::fstat(src.get(), &st) != 0) return errno;
  constexpr unsigned kExec = 0x0010U;  // MFD_EXEC (6.3): executable whatever vm.memfd_noexec
  UniqueFd mem(::memfd_create("nyx-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING | kExec));
  if (!mem && errno == EINVAL) {
    mem.reset(::memfd_create("nyx-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  }
  if (!mem) return errno;
  off_t off = 0;
  while (off < st.st_size) {
    ssize_t n = ::sendfile(mem.get(), src.get(), &off, static_cast<std::size_t>(st.st_size - off));
    if (n <= 0) return n < 0 ? errno : EIO;
  }
  constexpr int kSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
  if (::fcntl(mem.get(), F_ADD_SEALS, kSeals) != 0) return errno;
  return exec_fd(mem.get());
}

}  // namespace

void remember_argv(char** argv) {
  g_argv = argv;
}

bool exe_is_protected() {
  if (::getenv(kReexecMark) != nullptr) {
    ::unsetenv(kReexecMark);
    return true;
  }
  struct statvfs vfs {};
  if (::statvfs("/proc/self/exe", &vfs) == 0 && (vfs.f_flag & ST_RDONLY) != 0) return true;
  UniqueFd self(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  int seals = self ? ::fcntl(self.get(), F_GET_SEALS) : -1;
  return seals >= 0 && (seals & F_SEAL_WRITE) != 0;
}

bool exe_writable_from(pid_t pid) {
  struct stat st {};
  if (::stat("/proc/self/exe", &st) != 0) return true;
  if ((st.st_mode & S_IWOTH) != 0) return true;
  if (::getxattr("/proc/self/exe", "system.posix_acl_access", nullptr, 0) > 0) return true;
  if (mapped(pid, "uid_map", st.st_uid)) return true;
  return (st.st_mode & S_IWGRP) != 0 && mapped(pid, "gid_map", st.st_gid);
}

int reexec_protected() {
  if (g_argv == nullptr) return EINVAL;
  int err = readonly_bind();
  int copy_err = sealed_copy();
  return copy_err != 0 ? copy_err : err;
}

}  // namespace nyx
