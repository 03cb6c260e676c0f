// The outcome record: what happened to each hardening primitive, and the level it adds up to.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace nyx {

// In the order of the hardening sequence (SPEC §4). `Rlimits` holds the RLIMIT_* other than
// CPU, NOFILE and AS; `Cgroups` and `Sysctl` are recorded when the config asks for them.
enum class Prim : std::uint8_t {
  NoNewPrivs,
  RlimitCpu,
  RlimitNofile,
  RlimitAs,
  Rlimits,
  Namespaces,
  Cgroups,
  Mounts,
  Sysctl,
  Root,
  Capabilities,
  Seccomp,
};
inline constexpr std::size_t kPrimCount = 12;

std::string_view prim_name(Prim p);

enum class PrimStatus : std::uint8_t { Skipped, Applied, Failed };
std::string_view status_name(PrimStatus s);

enum class Level : std::uint8_t { Baseline, Full, Partial, None };
std::string_view level_name(Level l);

struct PrimOutcome {
  bool requested = false;  // the config asks for it (and it is not ablated)
  bool ablated = false;
  PrimStatus status = PrimStatus::Skipped;
  int err = 0;            // errno when failed
  nlohmann::json detail;  // extra fields: value, types, count, method, ...
};

struct Outcome {
  std::array<PrimOutcome, kPrimCount> prims{};
  PrimOutcome& operator[](Prim p) { return prims[static_cast<std::size_t>(p)]; }
  const PrimOutcome& operator[](Prim p) const { return prims[static_cast<std::size_t>(p)]; }

  void applied(Prim p) { (*this)[p].status = PrimStatus::Applied; }
  void failed(Prim p, int err) {
    (*this)[p].status = PrimStatus::Failed;
    (*this)[p].err = err;
  }
};

// baseline: nothing requested beyond no_new_privs and rlimits, and all of that applied;
// otherwise full / partial / none over the requested primitives.
Level compute_level(const Outcome& outcome);

// {"no_new_privs": {"status": "applied"}, ...}: primitives the config never mentions and that
// are not part of the SPEC's fixed list (cgroups, sysctl, rlimits) are left out.
nlohmann::json primitives_json(const Outcome& outcome);

// The "hardening" object of the state: mode, level, ablation mask and primitives.
nlohmann::json hardening_json(const Outcome& outcome, bool enforce,
                              const std::vector<std::string>& ablation);

// One warning line per failed primitive: "seccomp: failed: EINVAL (Invalid argument)".
std::string failure_line(Prim p, const PrimOutcome& o);

}  // namespace nyx
