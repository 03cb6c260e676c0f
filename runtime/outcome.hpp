// The outcome record: what happened to each hardening primitive, and the level it adds up to.
// One writer: merge_outcome folds the plan's requests, the parent's events and the child's
// report into it; nothing else sets a status.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/child_abi.hpp"
#include "runtime/primitives.hpp"

namespace nyx {

std::string_view status_name(PrimStatus s);

enum class Level : std::uint8_t { Baseline, Full, Partial, None };
std::string_view level_name(Level l);

// Why a primitive failed, found on the host (runtime/causes.hpp): a stable code for scripts and
// one sentence for people.
struct Cause {
  std::string code;
  std::string message;
};

struct PrimOutcome {
  bool requested = false;  // the config asks for it (and it is not ablated)
  bool ablated = false;
  PrimStatus status = PrimStatus::Skipped;
  int err = 0;                 // errno when failed
  nlohmann::json detail;       // extra fields: value, types, count, method, ...
  std::optional<Cause> cause;  // of the failure, or of a requested one skipped, when known
};

struct Outcome {
  std::array<PrimOutcome, kPrimCount> prims{};
  // sha256 (hex) of what ran, by name: "config" as read, "seccomp" BPF, "landlock" ruleset.
  std::map<std::string, std::string> digests;
  PrimOutcome& operator[](Prim p) { return prims[static_cast<std::size_t>(p)]; }
  const PrimOutcome& operator[](Prim p) const { return prims[static_cast<std::size_t>(p)]; }
};

// Something the parent saw happen to a primitive (a cgroup file it could not write, a namespace
// the host refused at clone), with what the child's entries cannot carry: a name.
struct ParentEvent {
  StepEntry entry;
  std::string note;
};

// The first failure of a primitive, for the diagnosis of its cause.
struct Failure {
  Prim prim;
  int err;
  std::uint16_t what;          // the entry's part (a namespace type, a cgroup write, ...)
  std::int64_t value;          // the entry's detail (a resource, a rule index, ...)
  std::string_view note;       // a parent event's name (the cgroup file)
  const PrimOutcome& planned;  // what was asked (rlimit values, ...)
};
using Diagnose = std::function<std::optional<Cause>(const Failure&)>;

// The record: `planned` (requests, ablation marks and planned details, every status Skipped),
// then the parent's events, then the child's entries, in order. A Failed entry makes its
// primitive failed with that errno (the first one wins); an Applied entry makes a requested
// one applied (what nobody asked for stays skipped, with its details). Each primitive's own merge
// adds its details. Entries for a primitive that is neither requested, ablated nor always listed
// are dropped (a tracking cgroup is not hardening).
// `diagnose`, when given, names the cause of each primitive's first failure.
Outcome merge_outcome(Outcome planned, std::span<const ParentEvent> events,
                      std::span<const StepEntry> child, const Diagnose& diagnose = {});

// baseline: nothing requested beyond the baseline primitives, and all of that applied;
// otherwise full / partial / none over the requested primitives. A requested primitive that
// ended skipped with a cause (the host lacks it) is left out of both.
Level compute_level(const Outcome& outcome);

// {"no_new_privs": {"status": "applied"}, ...}: primitives that are not always listed appear
// when requested or ablated.
nlohmann::json primitives_json(const Outcome& outcome);

// The "hardening" object of the state: mode, level, ablation mask and primitives.
nlohmann::json hardening_json(const Outcome& outcome, bool enforce,
                              const std::vector<std::string>& ablation);

// One warning line per failed primitive: "seccomp: failed: EINVAL (Invalid argument)".
std::string failure_line(Prim p, const PrimOutcome& o);
// The failure lines of every failed primitive, in order.
std::vector<std::string> failure_lines(const Outcome& outcome);
// The same, for warnings; in enforce mode the first one is an Error naming `object` instead.
std::vector<std::string> check_outcome(const Outcome& outcome, bool enforce,
                                       const std::string& object);

}  // namespace nyx
