// Parsers of config.json sections, shared between the files of bundle/. Internal.
#pragma once

#include "bundle/config.hpp"
#include "bundle/json_reader.hpp"

namespace nyx {

Linux parse_linux(const nlohmann::json& v, const json_reader::Path& p);
Seccomp parse_seccomp(const nlohmann::json& v, const json_reader::Path& p);
Resources parse_resources(const nlohmann::json& v, const json_reader::Path& p);
Landlock parse_landlock(const nlohmann::json& v, const json_reader::Path& p);
Hooks parse_hooks(const nlohmann::json& v, const json_reader::Path& p);
// linux.uidMappings and mounts[].uidMappings alike: {containerID, hostID, size} entries.
std::vector<IdMapping> parse_mappings(const nlohmann::json& v, const json_reader::Path& p);

}  // namespace nyx
