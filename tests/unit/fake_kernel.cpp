#include "tests/unit/fake_kernel.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace nyx::test {

namespace {

FakeKernel* g_fake = nullptr;

bool is_open_call(long nr) {
  return nr == SYS_openat || nr == SYS_openat2 || nr == SYS_open;
}

}  // namespace

FakeKernel::FakeKernel() : table_{invoke} {
  g_fake = this;
  sys::install(table_);
}

FakeKernel::~FakeKernel() {
  sys::install(sys::kKernel);
  g_fake = nullptr;
}

void FakeKernel::fail(long nr, int err, int nth) {
  rules_.push_back(Rule{nr, err, nth, nullptr});
}

void FakeKernel::fail_if(long nr, int err, std::function<bool(const FakeCall&)> match) {
  rules_.push_back(Rule{nr, err, 0, std::move(match)});
}

std::size_t FakeKernel::count(long nr) const {
  return static_cast<std::size_t>(
      std::count_if(calls_.begin(), calls_.end(), [&](const FakeCall& c) { return c.nr == nr; }));
}

long FakeKernel::first(long nr) const {
  for (std::size_t i = 0; i < calls_.size(); ++i) {
    if (calls_[i].nr == nr) return static_cast<long>(i);
  }
  return -1;
}

long FakeKernel::invoke(long nr, long a, long b, long c, long d, long e, long f) {
  FakeCall call{nr, {a, b, c, d, e, f}};
  return g_fake->handle(call);
}

long FakeKernel::handle(const FakeCall& call) {
  calls_.push_back(call);
  long nr = call.nr;
  bool io = nr == SYS_read || nr == SYS_write || nr == SYS_sendmsg || nr == SYS_poll;
  int fd = nr == SYS_poll ? reinterpret_cast<const int*>(call.args[0])[0]
                          : static_cast<int>(call.args[0]);
  if (nr == SYS_exit_group ||
      (io && std::find(real_fds_.begin(), real_fds_.end(), fd) != real_fds_.end())) {
    long rc = ::syscall(nr, call.args[0], call.args[1], call.args[2], call.args[3], call.args[4],
                        call.args[5]);
    return rc < 0 ? -errno : rc;
  }
  int seen = static_cast<int>(count(nr));
  for (const Rule& r : rules_) {
    if (r.nr != nr) continue;
    if (r.match ? r.match(call) : (r.nth == 0 || r.nth == seen)) return -r.err;
  }
  if ((nr == SYS_execve || nr == SYS_execveat) && exec_exit_ >= 0) {
    if (on_exec_ != nullptr) on_exec_(*this);
    ::_exit(exec_exit_);
  }
  return success(call);
}

// What a kernel that agrees with everything answers.
long FakeKernel::success(const FakeCall& call) {
  long nr = call.nr;
  auto* p1 = reinterpret_cast<void*>(call.args[1]);
  auto* p2 = reinterpret_cast<void*>(call.args[2]);
  if (nr == SYS_landlock_create_ruleset) return next_fd_++;
  if (is_open_call(nr)) {
    // "/dev/null" opened by path is the null device (the mask source the child checks).
    const char* path = reinterpret_cast<const char*>(call.args[1]);
    if (nr == SYS_openat && path != nullptr && std::strcmp(path, "/dev/null") == 0) {
      null_fds_.push_back(next_fd_);
    }
    return next_fd_++;
  }
  if (nr == SYS_write) return call.args[2];
  if (nr == SYS_getcwd) {
    std::strcpy(reinterpret_cast<char*>(call.args[0]), "/");
    return 2;
  }
  if (nr == SYS_newfstatat) {
    auto* st = static_cast<struct stat*>(p2);
    *st = {};
    st->st_mode = S_IFREG | 0755;
    return 0;
  }
  if (nr == SYS_fstat) {
    auto* st = static_cast<struct stat*>(p1);
    *st = {};
    st->st_mode = S_IFREG | 0644;
    if (std::find(null_fds_.begin(), null_fds_.end(), call.args[0]) != null_fds_.end()) {
      st->st_mode = S_IFCHR | 0666;
      st->st_rdev = makedev(1, 3);
    }
    return 0;
  }
  if (nr == SYS_fstatfs || nr == SYS_statfs) {
    *static_cast<struct statfs*>(p1) = {};
    static_cast<struct statfs*>(p1)->f_type = PROC_SUPER_MAGIC;
    return 0;
  }
  if (nr == SYS_capget) {
    auto* data = static_cast<__user_cap_data_struct*>(p1);
    std::memset(data, 0, 2 * sizeof(__user_cap_data_struct));
    for (int i = 0; i < 2; ++i) {
      data[i].permitted = static_cast<std::uint32_t>(caps_ >> (32 * i));
      data[i].effective = data[i].permitted;
    }
    return 0;
  }
  if (nr == SYS_prctl && call.args[0] == PR_GET_NO_NEW_PRIVS) return 1;
  if (nr == SYS_prctl && call.args[0] == PR_CAPBSET_READ) return 1;
  // A NULL program: the kernel checked the flags and stopped at the copy.
  if (nr == SYS_seccomp && call.args[2] == 0) return -EFAULT;
  if (nr == SYS_read) return 0;
  if (nr == SYS_clone) return 4242;
  if (nr == SYS_keyctl) return kFakeKeyringSerial;
  return 0;
}

}  // namespace nyx::test
