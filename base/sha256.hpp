// SHA-256 digests for the record (hardening.digests): nettle's implementation (nettle-dev,
// linked statically like libseccomp), never a hand-written one.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace nyx {

// Incremental: feed pieces, then take the lower-case hex digest once.
class Sha256 {
 public:
  Sha256();
  Sha256& add(const void* data, std::size_t len);
  Sha256& add(std::string_view s) { return add(s.data(), s.size()); }
  std::string hex();

 private:
  alignas(8) unsigned char state_[128];
};

inline std::string sha256_hex(std::string_view bytes) {
  return Sha256().add(bytes).hex();
}

}  // namespace nyx
