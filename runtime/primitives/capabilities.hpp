// Capability sets: names for the record, the kernel's highest capability, and the child's final
// drop when it was deferred past the Confine stage.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bundle/config.hpp"

namespace nyx {

class ChildContext;

// The highest capability number the running kernel knows (libcap asks the kernel).
int last_capability();

// ["CAP_CHOWN", ...] for the bits of `mask`.
std::vector<std::string> capability_names(std::uint64_t mask);

// {"bounding": [...], "effective": [...], ...} for the record.
nlohmann::json capabilities_json(const CapabilitySets& sets);

// Child, after the Confine loads when plan.defer_cap_drop: the configured sets, nothing more.
// Only capset runs here, under the loaded filters. Returns 0 or the errno.
int drop_deferred_capabilities(ChildContext& c);

}  // namespace nyx
