#include "runtime/syscalls.hpp"

#include <unistd.h>

#include <cerrno>

namespace nyx::sys {

namespace {

long kernel_invoke(long nr, long a, long b, long c, long d, long e, long f) {
  long rc = ::syscall(nr, a, b, c, d, e, f);
  return rc < 0 ? -errno : rc;
}

const SyscallTable* g_table = &kKernel;

}  // namespace

const SyscallTable kKernel{kernel_invoke};

const SyscallTable& table() {
  return *g_table;
}

void install(const SyscallTable& t) {
  g_table = &t;
}

}  // namespace nyx::sys
