#include "base/passwd.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sstream>

#include "base/fd.hpp"

namespace nyx {

namespace {

constexpr std::size_t kMaxPasswdBytes = 4u << 20;

std::string read_small(int fd) {
  std::string out;
  char buf[8192];
  ssize_t n;
  while (out.size() < kMaxPasswdBytes && (n = ::read(fd, buf, sizeof buf)) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

}  // namespace

std::optional<PasswdEntry> passwd_entry(int dirfd, const char* path, uid_t uid, bool in_root) {
  UniqueFd fd;
  if (in_root) {
    open_how how{};
    how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    fd.reset(static_cast<int>(::syscall(SYS_openat2, dirfd, path, &how, sizeof how)));
  } else {
    fd.reset(::openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  }
  if (!fd) return std::nullopt;
  std::stringstream in(read_small(fd.get()));
  // name:password:uid:gid:gecos:home:shell
  for (std::string line; std::getline(in, line);) {
    std::stringstream fields(line);
    std::string f[7];
    for (auto& x : f)
      std::getline(fields, x, ':');
    if (f[2].empty() || f[2].size() > 10 ||
        f[2].find_first_not_of("0123456789") != std::string::npos)
      continue;
    if (std::stoul(f[2]) == uid) return PasswdEntry{f[0], f[5]};
  }
  return std::nullopt;
}

std::string user_name(uid_t uid) {
  auto e = passwd_entry(AT_FDCWD, "/etc/passwd", uid, false);
  return e && !e->name.empty() ? e->name : std::to_string(uid);
}

}  // namespace nyx
