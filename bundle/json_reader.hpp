// Typed reads from a parsed JSON document that name the JSON path of whatever is wrong.
// Internal to bundle/.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace nyx::json_reader {

using nlohmann::json;

// A JSON path built on the stack while descending and rendered only when an error needs it.
class Path {
 public:
  Path() = default;
  Path operator/(std::string_view key) const { return Path(this, key, 0, false); }
  Path operator[](std::size_t index) const { return Path(this, {}, index, true); }
  std::string str() const;

 private:
  Path(const Path* parent, std::string_view key, std::size_t index, bool is_index)
      : parent_(parent), key_(key), index_(index), is_index_(is_index) {}
  const Path* parent_ = nullptr;
  std::string_view key_;
  std::size_t index_ = 0;
  bool is_index_ = false;
};

[[noreturn]] void fail(const Path& path, const std::string& cause);

// The member `key` of `obj`, or nullptr when absent or null.
const json* member(const json& obj, std::string_view key);
// Fails when `obj` sets any of `keys`: runtime-spec fields nyx does not apply, which it refuses
// rather than run a container that differs from its config.
void refuse_unsupported(const json& obj, std::initializer_list<std::string_view> keys,
                        const Path& p);

void expect_object(const json& v, const Path& p);
std::string as_string(const json& v, const Path& p);
bool as_bool(const json& v, const Path& p);
std::uint64_t as_u64(const json& v, const Path& p);
std::int64_t as_i64(const json& v, const Path& p);
std::uint32_t as_u32(const json& v, const Path& p);
int as_int(const json& v, const Path& p);
std::vector<std::string> as_strings(const json& v, const Path& p);

// Shorthands for optional members of an object.
std::optional<std::string> opt_string(const json& obj, std::string_view key, const Path& p);
std::optional<bool> opt_bool(const json& obj, std::string_view key, const Path& p);
std::optional<std::uint64_t> opt_u64(const json& obj, std::string_view key, const Path& p);
std::optional<std::int64_t> opt_i64(const json& obj, std::string_view key, const Path& p);
std::optional<std::uint32_t> opt_u32(const json& obj, std::string_view key, const Path& p);
std::vector<std::string> opt_strings(const json& obj, std::string_view key, const Path& p);

// Parses JSON text strictly: no comments, no trailing data, no duplicate keys, nesting at most
// `max_depth`. `what` names the document in syntax errors ("config.json:3:14: ...").
json parse_strict(std::string_view text, std::string_view what, std::size_t max_depth = 64);

}  // namespace nyx::json_reader
