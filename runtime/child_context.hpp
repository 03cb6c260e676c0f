// The container init's working state between clone and execve, shared by run_child and the
// child halves of the primitives. Everything here is system calls on the plan (through
// sys::call) and fixed buffers: no allocation, no locks, no exceptions.
#pragma once

#include <climits>
#include <cstddef>
#include <cstdint>

#include "runtime/child_abi.hpp"

namespace nyx {

class ChildContext {
 public:
  ChildContext(const ChildPlan& p, ChildReport& r) : plan(p), report(r) {}

  const ChildPlan& plan;
  ChildReport& report;
  int rootfd = -1;       // an O_PATH fd of the rootfs, from the mounts to the root change
  int exe_fd = -1;       // root ablated: the harness binary, opened inside the rootfs
  int landlock_fd = -1;  // the ruleset, made and filled before the report, enforced at commit
  char exe[PATH_MAX] = "";
  std::uint64_t kept_inheritable = 0;  // for a deferred capability drop without configured sets
  std::uint32_t ready_mask = 0;        // Confine rows whose check passed: their commit runs
  bool cwd_entered = false;            // the chdir before the user switch worked
  bool detached = false;               // the parent sent Keep: the process outlives it
  bool committed = false;              // the Confine loads and the deferred drop are done

  void ready(Prim p) { ready_mask |= 1U << static_cast<unsigned>(p); }
  bool is_ready(Prim p) const { return (ready_mask & (1U << static_cast<unsigned>(p))) != 0; }

  // Appends one entry to the report: applied when `err` is 0, failed otherwise.
  void record(Prim p, int err, std::uint16_t what = 0, std::int64_t value = 0);
  // Sends the report as a message of `kind`; false when the parent is gone.
  bool send(ChildMsg kind);
  // The same, passing `fd` along (SCM_RIGHTS).
  bool send_fd(ChildMsg kind, int fd);
  // Reports an error that makes running the harness impossible, and exits. The message gets
  // the error's text appended unless it already says it (`explained`).
  [[noreturn]] void fatal(const char* msg, int err, bool explained = false);
  // The same for a step of primitive `p` (with its entry's `what` and `value`), so that the
  // parent can name the cause in the error.
  [[noreturn]] void fatal_step(Prim p, std::uint16_t what, std::int64_t value, const char* msg,
                               int err, bool explained = false);
  [[noreturn]] void die_quietly();
  // One byte from the parent; EOF means the parent is gone or gave up: the init exits.
  char wait_parent();
};

namespace child {

// Appends to a fixed buffer, truncating silently.
class Buf {
 public:
  Buf(char* data, std::size_t size) : data_(data), size_(size) { data_[0] = '\0'; }
  Buf& add(const char* s);
  Buf& add(long n);
  const char* c_str() const { return data_; }

 private:
  char* data_;
  std::size_t size_;
  std::size_t len_ = 0;
};

// Lower-case error texts in the style engines match on ("no such file or directory").
const char* err_text(int err);

// "/proc/self/fd/N" for mounting through an fd.
void fd_path(char (&out)[32], int fd);

// An O_PATH fd of `rel` under `dirfd`, resolved as if dirfd were "/" (never leaving it), or
// -errno. `strict`: no symlink at all on the way.
int open_in_root(int dirfd, const char* rel, bool strict);
// The same, creating missing directories (and the last component as a file when
// `last_is_file`) inside the root.
int make_in_root(int rootfd, const char* rel, bool last_is_file, bool strict);

// Mount flags the kernel locks on a mount made in a less privileged user namespace; a remount
// must repeat them or it fails with EPERM.
unsigned long locked_flags(int fd);
// mount(NULL, rel, NULL, flags) through an fd of `rel` in the root; returns 0 or errno.
int remount_at(int rootfd, const char* rel, bool strict, unsigned long flags, bool keep_locked);

// A copy of the mount at `src` (an fd of any kind; with every mount below it when `recursive`)
// attached on the mount point `dst` (an fd), with MOUNT_ATTR_* `set` and `clr` applied to every
// mount of the copy before it is attached: open_tree(OPEN_TREE_CLONE), mount_setattr and
// move_mount, all on fds, so nothing is resolved by name between the steps. 0 or the errno;
// ENOSYS on kernels before 5.12 (5.2 without attributes).
int attach_tree(int src, int dst, bool recursive, std::uint64_t set, std::uint64_t clr);

int close_fd(int fd);
// The kernel will let this process load a filter or restrict itself: no_new_privs is set, or
// CAP_SYS_ADMIN is effective (seccomp, Landlock).
bool may_confine_self();
long write_all(int fd, const void* data, std::size_t len);

}  // namespace child
}  // namespace nyx
