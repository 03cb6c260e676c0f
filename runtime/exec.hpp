// `exec`: a new process in a running container.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/lifecycle.hpp"

namespace nyx {

struct ExecOptions {
  std::string id;
  std::string process_file;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd;
  std::string user;  // "uid[:gid]"
  bool tty = false;
  bool detach = false;
  std::string pid_file;
  std::string console_socket;
  bool no_new_privs = false;
  std::vector<std::string> caps;
  int preserve_fds = 0;
  std::vector<std::uint32_t> additional_gids;
  std::string process_label;
  std::string apparmor;
  std::vector<std::string> cgroups;  // "[controllers:]path" below the container's cgroups
  bool ignore_paused = false;
};

// Joins every namespace and the cgroups of the container and applies the same hardening as its
// init, in the container's mode and with its ablation mask; the record goes to the state's
// hardening.execs. Returns the process's exit status (0 with --detach).
int cmd_exec(const GlobalOptions& g, const ExecOptions& opts);

}  // namespace nyx
