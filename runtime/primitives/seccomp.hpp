// Compiling linux.seccomp into a BPF program with libseccomp, in the parent.
#pragma once

#include <linux/filter.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bundle/config.hpp"

namespace nyx {

struct SeccompOptions {
  bool enforce = false;            // unknown syscall names are errors instead of warnings
  std::vector<std::string> allow;  // extra syscalls to allow (ablation of a deny family)
};

struct CompiledSeccomp {
  std::vector<sock_filter> code;
  unsigned flags = 0;                // SECCOMP_FILTER_FLAG_*
  std::size_t rules = 0;             // rules loaded into the filter
  std::vector<std::string> unknown;  // syscall names libseccomp does not know
  std::vector<std::string> warnings;
  std::vector<std::string> notify;  // syscalls handed to the agent (SCMP_ACT_NOTIFY)
  std::string listener_path;
  nlohmann::json detail() const;  // for the record
  std::string default_action;
};

// Throws Error naming linux.seccomp.* when the filter cannot be built.
CompiledSeccomp compile_seccomp(const Seccomp& cfg, const SeccompOptions& opts);

}  // namespace nyx
