#include "base/sha256.hpp"

#include <nettle/sha2.h>

namespace nyx {

static_assert(sizeof(sha256_ctx) <= 128, "Sha256::state_ holds a nettle sha256_ctx");

Sha256::Sha256() {
  sha256_init(reinterpret_cast<sha256_ctx*>(state_));
}

Sha256& Sha256::add(const void* data, std::size_t len) {
  sha256_update(reinterpret_cast<sha256_ctx*>(state_), len, static_cast<const std::uint8_t*>(data));
  return *this;
}

std::string Sha256::hex() {
  std::uint8_t digest[SHA256_DIGEST_SIZE];
  sha256_digest(reinterpret_cast<sha256_ctx*>(state_), sizeof digest, digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * sizeof digest);
  for (std::uint8_t b : digest) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

}  // namespace nyx
