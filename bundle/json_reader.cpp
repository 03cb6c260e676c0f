#include "bundle/json_reader.hpp"

#include <cstdio>
#include <set>

#include "base/error.hpp"

namespace nyx::json_reader {

std::string Path::str() const {
  std::vector<const Path*> chain;
  for (const Path* p = this; p != nullptr && p->parent_ != nullptr; p = p->parent_) {
    chain.push_back(p);
  }
  std::string out;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    const Path* p = *it;
    if (p->is_index_) {
      out += "[" + std::to_string(p->index_) + "]";
    } else {
      if (!out.empty()) out += '.';
      out += p->key_;
    }
  }
  return out;
}

void fail(const Path& path, const std::string& cause) {
  std::string where = path.str();
  throw Error(where.empty() ? "config" : where, cause);
}

const json* member(const json& obj, std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

void refuse_unsupported(const json& obj, std::initializer_list<std::string_view> keys,
                        const Path& p) {
  for (std::string_view k : keys) {
    const json* v = member(obj, k);
    // An empty object or array asks for nothing (generators emit `"intelRdt": {}`).
    if (v != nullptr && !((v->is_object() || v->is_array()) && v->empty())) {
      fail(p / k, "not supported by nyx-runtime (the container would run without it)");
    }
  }
}

void expect_object(const json& v, const Path& p) {
  if (!v.is_object()) fail(p, "expected object");
}

std::string as_string(const json& v, const Path& p) {
  if (!v.is_string()) fail(p, "expected string");
  const auto& s = v.get_ref<const std::string&>();
  if (s.find('\0') != std::string::npos) fail(p, "string contains a NUL byte");
  return s;
}

bool as_bool(const json& v, const Path& p) {
  if (!v.is_boolean()) fail(p, "expected boolean");
  return v.get<bool>();
}

std::uint64_t as_u64(const json& v, const Path& p) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  // A document built in code (update's flags) holds non-negative values as signed integers.
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0) {
    return static_cast<std::uint64_t>(v.get<std::int64_t>());
  }
  if (v.is_number_integer()) fail(p, "out of range: must not be negative");
  if (v.is_number_float()) fail(p, "expected integer, got " + v.dump());
  fail(p, "expected integer");
}

std::int64_t as_i64(const json& v, const Path& p) {
  if (v.is_number_unsigned()) {
    auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(INT64_MAX)) fail(p, "out of range: " + v.dump());
    return static_cast<std::int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_number_float()) fail(p, "expected integer, got " + v.dump());
  fail(p, "expected integer");
}

std::uint32_t as_u32(const json& v, const Path& p) {
  std::uint64_t u = as_u64(v, p);
  if (u > UINT32_MAX) fail(p, "out of range: " + std::to_string(u) + " does not fit in 32 bits");
  return static_cast<std::uint32_t>(u);
}

int as_int(const json& v, const Path& p) {
  std::int64_t i = as_i64(v, p);
  if (i < INT32_MIN || i > INT32_MAX) fail(p, "out of range: " + std::to_string(i));
  return static_cast<int>(i);
}

std::vector<std::string> as_strings(const json& v, const Path& p) {
  if (!v.is_array()) fail(p, "expected array of strings");
  std::vector<std::string> out;
  out.reserve(v.size());
  std::size_t i = 0;
  for (const auto& e : v) {
    if (!e.is_string()) fail(p, "expected array of strings");
    out.push_back(as_string(e, p[i++]));
  }
  return out;
}

std::optional<std::string> opt_string(const json& obj, std::string_view key, const Path& p) {
  const json* v = member(obj, key);
  if (v == nullptr) return std::nullopt;
  return as_string(*v, p / key);
}

std::optional<bool> opt_bool(const json& obj, std::string_view key, const Path& p) {
  const json* v = member(obj, key);
  if (v == nullptr) return std::nullopt;
  return as_bool(*v, p / key);
}

std::optional<std::uint64_t> opt_u64(const json& obj, std::string_view key, const Path& p) {
  const json* v = member(obj, key);
  if (v == nullptr) return std::nullopt;
  return as_u64(*v, p / key);
}

