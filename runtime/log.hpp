// Diagnostics: one line per event on stderr, and in --log as text or JSON lines.
#pragma once

#include <string>
#include <string_view>

namespace nyx::log {

enum class Format { Text, Json };

void configure(const std::string& path, Format format, bool debug);

void error(std::string_view msg);
void warn(std::string_view msg);
void debug(std::string_view msg);

// RFC 3339 UTC time with nanoseconds, as in the state's "created".
std::string now_rfc3339();

}  // namespace nyx::log
