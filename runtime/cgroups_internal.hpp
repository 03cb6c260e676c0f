// What the cgroup manager's files share (runtime/cgroups*.cpp): small file I/O on cgroupfs and
// the writer that turns every failed write into an event of the cgroups primitive.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "bundle/config.hpp"
#include "runtime/outcome.hpp"

namespace nyx::cgroup {

inline constexpr const char* kRoot = "/sys/fs/cgroup";

// 0 or the errno of open/write.
int write_file(const std::string& path, std::string_view value);
// The file's text without trailing whitespace; nullopt when it cannot be read.
std::optional<std::string> read_file(const std::string& path);
bool exists(const std::string& path);
bool has_controller(std::string_view list, std::string_view name);
// Every word of a v2 list file ("cpu io memory").
std::vector<std::string> words(std::string_view text);

// One directory's writes. A failure becomes an event naming the file; `applied` collects the
// controllers something was written through, for the record.
struct Writer {
  std::vector<ParentEvent>& out;
  std::set<std::string>& applied;
  std::string dir;

  // Writes `value` into dir/file; returns 0 or the errno, which is also an event.
  int operator()(const std::string& file, const std::string& value) const;
  // Writes without an event on failure (the caller decides); returns 0 or the errno.
  int quiet(const std::string& file, const std::string& value) const;
  // An event for a setting that cannot be applied here at all: `note` names the file and why.
  void fail(int err, const std::string& note) const;
  void warn(const std::string& text) const;
  // Two interdependent files (memory and memory+swap, period and runtime): the first write may
  // be refused until the second is done, so on EINVAL write the second, then the first again.
  void pair(const std::string& first, const std::optional<std::string>& v1,
            const std::string& second, const std::optional<std::string>& v2) const;
};

// The controller a cgroup file belongs to ("memory.max" -> "memory").
std::string controller_of(std::string_view file);

// linux.resources into one v1 hierarchy (`controllers` as in /proc/self/cgroup).
void apply_v1(const std::string& controllers, const Resources& r, const Writer& w);
// linux.resources into a v2 cgroup whose parent enabled `enabled` (cgroup.controllers).
void apply_v2(const Resources& r, const Writer& w);
// The v1 controllers the resources write to, in a stable order.
std::vector<std::string> v1_controllers_needed(const Resources& r);
// The v2 controllers the resources write to.
std::vector<std::string> v2_controllers_needed(const Resources& r);

}  // namespace nyx::cgroup
