// Signal names as the kill command takes them.
#pragma once

#include <string_view>

namespace nyx {

// "KILL", "SIGKILL", "9", "RTMIN+3": the signal number; throws Error for anything else.
int parse_signal(std::string_view text);

}  // namespace nyx
