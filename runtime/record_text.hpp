// `state ID` printed straight from the text of state.json: the bytes that
// public_state(parse(text), status).dump(2) + "\n" gives, without building a JSON tree. Engines
// poll `state` in a loop and the tree (parse, reorder, copy, dump) was most of its in-process
// time (issue 19, docs/benchmarks.md).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "runtime/state_store.hpp"

namespace nyx {

class RecordText {
 public:
  // nullopt unless `text` is a record the way nyx writes it: one JSON object with sorted, unique
  // keys (after the summary line), strings in nlohmann's own escaping, integers wherever the
  // output shows them, the fields summarize() reads of the types it expects. Anything else is
  // for the full parser, which prints it or names the damage.
  static std::optional<RecordText> parse(std::string_view text);

  // The saved status, pid, start time and paused flag: what the live status is computed from.
  const StateSummary& summary() const { return summary_; }

  // The record as `state` prints it, with `status` (a plain word such as "running").
  std::string render(std::string_view status) const;

 private:
  StateSummary summary_;
  std::string head_;  // the output up to the status value's text
  std::string tail_;  // and after it
};

}  // namespace nyx
