#include "runtime/outcome.hpp"

#include <cstring>

#include "runtime/error.hpp"

namespace nyx {

namespace {

constexpr std::array<std::string_view, kPrimCount> kPrimNames = {
    "no_new_privs", "rlimit_cpu", "rlimit_nofile", "rlimit_as", "rlimits",      "namespaces",
    "cgroups",      "mounts",     "sysctl",        "root",      "capabilities", "seccomp"};

// Always present in the record, even when skipped: the SPEC's nine primitives.
bool always_listed(Prim p) {
  return p != Prim::Rlimits && p != Prim::Cgroups && p != Prim::Sysctl;
}

bool is_baseline_prim(Prim p) {
  return p == Prim::NoNewPrivs || p == Prim::RlimitCpu || p == Prim::RlimitNofile ||
         p == Prim::RlimitAs || p == Prim::Rlimits;
}

}  // namespace

std::string_view prim_name(Prim p) {
  return kPrimNames[static_cast<std::size_t>(p)];
}

std::string_view status_name(PrimStatus s) {
  switch (s) {
    case PrimStatus::Applied:
      return "applied";
    case PrimStatus::Failed:
      return "failed";
    case PrimStatus::Skipped:
      break;
  }
  return "skipped";
}

std::string_view level_name(Level l) {
  switch (l) {
    case Level::Baseline:
      return "baseline";
    case Level::Full:
      return "full";
    case Level::Partial:
      return "partial";
    case Level::None:
      break;
  }
  return "none";
}

Level compute_level(const Outcome& outcome) {
  std::size_t requested = 0;
  std::size_t applied = 0;
  std::size_t failed = 0;
  bool beyond_baseline = false;
  for (std::size_t i = 0; i < kPrimCount; ++i) {
    const PrimOutcome& o = outcome.prims[i];
    if (!o.requested) continue;
    ++requested;
    if (o.status == PrimStatus::Applied) ++applied;
    if (o.status == PrimStatus::Failed) ++failed;
    if (!is_baseline_prim(static_cast<Prim>(i))) beyond_baseline = true;
  }
  if (failed == 0 && !beyond_baseline) return Level::Baseline;
  if (failed == 0) return Level::Full;
  if (applied == 0) return Level::None;
  return Level::Partial;
}

nlohmann::json primitives_json(const Outcome& outcome) {
  nlohmann::json out = nlohmann::json::object();
  for (std::size_t i = 0; i < kPrimCount; ++i) {
    auto p = static_cast<Prim>(i);
    const PrimOutcome& o = outcome.prims[i];
    if (!always_listed(p) && !o.requested && !o.ablated && o.status == PrimStatus::Skipped) {
      continue;
    }
    nlohmann::json entry = {{"status", status_name(o.status)}};
    if (o.status == PrimStatus::Failed) {
      entry["errno"] = o.err;
      entry["error"] = errno_name(o.err);
    }
    if (o.ablated) entry["ablated"] = true;
    if (o.detail.is_object()) {
      for (const auto& [k, v] : o.detail.items())
        entry[k] = v;
    }
    out[std::string(prim_name(p))] = std::move(entry);
  }
  return out;
}

nlohmann::json hardening_json(const Outcome& outcome, bool enforce,
                              const std::vector<std::string>& ablation) {
  return {{"mode", enforce ? "enforce" : "best-effort"},
          {"level", level_name(compute_level(outcome))},
          {"ablation", ablation},
          {"primitives", primitives_json(outcome)}};
}

std::string failure_line(Prim p, const PrimOutcome& o) {
  std::string line = std::string(prim_name(p)) + ": failed: " + errno_name(o.err) + " (" +
                     std::strerror(o.err) + ")";
  if (o.detail.is_object() && o.detail.contains("reason")) {
    line += ": " + o.detail["reason"].get<std::string>();
  }
  return line;
}

}  // namespace nyx
