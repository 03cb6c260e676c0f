// Small files written whole: a reader sees the old content or the new, never a part.
#pragma once

#include <string>
#include <string_view>

namespace nyx {

// Writes `text` to a temporary name beside `path` and renames it over `path`; throws Error
// naming `object` ("--pid-file", "--report", ...).
void write_file_atomic(const std::string& path, std::string_view text, const std::string& object);

}  // namespace nyx
