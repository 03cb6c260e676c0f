#include "runtime/state_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "base/error.hpp"
#include "runtime/state_index.hpp"

namespace nyx {

std::string container_object(std::string_view id) {
  return "container \"" + std::string(id) + "\"";
}

namespace {

std::string read_at(int dirfd, const char* name, std::size_t limit, int& err) {
  UniqueFd fd(::openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd) {
    err = errno;
    return {};
  }
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > limit) break;
  }
  err = 0;
  return out;
}

void mkdir_p(const std::string& path) {
  std::string cur;
  std::size_t start = 0;
  while (start < path.size()) {
    std::size_t end = path.find('/', start + 1);
    if (end == std::string::npos) end = path.size();
    cur = path.substr(0, end);
    if (!cur.empty() && ::mkdir(cur.c_str(), 0711) != 0 && errno != EEXIST) {
      throw_errno("--root " + path, "cannot create " + cur);
    }
    start = end;
  }
}

// `.new.PID.NONCE` / `.del.PID.NONCE`: a directory on its way in or out of --root. The nonce
// keeps runtimes in different pid namespaces sharing one --root apart.
std::string private_name(const char* prefix) {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::string(prefix) + std::to_string(::getpid()) + "." +
         std::to_string(ts.tv_sec * 1000000000LL + ts.tv_nsec);
}

void remove_tree(int parentfd, const char* name) {
  int fd = ::openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) {
    DIR* dir = ::fdopendir(fd);
    if (dir != nullptr) {
      while (dirent* e = ::readdir(dir)) {
        std::string_view n = e->d_name;
        if (n == "." || n == "..") continue;
        if (::unlinkat(fd, e->d_name, 0) != 0 && errno == EISDIR) remove_tree(fd, e->d_name);
      }
      ::closedir(dir);
    } else {
      ::close(fd);
    }
  }
  ::unlinkat(parentfd, name, AT_REMOVEDIR);
}

}  // namespace

namespace {

// state.json opens with one line, `{"summary":{...,"bytes":N},`, holding what `list` needs and
// the file's own length: `list` reads that line and an fstat instead of parsing the whole
// record (config included) of every container, and a truncated or overwritten file still
// shows as damaged because its length no longer matches.
constexpr std::string_view kSummaryKey = "{\"summary\":";
constexpr std::size_t kSummaryChunk = 4096;
constexpr std::size_t kSummaryFirst = 1024;

nlohmann::json summary_json(const StateSummary& s) {
  return {{"ociVersion", s.oci_version},
          {"status", s.phase},
          {"pid", s.pid},
          {"bundle", s.bundle},
          {"rootfs", s.rootfs},
          {"created", s.created},
          {"owner", s.owner},
          {"startTime", s.start_time},
          {"paused", s.paused}};
}

// The summary line, then the rest of the record on one line (compact: the file is read by
// this program only, and indenting it was most of the cost of writing and parsing it), with
// the total length written into the summary.
std::string render_state(const nlohmann::json& state) {
  auto replace = nlohmann::json::error_handler_t::replace;
  std::string body = state.dump(-1, ' ', false, replace) + "\n";
  if (body.size() < 4 || body[0] != '{') return body;  // empty object
  std::string sum = summary_json(summarize(state)).dump(-1, ' ', false, replace);
  sum.pop_back();  // reopen the object for "bytes"
  std::string line = std::string(kSummaryKey) + sum + (sum.size() > 1 ? "," : "") + "\"bytes\":";
  // Fixed width, so the total is known before it is written; spaces are valid JSON there.
  std::size_t total = line.size() + 10 + 3 + (body.size() - 1);
  char num[16];
  std::snprintf(num, sizeof num, "%10zu", total);
  line.append(num).append("},\n").append(body, 1);
  return line;
}

}  // namespace

nlohmann::json ContainerDir::read_state() const {
  int err = 0;
  std::string text = read_at(dir_.get(), "state.json", 16u << 20, err);
  if (err == ENOENT)
    throw Error(container_object(id_), "state file is missing (deleted while in use?)");
  if (err != 0) throw Error(container_object(id_), "cannot read state.json", err);
  if (text.empty()) throw Error(container_object(id_), "state file is empty (truncated)");
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    throw Error(container_object(id_), "state file is corrupt (not a JSON object)");
  }
  j.erase("summary");
  return j;
}

