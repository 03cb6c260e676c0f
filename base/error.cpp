#include "base/error.hpp"

#include <cerrno>
#include <cstring>

namespace nyx {

Error::Error(std::string object, std::string cause, int err)
    : object_(std::move(object)), cause_(std::move(cause)), err_(err) {
  message_ = object_.empty() ? cause_ : object_ + ": " + cause_;
  if (err_ != 0) message_ += std::string(": ") + std::strerror(err_);
}

void throw_errno(std::string object, std::string cause) {
  int err = errno;
  throw Error(std::move(object), std::move(cause), err);
}

std::string errno_name(int err) {
  // strerrorname_np is glibc >= 2.32; Debian 12 has 2.36.
  const char* name = strerrorname_np(err);
  if (name != nullptr) return name;
  std::string out = "E";
  out += std::to_string(err);
  return out;
}

}  // namespace nyx
