#include "runtime/capabilities.hpp"

#include <sys/capability.h>

#include <cctype>

namespace nyx {

int last_capability() {
  int bits = static_cast<int>(cap_max_bits());
  return bits > 0 ? bits - 1 : CAP_LAST_CAP;
}

std::vector<std::string> capability_names(std::uint64_t mask) {
  std::vector<std::string> out;
  for (int cap = 0; cap < 64; ++cap) {
    if (((mask >> cap) & 1U) == 0) continue;
    char* name = cap_to_name(static_cast<cap_value_t>(cap));
    std::string upper = name != nullptr ? name : std::to_string(cap);
    cap_free(name);
    for (char& c : upper)
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    out.push_back(std::move(upper));
  }
  return out;
}

nlohmann::json capabilities_json(const CapabilitySets& sets) {
  return {{"bounding", capability_names(sets.bounding)},
          {"effective", capability_names(sets.effective)},
          {"permitted", capability_names(sets.permitted)},
          {"inheritable", capability_names(sets.inheritable)},
          {"ambient", capability_names(sets.ambient)}};
}

}  // namespace nyx
