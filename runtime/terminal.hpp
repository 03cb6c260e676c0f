// Terminals: a pty for process.terminal, sent to --console-socket or relayed by `run`.
#pragma once

#include <string>

#include "bundle/config.hpp"
#include "runtime/fd.hpp"

namespace nyx {

class Terminal {
 public:
  // Opens a pty pair sized per process.consoleSize.
  static Terminal open(const Process& proc);

  int slave_fd() const { return slave_.get(); }
  const std::string& slave_path() const { return slave_path_; }
  void close_slave() { slave_.reset(); }
  UniqueFd take_master() { return std::move(master_); }

 private:
  UniqueFd master_;
  UniqueFd slave_;
  std::string slave_path_;
};

// Connects to the unix socket at `path` and passes `master` with SCM_RIGHTS (runc protocol).
void send_console(const std::string& path, int master);

// Copies between our stdio and the pty master until the master hangs up or `stop_fd` becomes
// readable; puts a terminal stdin into raw mode meanwhile. Returns when the harness has exited.
void relay_terminal(int master, int stop_fd);

}  // namespace nyx
