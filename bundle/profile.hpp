// `nyx-runtime spec`: config.json for the strict and standard profiles (SPEC §4).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nyx {

struct SpecOptions {
  std::string profile = "strict";  // "strict" or "standard"
  bool rootless = false;           // map container root to the caller instead of a host range
  bool host_libs = false;          // read-only binds of the host's /lib, /lib64, /usr/lib, /usr/bin
  std::optional<unsigned> memory_mib;
  std::optional<unsigned> timeout_s;
  std::vector<std::string> allow;  // seccomp groups beyond "base"
  std::vector<std::string> args;   // the harness command; default ["sh"]
};

// Host range container root maps to in the strict profile.
inline constexpr unsigned kStrictHostId = 100000;
inline constexpr unsigned kStrictIdRange = 65536;

// Throws Error naming the option for an unknown profile or seccomp group.
nlohmann::ordered_json make_spec(const SpecOptions& opts);

}  // namespace nyx