namespace {

// The summary object of a state file's first `n` bytes, without the key and the trailing
// comma; nullopt when the file does not open with a summary line.
std::optional<std::string_view> summary_line(const char* buf, ssize_t n) {
  std::string_view head(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
  std::size_t nl = head.find('\n');
  if (!head.starts_with(kSummaryKey) || nl == std::string_view::npos || nl < 2 ||
      head[nl - 1] != ',') {
    return std::nullopt;
  }
  return head.substr(kSummaryKey.size(), nl - 1 - kSummaryKey.size());
}

// Fills a StateSummary straight from the parser's events: `list` reads one line per
// container, and building a JSON tree for each was most of its user time. Anything but a
// flat object fails the parse.
class SummaryReader final : public nlohmann::json_sax<nlohmann::json> {
 public:
  StateSummary out;
  std::optional<std::uint64_t> bytes;

  bool start_object(std::size_t /*n*/) override { return depth_++ == 0; }
  bool end_object() override { return --depth_ == 0; }
  bool start_array(std::size_t /*n*/) override { return false; }
  bool end_array() override { return false; }
  bool key(string_t& k) override {
    key_ = std::move(k);
    return true;
  }
  bool null() override { return true; }
  bool binary(binary_t& /*b*/) override { return false; }
  bool boolean(bool v) override {
    if (key_ == "paused") out.paused = v;
    return true;
  }
  bool number_integer(number_integer_t v) override {
    return v >= 0 && number_unsigned(static_cast<number_unsigned_t>(v));
  }
  bool number_unsigned(number_unsigned_t v) override {
    if (key_ == "pid") out.pid = static_cast<pid_t>(v);
    if (key_ == "startTime") out.start_time = v;
    if (key_ == "bytes") bytes = v;
    return true;
  }
  bool number_float(number_float_t /*v*/, const string_t& /*s*/) override { return true; }
  bool string(string_t& v) override {
    if (std::string* f = field()) *f = std::move(v);
    return true;
  }
  bool parse_error(std::size_t /*pos*/, const std::string& /*token*/,
                   const nlohmann::detail::exception& /*e*/) override {
    return false;
  }

 private:
  std::string* field() {
    if (key_ == "ociVersion") return &out.oci_version;
    if (key_ == "status") return &out.phase;
    if (key_ == "bundle") return &out.bundle;
    if (key_ == "rootfs") return &out.rootfs;
    if (key_ == "created") return &out.created;
    if (key_ == "owner") return &out.owner;
    return nullptr;
  }

  int depth_ = 0;
  std::string key_;
};

// The summary object `text` (with "bytes" when it has one).
std::optional<std::pair<StateSummary, std::optional<std::uint64_t>>> parse_summary(
    std::string_view text) {
  SummaryReader reader;
  if (!nlohmann::json::sax_parse(text.begin(), text.end(), &reader)) return std::nullopt;
  return std::make_pair(std::move(reader.out), reader.bytes);
}

enum class SummaryRead { Ok, Missing, Mismatch };

// The summary line of the open state file `fd`: Missing when the file does not start with
// one, Mismatch when the line is not what nyx writes or the file's length is not the recorded
// one.
SummaryRead read_summary_at(int fd, StateSummary& out) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return SummaryRead::Missing;
  // The line is a few hundred bytes: copy a page only when a long path needs it.
  char buf[kSummaryChunk];
  ssize_t n = ::pread(fd, buf, kSummaryFirst, 0);
  if (n == static_cast<ssize_t>(kSummaryFirst) &&
      std::memchr(buf, '\n', kSummaryFirst) == nullptr) {
    n = ::pread(fd, buf, sizeof buf, 0);
  }
  auto line = summary_line(buf, n);
  if (!line) return SummaryRead::Missing;
  auto parsed = parse_summary(*line);
  if (!parsed || parsed->second != static_cast<std::uint64_t>(st.st_size)) {
    return SummaryRead::Mismatch;
  }
  out = std::move(parsed->first);
  return SummaryRead::Ok;
}

}  // namespace

