// Reading passwd files by hand: the runtime is a static binary, where glibc's getpwuid would
// need the shared NSS modules, and a container's /etc/passwd is a file in its rootfs, not a
// database of this host.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace nyx {

struct PasswdEntry {
  std::string name;
  std::string home;
};

// The entry of `uid` in the passwd file at `path` under `dirfd` (resolved with RESOLVE_IN_ROOT
// when `in_root`, so a rootfs's symlinks cannot lead out), or nullopt.
std::optional<PasswdEntry> passwd_entry(int dirfd, const char* path, uid_t uid, bool in_root);

// The host's name of `uid` ("root"), or its number.
std::string user_name(uid_t uid);

}  // namespace nyx
