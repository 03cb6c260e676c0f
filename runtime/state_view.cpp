#include "runtime/state_view.hpp"

#include "base/sha256.hpp"
#include "runtime/container.hpp"

namespace nyx {

namespace {

// A status no container has: NUL cannot appear in an ID or an ociVersion (both checked), the
// only strings the record puts before "status", so its first appearance is the status.
const std::string kPlaceholder = std::string("\0nyx-status\0", 12);

std::string dumped(const nlohmann::json& v) {
  return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string render_state_view(const nlohmann::json& state) {
  return public_state(state, kPlaceholder)
             .dump(2, ' ', false, nlohmann::json::error_handler_t::replace) +
         "\n";
}

std::optional<std::string> state_view_with(std::string_view view, std::string_view digest,
                                           const std::string& status) {
  if (digest.empty() || sha256_hex(view) != digest) return std::nullopt;
  std::string mark = dumped(kPlaceholder);
  std::size_t at = view.find(mark);
  if (at == std::string_view::npos) return std::nullopt;
  std::string out;
  out.reserve(view.size() + status.size());
  out.append(view.substr(0, at)).append(dumped(status)).append(view.substr(at + mark.size()));
  return out;
}

}  // namespace nyx
