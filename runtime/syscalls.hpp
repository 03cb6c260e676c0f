// The child's only way to the kernel: every system call between clone and execve goes through
// sys::call, so that tests can replace the table and make any step fail with any errno without
// root (tests/unit/child_steps_test.cpp). No allocation, no locks: a function pointer.
#pragma once

namespace nyx::sys {

// Raw convention: the result, or -errno. errno itself is left alone.
using Invoke = long (*)(long nr, long a, long b, long c, long d, long e, long f);

struct SyscallTable {
  Invoke invoke;
};

// The kernel's table (::syscall).
extern const SyscallTable kKernel;

// The table in use; tests install their own and put kKernel back.
const SyscallTable& table();
void install(const SyscallTable& table);

template <class... Args>
long call(long nr, Args... args) {
  static_assert(sizeof...(Args) <= 6, "a system call takes at most six arguments");
  long a[6] = {(long)args...};
  return table().invoke(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

inline long call(long nr) {
  return table().invoke(nr, 0, 0, 0, 0, 0, 0);
}

// 0 on success, else the errno of a raw result.
inline int err_of(long rc) {
  return rc < 0 ? static_cast<int>(-rc) : 0;
}

}  // namespace nyx::sys
