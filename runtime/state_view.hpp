// `state ID` without parsing the record: each state write also leaves `state.view`, the public
// record as `state` prints it (nlohmann's dump(2)) with a placeholder for the status, whose
// sha256 goes into state.json's summary line. `state` then checks the summary line and the
// digest and prints the view with the live status put in; anything that does not match (an
// older record, a damaged or stale view, a container being created) takes the full parse, which
// prints the same bytes (issue 19: polling scripts call `state` in a loop).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace nyx {

constexpr const char* kStateViewFile = "state.view";

// The view of `state`: public_state(state, placeholder).dump(2) + "\n".
std::string render_state_view(const nlohmann::json& state);

// `view` with the live `status` in place of the placeholder, or nullopt when `view` is not what
// render_state_view wrote for digest `digest`.
std::optional<std::string> state_view_with(std::string_view view, std::string_view digest,
                                           const std::string& status);

}  // namespace nyx
