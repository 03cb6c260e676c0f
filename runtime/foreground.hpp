// Waiting for a process the runtime started in the foreground (`run`, `exec`): forwarding
// signals to it, relaying its terminal, and enforcing a timeout.
#pragma once

#include <signal.h>

#include <functional>
#include <optional>

#include "runtime/process.hpp"

namespace nyx {

// Blocks the signals `wait_foreground` forwards; they queue until it reads them.
class ForwardedSignals {
 public:
  ForwardedSignals();
  ~ForwardedSignals();
  ForwardedSignals(const ForwardedSignals&) = delete;
  ForwardedSignals& operator=(const ForwardedSignals&) = delete;
  int fd() const { return fd_.get(); }

 private:
  sigset_t set_{};
  sigset_t old_{};
  UniqueFd fd_;
};

struct WaitResult {
  int status = 0;  // wait status of the process
  bool timed_out = false;
};

// Waits for `proc` (a child of ours). `master` >= 0 is a pty master to relay to our stdio.
// On timeout calls `on_timeout` (which must make the process exit) and keeps waiting.
WaitResult wait_foreground(const ChildProcess& proc, int master, std::optional<double> timeout_s,
                           const ForwardedSignals& signals,
                           const std::function<void()>& on_timeout);

}  // namespace nyx
