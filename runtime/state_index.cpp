#include "runtime/state_index.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "base/error.hpp"
#include "base/fd.hpp"

namespace nyx::state_index {

namespace {

constexpr const char* kName = ".index";
constexpr const char* kTmp = ".index.tmp";
// The header holds the size after the last compaction, fixed width so it can be read in one go.
constexpr std::string_view kMagic = "nyx-index 1 base=";
constexpr std::size_t kHeaderSize = kMagic.size() + 10 + 1;
// Below this the file is never compacted: reading it costs less than rewriting it.
constexpr std::uint64_t kMinCompact = 256 * 1024;

std::string header(std::size_t base) {
  char num[16];
  std::snprintf(num, sizeof num, "%10zu", base);
  return std::string(kMagic) + num + "\n";
}

bool write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool read_all(int fd, std::string& out) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return false;
  out.resize(static_cast<std::size_t>(st.st_size) + 1);
  std::size_t got = 0;
  for (;;) {
    if (got == out.size()) out.resize(out.size() * 2);
    ssize_t n = ::pread(fd, out.data() + got, out.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return true;
}

// The index opened for appending and locked, and still the file under its name: a compaction
// may have renamed a new one over the one opened while this waited for the lock.
UniqueFd open_locked(int rootfd) {
  for (int attempt = 0; attempt < 64; ++attempt) {
    UniqueFd fd(
        ::openat(rootfd, kName, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) return {};
    while (::flock(fd.get(), LOCK_EX) != 0) {
      if (errno != EINTR) return {};
    }
    struct stat held {};
    struct stat named {};
    if (::fstat(fd.get(), &held) != 0) return {};
    if (::fstatat(rootfd, kName, &named, AT_SYMLINK_NOFOLLOW) == 0 && named.st_ino == held.st_ino &&
        named.st_dev == held.st_dev) {
      return fd;
    }
  }
  return {};
}

// Lines of `text` after the header that are complete records, in order: calls add(id,
// identity, summary) or remove(id). False when `text` is not an index of this version.
template <class Add, class Remove>
bool each_record(std::string_view text, Add add, Remove remove) {
  if (text.size() < kHeaderSize || !text.starts_with(kMagic) || text[kHeaderSize - 1] != '\n') {
    return false;
  }
  std::size_t pos = kHeaderSize;
  for (;;) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) break;  // not written completely (yet): skipped
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.size() < 4 || line[1] != ' ') continue;
    std::size_t sp = line.find(' ', 2);
    if (sp == std::string_view::npos) continue;
    std::string_view id = line.substr(2, sp - 2);
    std::string_view rest = line.substr(sp + 1);
    if (line[0] == '-' && rest == "-") {
      remove(id);
    } else if (line[0] == '+') {
      std::size_t sp2 = rest.find(' ');
      if (sp2 == std::string_view::npos || sp2 == 0 || rest.size() < sp2 + 3 ||
          rest[sp2 + 1] != '{' || rest.back() != '}') {
        continue;
      }
      add(id, rest.substr(0, sp2), rest.substr(sp2 + 1));
    }
  }
  return true;
}

// Rewrites the index (locked as `fd`, `size` bytes) with its live entries only, once it has
// grown to twice what the last compaction left.
void maybe_compact(int rootfd, int fd, std::uint64_t size) {
  if (size < kMinCompact) return;
  char head[kHeaderSize];
  if (::pread(fd, head, sizeof head, 0) != static_cast<ssize_t>(sizeof head)) return;
  std::uint64_t base = std::strtoull(head + kMagic.size(), nullptr, 10);
  if (size < 2 * base) return;
  std::string text;
  if (!read_all(fd, text)) return;
  std::unordered_map<std::string_view, Entry> live;
  std::vector<std::string_view> order;
  bool ok = each_record(
      text,
      [&](std::string_view id, std::string_view identity, std::string_view summary) {
        if (live.insert_or_assign(id, Entry{identity, summary}).second) order.push_back(id);
      },
      [&](std::string_view id) { live.erase(id); });
  if (!ok) return;
  std::string body;
  for (std::string_view id : order) {
    auto it = live.find(id);
    if (it == live.end()) continue;  // forgotten, or already written (re-added after a forget)
    body.append("+ ").append(id).append(" ").append(it->second.identity);
    body.append(" ").append(it->second.summary).append("\n");
    live.erase(it);
  }
  std::string out = header(kHeaderSize + body.size()) + body;
  UniqueFd tmp(::openat(rootfd, kTmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!tmp || !write_all(tmp.get(), out)) {
    ::unlinkat(rootfd, kTmp, 0);
    return;
  }
  tmp.reset();
  // Writers waiting for our lock find a new file under the name and open that one instead.
  if (::renameat(rootfd, kTmp, rootfd, kName) != 0) ::unlinkat(rootfd, kTmp, 0);
}

// Appends one record; false when it could not be written completely, after which the index
// has been removed if at all possible (a lost "forget" must not leave a stale entry behind).
bool append(int rootfd, std::string_view record, bool& removed) {
  removed = false;
  UniqueFd fd = open_locked(rootfd);
  struct stat st {};
  if (fd && ::fstat(fd.get(), &st) == 0) {
    // A leading newline ends whatever an incomplete earlier write left, so it cannot swallow
    // this record.
    std::string text = st.st_size == 0 ? header(kHeaderSize) : std::string();
    text.append("\n").append(record).append("\n");
    if (write_all(fd.get(), text)) {
      maybe_compact(rootfd, fd.get(), static_cast<std::uint64_t>(st.st_size) + text.size());
      return true;
    }
  }
  removed = ::unlinkat(rootfd, kName, 0) == 0 || errno == ENOENT;
  return false;
}

}  // namespace

void forget(int rootfd, std::string_view id) {
  // Nothing to forget where there is no index: the next record() starts one.
  if (::faccessat(rootfd, kName, F_OK, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT) return;
  bool removed = false;
  if (!append(rootfd, "- " + std::string(id) + " -", removed) && !removed) {
    throw_errno(container_object(id), "cannot update the state index");
  }
}

void record(int rootfd, std::string_view id, std::string_view identity,
            const StateSummary& s) noexcept {
  try {
    bool removed = false;
    append(rootfd, "+ " + std::string(id) + " " + std::string(identity) + " " + summary_text(s),
           removed);
  } catch (...) {
    // Out of memory building the line: the entry stays forgotten.
  }
}

std::string identity(ino_t dir_ino, const struct stat& f) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "%llu:%llu:%lld:%lld.%09ld",
                static_cast<unsigned long long>(dir_ino), static_cast<unsigned long long>(f.st_ino),
                static_cast<long long>(f.st_size), static_cast<long long>(f.st_ctim.tv_sec),
                f.st_ctim.tv_nsec);
  return buf;
}