std::optional<std::int64_t> opt_i64(const json& obj, std::string_view key, const Path& p) {
  const json* v = member(obj, key);
  if (v == nullptr) return std::nullopt;
  return as_i64(*v, p / key);
}

std::optional<std::uint32_t> opt_u32(const json& obj, std::string_view key, const Path& p) {
  const json* v = member(obj, key);
  if (v == nullptr) return std::nullopt;
  return as_u32(*v, p / key);
}

std::vector<std::string> opt_strings(const json& obj, std::string_view key, const Path& p) {
  const json* v = member(obj, key);
  if (v == nullptr) return {};
  return as_strings(*v, p / key);
}

namespace {

// Watches the parser's events to refuse duplicate keys and excessive nesting, which
// nlohmann_json accepts silently (last key wins) or only bounds by memory.
class StrictWatcher {
 public:
  explicit StrictWatcher(std::size_t max_depth) : max_depth_(max_depth) {}

  bool on_event(int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (frames_.size() >= max_depth_) {
          throw Error(render_path(frames_.size()),
                      "nested deeper than " + std::to_string(max_depth_) + " levels");
        }
        frames_.push_back(Frame{event == json::parse_event_t::array_start, 0, {}, {}});
        break;
      case json::parse_event_t::key: {
        Frame& top = frames_.back();
        top.key = parsed.get<std::string>();
        if (!top.keys.insert(top.key).second) {
          throw Error(render_path(frames_.size() - 1), "duplicate key \"" + top.key + "\"");
        }
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        frames_.pop_back();
        advance();
        break;
      case json::parse_event_t::value:
        advance();
        break;
    }
    return true;
  }

 private:
  struct Frame {
    bool is_array;
    std::size_t index;
    std::string key;
    std::set<std::string> keys;
  };

  void advance() {
    if (!frames_.empty() && frames_.back().is_array) ++frames_.back().index;
  }

  // The path through the child names of the first `count` open containers.
  std::string render_path(std::size_t count) const {
    std::string out;
    for (std::size_t i = 0; i < count && i < frames_.size(); ++i) {
      const Frame& f = frames_[i];
      if (f.is_array) {
        out += "[" + std::to_string(f.index) + "]";
      } else {
        if (!out.empty()) out += '.';
        out += f.key;
      }
    }
    return out.empty() ? "config" : out;
  }

  std::size_t max_depth_;
  std::vector<Frame> frames_;
};

// nlohmann's message without its "[json.exception.NAME.ID] " prefix.
std::string without_id(const std::string& msg) {
  auto colon = msg.find("] ");
  return colon == std::string::npos ? msg : msg.substr(colon + 2);
}

}  // namespace

json parse_strict(std::string_view text, std::string_view what, std::size_t max_depth) {
  StrictWatcher watcher(max_depth);
  try {
    return json::parse(
        text.begin(), text.end(),
        [&watcher](int depth, json::parse_event_t event, json& parsed) {
          return watcher.on_event(depth, event, parsed);
        },
        /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const json::parse_error& e) {
    // nlohmann's text is "[json.exception.parse_error.101] parse error at line L, column C: why".
    std::string msg = e.what();
    unsigned line = 0;
    unsigned column = 0;
    auto at = msg.find("at line ");
    if (at != std::string::npos &&
        std::sscanf(msg.c_str() + at, "at line %u, column %u", &line, &column) == 2) {
      auto colon = msg.find(": ", at);
      std::string why = colon == std::string::npos ? msg : msg.substr(colon + 2);
      throw Error(std::string(what), "line " + std::to_string(line) + ", column " +
                                         std::to_string(column) + ": " + why);
    }
    throw Error(std::string(what), without_id(msg));
  } catch (const json::out_of_range& e) {
    // A number beyond double's range ("1e400"): nlohmann reports it as out_of_range, without a
    // position. Found by fuzzing (tests/fuzz/regressions/number-overflow.json).
    throw Error(std::string(what), without_id(e.what()));
  }
}

}  // namespace nyx::json_reader
