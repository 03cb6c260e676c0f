// The record for a person: `state --format table` (a live container, or a saved state or
// --report file with --file), one line per primitive with its status, details and cause.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace nyx {

// Colour when stdout is a terminal (and NO_COLOR is unset, TERM is not "dumb").
bool want_color();

// The state (OCI state plus "hardening") as a table; `color` adds ANSI colours.
std::string record_table(const nlohmann::json& state, bool color);

}  // namespace nyx
