// Capability sets: names for the record, the kernel's highest capability.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bundle/config.hpp"

namespace nyx {

// The highest capability number the running kernel knows (libcap asks the kernel).
int last_capability();

// ["CAP_CHOWN", ...] for the bits of `mask`.
std::vector<std::string> capability_names(std::uint64_t mask);

// {"bounding": [...], "effective": [...], ...} for the record.
nlohmann::json capabilities_json(const CapabilitySets& sets);

}  // namespace nyx
