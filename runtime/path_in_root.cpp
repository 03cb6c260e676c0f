#include "runtime/path_in_root.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <vector>

#include "base/error.hpp"
#include "base/fd.hpp"

namespace nyx {

namespace {

void split_into(std::string_view path, std::vector<std::string>& out) {
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (!part.empty() && part != ".") out.emplace_back(part);
    start = end + 1;
  }
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return out;
}

}  // namespace

std::string relative_in_root(std::string_view absolute) {
  std::vector<std::string> parts;
  split_into(absolute, parts);
  return join(parts);
}

std::string check_in_root(const std::string& rootfs, std::string_view rel,
                          const std::string& object, bool no_symlinks) {
  std::vector<std::string> todo;  // components still to walk, in reverse order
  split_into(rel, todo);
  std::reverse(todo.begin(), todo.end());
  std::vector<std::string> done;  // resolved components below the rootfs
  auto dotdot = [&] {
    if (done.empty()) {
      throw Error(object, "resolves through a symlink out of the rootfs (\"..\" above its root)");
    }
    done.pop_back();
  };
  // The rest does not exist yet and is made inside as directories: it holds no symlink, so
  // it resolves by name.
  auto finish = [&] {
    for (auto it = todo.rbegin(); it != todo.rend(); ++it) {
      if (*it == "..") {
        dotdot();
      } else {
        done.push_back(std::move(*it));
      }
    }
    return join(done);
  };
  int links = 0;
  while (!todo.empty()) {
    std::string part = std::move(todo.back());
    todo.pop_back();
    if (part == "..") {
      dotdot();
      continue;
    }
    done.push_back(part);
    std::string host = rootfs + "/" + join(done);
    struct stat st {};
    if (::lstat(host.c_str(), &st) != 0) return finish();
    if (!S_ISLNK(st.st_mode)) continue;
    if (no_symlinks) {
      throw Error(object, "\"/" + join(done) +
                              "\" is a symlink in the rootfs: it must be mounted on ordinary "
                              "directory");
    }
    if (++links > 40) throw Error(object, "too many levels of symbolic links", ELOOP);
    char target[PATH_MAX];
    ssize_t n = ::readlink(host.c_str(), target, sizeof target - 1);
    if (n < 0) return finish();
    target[n] = '\0';
    done.pop_back();
    // An absolute target restarts at the container's root, as in a chroot.
    if (target[0] == '/') done.clear();
    std::vector<std::string> more;
    split_into(target, more);
    for (auto it = more.rbegin(); it != more.rend(); ++it)
      todo.push_back(*it);
  }
  return join(done);
}

void make_in_rootfs(const std::string& rootfs, std::string_view rel, bool is_file,
                    const std::string& object) {
  UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) throw_errno(object, "cannot open the rootfs");
  std::vector<std::string> parts;
  split_into(rel, parts);
  open_how how{};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  std::string prefix;
  UniqueFd parent(::dup(root.get()));
  for (std::size_t i = 0; i < parts.size(); ++i) {
    prefix += (prefix.empty() ? "" : "/") + parts[i];
    UniqueFd fd(
        static_cast<int>(::syscall(SYS_openat2, root.get(), prefix.c_str(), &how, sizeof how)));
    if (!fd && errno == ENOENT) {
      bool last = i + 1 == parts.size();
      int rc = last && is_file ? ::mknodat(parent.get(), parts[i].c_str(), S_IFREG | 0644, 0)
                               : ::mkdirat(parent.get(), parts[i].c_str(), 0755);
      if (rc != 0 && errno != EEXIST) throw_errno(object, "cannot create \"/" + prefix + "\"");
      fd.reset(
          static_cast<int>(::syscall(SYS_openat2, root.get(), prefix.c_str(), &how, sizeof how)));
    }
    if (!fd) throw_errno(object, "cannot resolve \"/" + prefix + "\" in the rootfs");
    parent = std::move(fd);
  }
}

}  // namespace nyx