void remove_if_unused(int rootfd) noexcept {
  // A directory's link count is 2 plus its subdirectories (ext4, tmpfs, xfs): 2 means no
  // container and no create or delete at work. Checked again under the index's lock, which a
  // create's first record() takes only after making its directory.
  struct stat st {};
  if (::fstat(rootfd, &st) != 0 || st.st_nlink != 2) return;
  if (::faccessat(rootfd, kName, F_OK, AT_SYMLINK_NOFOLLOW) != 0 &&
      ::faccessat(rootfd, kTmp, F_OK, AT_SYMLINK_NOFOLLOW) != 0) {
    return;  // nothing to remove (and no index to create by locking it)
  }
  UniqueFd fd = open_locked(rootfd);
  if (fd && ::fstat(rootfd, &st) == 0 && st.st_nlink == 2) {
    ::unlinkat(rootfd, kName, 0);
    ::unlinkat(rootfd, kTmp, 0);  // a compaction killed before its rename
  }
}

std::unordered_map<std::string_view, Entry> read(int rootfd, std::string& text) {
  std::unordered_map<std::string_view, Entry> out;
  UniqueFd fd(::openat(rootfd, kName, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd || !read_all(fd.get(), text)) return out;
  out.reserve(text.size() / 256);
  bool ok = each_record(
      text,
      [&](std::string_view id, std::string_view identity, std::string_view summary) {
        out.insert_or_assign(id, Entry{identity, summary});
      },
      [&](std::string_view id) { out.erase(id); });
  if (!ok) out.clear();
  return out;
}

}  // namespace nyx::state_index
