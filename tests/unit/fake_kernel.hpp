// A kernel for the child's steps that does nothing, records every call and fails the ones a test
// names: installed as the sys::call table, it lets every failure path of the hardening sequence
// run without root and without touching the machine.
#pragma once

#include <sys/syscall.h>

#include <cerrno>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "runtime/syscalls.hpp"

namespace nyx::test {

// What keyctl(KEYCTL_JOIN_SESSION_KEYRING) answers: the new keyring's serial.
inline constexpr long kFakeKeyringSerial = 731337;

struct FakeCall {
  long nr;
  long args[6];
};

class FakeKernel {
 public:
  FakeKernel();
  ~FakeKernel();
  FakeKernel(const FakeKernel&) = delete;
  FakeKernel& operator=(const FakeKernel&) = delete;

  // The `nth` call (1-based; 0: every call) of `nr` fails with `err`.
  void fail(long nr, int err, int nth = 0);
  // Every call of `nr` for which `match` holds fails with `err`.
  void fail_if(long nr, int err, std::function<bool(const FakeCall&)> match);
  // Calls on these fds go to the real kernel (the status socket of a whole-sequence test).
  void pass_fd(int fd) { real_fds_.push_back(fd); }
  // execve/execveat exit the process with this code instead (a forked whole-sequence test).
  void exit_at_exec(int code) { exec_exit_ = code; }
  // The capabilities capget answers (permitted and effective); all of them by default, as root.
  void caps(std::uint64_t mask) { caps_ = mask; }
  // Called, with the calls so far, right before exit_at_exec exits.
  void on_exec(void (*fn)(const FakeKernel&)) { on_exec_ = fn; }

  const std::vector<FakeCall>& calls() const { return calls_; }
  std::size_t count(long nr) const;
  // Index of the first call of `nr`, or -1.
  long first(long nr) const;

 private:
  struct Rule {
    long nr;
    int err;
    int nth;
    std::function<bool(const FakeCall&)> match;
  };
  static long invoke(long nr, long a, long b, long c, long d, long e, long f);
  long handle(const FakeCall& call);
  long success(const FakeCall& call);

  sys::SyscallTable table_;
  std::vector<Rule> rules_;
  std::vector<FakeCall> calls_;
  std::vector<int> real_fds_;
  std::vector<long> null_fds_;  // fds it handed out for "/dev/null"
  int next_fd_ = 100;
  int exec_exit_ = -1;
  std::uint64_t caps_ = ~std::uint64_t{0};
  void (*on_exec_)(const FakeKernel&) = nullptr;
};

}  // namespace nyx::test
