#include "runtime/idmap.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "base/error.hpp"
#include "runtime/primitives/namespaces.hpp"

namespace nyx {

namespace {

// The helper process: it blocks on the pipe until released, then is reaped. Released and
// reaped on every path out, so a throw leaves no process behind.
class Holder {
 public:
  Holder(pid_t pid, UniqueFd release) : pid_(pid), release_(std::move(release)) {}
  Holder(const Holder&) = delete;
  Holder& operator=(const Holder&) = delete;
  ~Holder() {
    release_.reset();
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_;
  UniqueFd release_;
};

}  // namespace

UniqueFd make_mapping_userns(std::span<const IdMapping> uids, std::span<const IdMapping> gids,
                             const std::string& object) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) throw_errno(object, "cannot make a pipe");
  UniqueFd rd(p[0]);
  UniqueFd wr(p[1]);
  // A raw clone, not fork(): no atfork handlers in a process that may have threads, and the
  // child makes system calls only.
  long pid = ::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, 0);
  if (pid < 0) throw_errno(object, "cannot create a user namespace for the ID mappings");
  if (pid == 0) {
    ::syscall(SYS_close, p[1]);
    char c = 0;
    ::syscall(SYS_read, p[0], &c, 1);
    ::syscall(SYS_exit_group, 0);
  }
  rd.reset();
  Holder holder(static_cast<pid_t>(pid), std::move(wr));
  write_id_maps(holder.pid(), uids, gids, object);
  std::string ns = "/proc/" + std::to_string(pid) + "/ns/user";
  UniqueFd fd(::open(ns.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw_errno(object, "cannot open the mapping user namespace");
  return fd;
}

void idmap_tree(int tree, int userns, bool recursive, const std::string& object) {
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = static_cast<std::uint64_t>(userns);
  unsigned flags = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
  if (::syscall(SYS_mount_setattr, tree, "", flags, &attr, sizeof attr) != 0) {
    throw_errno(object, errno == EINVAL
                            ? "cannot idmap the mount: its filesystem does not support idmapped "
                              "mounts, or it is idmapped already"
                            : "cannot idmap the mount");
  }
}

}  // namespace nyx
