// The record's side of the cgroups primitive: events the cgroup manager reports.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/outcome.hpp"

namespace nyx {

inline constexpr std::uint16_t kCgroupWrite = 0;       // note: the file
inline constexpr std::uint16_t kCgroupJoinFailed = 1;  // the init could not be moved in
inline constexpr std::uint16_t kCgroupWarning = 2;     // applied; note: a warning for the record
inline constexpr std::uint16_t kCgroupInfo = 3;  // applied; note: JSON {version, driver, path,
                                                 // controllers, unit}

// An event of the cgroups primitive: applied when `err` is 0.
ParentEvent cgroup_event(int err, std::uint16_t what = kCgroupWrite, std::string note = {});

}  // namespace nyx
