#include "runtime/outcome.hpp"

#include <cstring>

#include "base/error.hpp"
#include "runtime/primitive_ops.hpp"

namespace nyx {

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

namespace {

bool kept(const PrimOutcome& o, Prim p) {
  return o.requested || o.ablated || primitive(p).always_listed;
}

void fold(PrimOutcome& o, const StepEntry& e, std::string_view note, const Diagnose& diagnose) {
  if (e.status == PrimStatus::Failed && o.status != PrimStatus::Failed) {
    o.status = PrimStatus::Failed;
    o.err = e.err;
    if (diagnose) o.cause = diagnose(Failure{e.prim, e.err, e.what, e.value, note, o});
  } else if (e.status == PrimStatus::Applied && o.status == PrimStatus::Skipped && o.requested) {
    o.status = PrimStatus::Applied;
  }
  if (auto merge = primitive(e.prim).ops->merge) merge(o, e, note);
}

}  // namespace

Outcome merge_outcome(Outcome out, std::span<const ParentEvent> events,
                      std::span<const StepEntry> child, const Diagnose& diagnose) {
  for (const ParentEvent& ev : events) {
    PrimOutcome& o = out[ev.entry.prim];
    if (kept(o, ev.entry.prim)) fold(o, ev.entry, ev.note, diagnose);
  }
  for (const StepEntry& e : child) {
    PrimOutcome& o = out[e.prim];
    if (kept(o, e.prim)) fold(o, e, {}, diagnose);
  }
  return out;
}

Level compute_level(const Outcome& outcome) {
  std::size_t applied = 0;
  std::size_t failed = 0;
  bool beyond_baseline = false;
  for (const PrimitiveInfo& info : kPrimitives) {
    const PrimOutcome& o = outcome[info.id];
    // A requested primitive skipped with a cause is one the host does not have (AppArmor or
    // SELinux on a host without it, in best-effort mode): its entry says so, and it counts
    // neither as hardening beyond the baseline nor as a failure.
    if (!o.requested || (o.status == PrimStatus::Skipped && o.cause)) continue;
    if (o.status == PrimStatus::Applied) ++applied;
    if (o.status == PrimStatus::Failed) ++failed;
    if (!info.baseline) beyond_baseline = true;
  }
  if (failed == 0 && !beyond_baseline) return Level::Baseline;
  if (failed == 0) return Level::Full;
  if (applied == 0) return Level::None;
  return Level::Partial;
}

nlohmann::json primitives_json(const Outcome& outcome) {
  nlohmann::json out = nlohmann::json::object();
  for (const PrimitiveInfo& info : kPrimitives) {
    const PrimOutcome& o = outcome[info.id];
    if (!info.always_listed && !o.requested && !o.ablated && o.status == PrimStatus::Skipped) {
      continue;
    }
    nlohmann::json entry = {{"status", status_name(o.status)}};
    if (o.status == PrimStatus::Failed) {
      entry["errno"] = o.err;
      entry["error"] = errno_name(o.err);
    }
    // Why it failed, or why a requested one was skipped (the host lacks it).
    if (o.cause && o.status != PrimStatus::Applied) {
      entry["cause"] = {{"code", o.cause->code}, {"message", o.cause->message}};
    }
    if (o.ablated) entry["ablated"] = true;
    if (o.detail.is_object()) {
      for (const auto& [k, v] : o.detail.items())
        entry[k] = v;
    }
    out[std::string(info.name)] = std::move(entry);
  }
  return out;
}

nlohmann::json hardening_json(const Outcome& outcome, bool enforce,
                              const std::vector<std::string>& ablation) {
  nlohmann::json h = {{"mode", enforce ? "enforce" : "best-effort"},
                      {"level", level_name(compute_level(outcome))},
                      {"ablation", ablation},
                      {"primitives", primitives_json(outcome)}};
  if (!outcome.digests.empty()) {
    nlohmann::json& d = h["digests"];
    for (const auto& [name, hex] : outcome.digests)
      d[name] = "sha256:" + hex;
  }
  return h;
}

std::string failure_line(Prim p, const PrimOutcome& o) {
  std::string line = std::string(prim_name(p)) + ": failed: " + errno_name(o.err) + " (" +
                     std::strerror(o.err) + ")";
  if (o.detail.is_object() && o.detail.contains("reason")) {
    line += ": " + o.detail["reason"].get<std::string>();
  }
  if (o.cause) line += " [" + o.cause->code + ": " + o.cause->message + "]";
  return line;
}

std::vector<std::string> failure_lines(const Outcome& outcome) {
  std::vector<std::string> lines;
  for (const PrimitiveInfo& info : kPrimitives) {
    const PrimOutcome& o = outcome[info.id];
    if (o.status == PrimStatus::Failed) lines.push_back(failure_line(info.id, o));
  }
  return lines;
}

std::vector<std::string> check_outcome(const Outcome& outcome, bool enforce,
                                       const std::string& object) {
  std::vector<std::string> failures = failure_lines(outcome);
  if (enforce && !failures.empty()) {
    throw Error(object, "hardening failed in enforce mode: " + failures.front());
  }
  return failures;
}

}  // namespace nyx