StateSummary summarize(const nlohmann::json& state) {
  StateSummary s;
  s.oci_version = state.value("ociVersion", "");
  s.phase = state.value("status", "");
  s.bundle = state.value("bundle", "");
  s.rootfs = state.value("rootfs", "");
  s.created = state.value("created", "");
  s.owner = state.value("owner", "");
  s.pid = state.value("pid", 0);
  const nlohmann::json& nyx = state.value("nyx", nlohmann::json::object());
  s.start_time = nyx.value("startTime", std::uint64_t{0});
  s.paused = nyx.value("paused", false);
  return s;
}

std::string summary_text(const StateSummary& s) {
  return summary_json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<StateSummary> parse_summary_text(std::string_view text) {
  auto parsed = parse_summary(text);
  if (!parsed) return std::nullopt;
  return std::move(parsed->first);
}

std::optional<StateSummary> StateStore::peek_summary(int rootfd, const std::string& id) {
  std::string name = id + "/state.json";
  // No symlink anywhere, as StateStore::open refuses a linked container directory.
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  UniqueFd fd(static_cast<int>(::syscall(SYS_openat2, rootfd, name.c_str(), &how, sizeof how)));
  StateSummary s;
  if (!fd || read_summary_at(fd.get(), s) != SummaryRead::Ok) return std::nullopt;
  return s;
}

std::optional<StateSummary> ContainerDir::read_summary() const {
  UniqueFd fd(::openat(dir_.get(), "state.json", O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  StateSummary s;
  // Not openable or no summary line: the full read decides (and names the error).
  SummaryRead r = fd ? read_summary_at(fd.get(), s) : SummaryRead::Missing;
  if (r == SummaryRead::Mismatch) {
    throw Error(container_object(id_), "state file is corrupt (truncated or overwritten)");
  }
  if (r == SummaryRead::Missing) return std::nullopt;
  return s;
}

void ContainerDir::write_state(const nlohmann::json& state) const {
  std::string text = render_state(state);
  // Its index entry goes before state.json changes and comes back after (state_index.hpp): a
  // crash in between leaves the container to be read the slow way, never listed stale.
  UniqueFd root(
      ::open(path_.substr(0, path_.rfind('/')).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) throw_errno(container_object(id_), "cannot write state");
  state_index::forget(root.get(), id_);
  char tmp[64];
  std::snprintf(tmp, sizeof tmp, ".state.%d.tmp", static_cast<int>(::getpid()));
  UniqueFd fd(
      ::openat(dir_.get(), tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) throw_errno(container_object(id_), "cannot write state");
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    throw_errno(container_object(id_), "cannot write state");
  }
  // No fsync: the state describes live processes, which a power loss ends anyway; an atomic
  // rename is what keeps concurrent readers from seeing half a file (docs/state.md).
  fd.reset();
  // Exchanged rather than renamed over: ext4 (auto_da_alloc) starts writeback of a file renamed
  // over another, ~0.2 ms per state write here, for durability the state does not need.
  if (::renameat2(dir_.get(), tmp, dir_.get(), "state.json", RENAME_EXCHANGE) == 0) {
    ::unlinkat(dir_.get(), tmp, 0);
  } else if (::renameat(dir_.get(), tmp, dir_.get(), "state.json") != 0) {
    throw_errno(container_object(id_), "cannot write state");
  }
  // As the summary line: only a record that has one (list reads a creating one itself).
  struct stat dst {};
  struct stat fst {};
  StateSummary s = summarize(state);
  if (state.is_object() && !state.empty() && s.phase != "creating" &&
      ::fstat(dir_.get(), &dst) == 0 &&
      ::fstatat(dir_.get(), "state.json", &fst, AT_SYMLINK_NOFOLLOW) == 0) {
    state_index::record(root.get(), id_, state_index::identity(dst.st_ino, fst), s);
  }
}

void ContainerDir::write_first_state(const nlohmann::json& state) const {
  std::string text = render_state(state);
  UniqueFd fd(::openat(dir_.get(), "state.json",
                       O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    throw_errno(container_object(id_), "cannot write state");
  }
}

void ContainerDir::write_recovery(const nlohmann::json& recovery) const {
  std::string text = recovery.dump() + "\n";
  UniqueFd fd(::openat(dir_.get(), "recovery.json",
                       O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    throw_errno(container_object(id_), "cannot write recovery.json");
  }
}

nlohmann::json ContainerDir::read_recovery() const {
  int err = 0;
  std::string text = read_at(dir_.get(), "recovery.json", 1u << 20, err);
  if (err != 0) return nullptr;
  auto j = nlohmann::json::parse(text, nullptr, false);
  return j.is_object() ? j : nlohmann::json();
}

void ContainerDir::lock() const {
  while (::flock(dir_.get(), LOCK_EX) != 0) {
    if (errno != EINTR) throw_errno(container_object(id_), "cannot lock");
  }
}

void ContainerDir::unlock() const {
  ::flock(dir_.get(), LOCK_UN);
}

void ContainerDir::remove() const {
  std::size_t slash = path_.rfind('/');
  std::string parent = path_.substr(0, slash);
  UniqueFd pfd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!pfd) return;
  // Out of sight first, in one step: a delete killed half-way through the files leaves a
  // hidden `.del.PID` (swept by the next `delete --force`), never a listed half-container.
  std::string gone = private_name(".del.");
  bool hidden = ::renameat2(pfd.get(), id_.c_str(), pfd.get(), gone.c_str(), RENAME_NOREPLACE) == 0;
  // An entry left behind is harmless (list only uses entries of directories it finds), but it
  // would take space until compaction.
  try {
    state_index::forget(pfd.get(), id_);
  } catch (const Error&) {
  }
  remove_tree(pfd.get(), hidden ? gone.c_str() : id_.c_str());
  state_index::remove_if_unused(pfd.get());
}

void StateStore::validate_id(std::string_view id) {
  std::string shown;
  for (char c : id) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", u);
      shown += hex;
    } else {
      shown += c;
    }
  }
  std::string object = "container id \"" + shown + "\"";
  if (id.empty()) throw Error("container id", "must not be empty");
  if (id.size() > 1024) throw Error("container id", "is longer than 1024 characters");
  if (id.find('/') != std::string_view::npos) throw Error(object, "must not contain \"/\"");
  if (id.find("..") != std::string_view::npos || id == ".") {
    throw Error(object, "must not contain \"..\" or be \".\"");
  }
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '+' || c == '-' || c == '.';
    if (!ok) throw Error(object, "must only contain letters, digits, '_', '+', '-' and '.'");
  }
}

ContainerDir StateStore::create(const std::string& id, const nlohmann::json& first_state) const {
  validate_id(id);
  UniqueFd rootfd(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!rootfd && errno == ENOENT) {
    mkdir_p(root_);
    rootfd.reset(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  }
  if (!rootfd) throw_errno(container_object(id), "cannot open " + root_);
  std::string path = root_ + "/" + id;
  if (::faccessat(rootfd.get(), id.c_str(), F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
    throw Error(container_object(id), "already exists");
  }
  // The directory is made and locked under a private name, then moved into place: nobody ever
  // sees the container's directory unlocked before its first state is written.
  std::string tmp = private_name(".new.");
  if (::mkdirat(rootfd.get(), tmp.c_str(), 0700) != 0) {
    throw_errno(container_object(id), "cannot create " + root_ + "/" + tmp);
  }
  UniqueFd fd(::openat(rootfd.get(), tmp.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) throw_errno(container_object(id), "cannot open " + root_ + "/" + tmp);
  ContainerDir dir(id, path, std::move(fd));
  dir.lock();
  try {
    // An entry an earlier container of this name left (its delete killed before forgetting
    // it) is not forgotten here: entries hold their state file's inode, size and change time,
    // which this one's do not match, and the first write_state forgets it anyway.
    if (!first_state.is_null()) dir.write_first_state(first_state);
  } catch (const Error&) {
    remove_tree(rootfd.get(), tmp.c_str());
    throw;
  }
  if (::renameat2(rootfd.get(), tmp.c_str(), rootfd.get(), id.c_str(), RENAME_NOREPLACE) != 0) {
    int err = errno;
    remove_tree(rootfd.get(), tmp.c_str());
    if (err == EEXIST) throw Error(container_object(id), "already exists");
    throw Error(container_object(id), "cannot create " + path, err);
  }
  return dir;
}

std::string StateStore::make_private_dir(mode_t mode) const {
  UniqueFd rootfd(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!rootfd && errno == ENOENT) {
    mkdir_p(root_);
    rootfd.reset(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  }
  if (!rootfd) throw_errno(root_, "cannot open the state root");
  std::string name = private_name(".new.");
  if (::mkdirat(rootfd.get(), name.c_str(), mode) != 0 ||
      ::fchmodat(rootfd.get(), name.c_str(), mode, 0) != 0) {
    throw_errno(root_, "cannot create " + name);
  }
  return name;
}

void StateStore::adopt_private_dir(const std::string& name, const ContainerDir& into,
                                   const char* as) const {
  UniqueFd rootfd(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!rootfd || ::renameat2(rootfd.get(), name.c_str(), into.fd(), as, RENAME_NOREPLACE) != 0) {
    throw_errno(container_object(into.id()), "cannot move " + name + " into its directory");
  }
}

void StateStore::remove_private_dir(const std::string& name) const {
  UniqueFd rootfd(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (rootfd) remove_tree(rootfd.get(), name.c_str());
}

std::optional<ContainerDir> StateStore::open(const std::string& id, bool lock) const {
  validate_id(id);
  std::string path = root_ + "/" + id;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) {
    if (errno == ENOENT) return std::nullopt;
    throw_errno(container_object(id), "cannot open " + path);
  }
  ContainerDir dir(id, path, std::move(fd));
  if (lock) {
    dir.lock();
    // Deleted while we waited for the lock.
    struct stat st {};
    if (::fstat(dir.fd(), &st) != 0 || st.st_nlink == 0) return std::nullopt;
  }
  return dir;
}

void StateStore::remove_stale() const {
  UniqueFd rootfd(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!rootfd) return;
  int dfd = ::fcntl(rootfd.get(), F_DUPFD_CLOEXEC, 0);
  DIR* dir = dfd >= 0 ? ::fdopendir(dfd) : nullptr;
  if (dir == nullptr) {
    if (dfd >= 0) ::close(dfd);
    return;
  }
  std::vector<std::string> stale;
  while (dirent* e = ::readdir(dir)) {
    std::string_view n = e->d_name;
    if (n.rfind(".new.", 0) != 0 && n.rfind(".del.", 0) != 0) continue;
    long pid = std::strtol(e->d_name + 5, nullptr, 10);
    if (pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH)) continue;
    // Its maker holds the lock while it works (whatever pid namespace it is in).
    UniqueFd fd(::openat(rootfd.get(), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
    if (fd && ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) continue;
    stale.emplace_back(n);
  }
  ::closedir(dir);
  for (const auto& n : stale)
    remove_tree(rootfd.get(), n.c_str());
  // A delete killed after removing the last container but before the index: nothing is left
  // for the index to describe.
  state_index::remove_if_unused(rootfd.get());
}

std::vector<StateStore::Listed> StateStore::listing() const {
  std::vector<Listed> out;
  DIR* dir = ::opendir(root_.c_str());
  if (dir == nullptr) return out;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN) continue;
    out.push_back(Listed{e->d_name, e->d_ino});
  }
  ::closedir(dir);
  std::sort(out.begin(), out.end(), [](const Listed& a, const Listed& b) { return a.id < b.id; });
  return out;
}

std::vector<std::string> StateStore::ids() const {
  std::vector<std::string> out;
  for (Listed& l : listing())
    out.push_back(std::move(l.id));
  return out;
}

}  // namespace nyx
