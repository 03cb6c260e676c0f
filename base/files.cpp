#include "base/files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "base/error.hpp"
#include "base/fd.hpp"

namespace nyx {

void write_file_atomic(const std::string& path, std::string_view text, const std::string& object) {
  std::string tmp = path + ".nyx-tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    throw_errno(object, "cannot write " + path);
  }
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) throw_errno(object, "cannot write " + path);
}

}  // namespace nyx
