// One directory per container under --root: state.json written atomically, an flock per
// container, the exec FIFO, and a minimal second record of the init (init.pid).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/fd.hpp"

namespace nyx {

// `container "ID"`, the object of every error about a container.
std::string container_object(std::string_view id);

// What `list` and the status of a container need, kept as the first line of its state.json.
struct StateSummary {
  std::string oci_version;
  std::string phase;  // the saved "status"
  std::string bundle;
  std::string rootfs;
  std::string created;
  std::string owner;
  pid_t pid = 0;
  std::uint64_t start_time = 0;
  bool paused = false;
};

// The summary of a whole state record.
StateSummary summarize(const nlohmann::json& state);
// The summary as the JSON object of the summary line (without "bytes"), and back; nullopt
// when `text` is not such an object.
std::string summary_text(const StateSummary& s);
std::optional<StateSummary> parse_summary_text(std::string_view text);

class ContainerDir {
 public:
  ContainerDir(std::string id, std::string path, UniqueFd dir)
      : id_(std::move(id)), path_(std::move(path)), dir_(std::move(dir)) {}

  const std::string& id() const { return id_; }
  const std::string& path() const { return path_; }
  int fd() const { return dir_.get(); }

  // Throws Error naming the container when state.json is missing, truncated or not JSON.
  nlohmann::json read_state() const;
  // Only the summary line, for `list`: nullopt when the file has none (a record from before
  // it existed; read the whole state), throws Error when the file is missing or its length no
  // longer matches the one the line records (truncated or overwritten).
  std::optional<StateSummary> read_summary() const;
  // Writes a temporary file and renames it over state.json: readers see old or new, never half.
  void write_state(const nlohmann::json& state) const;
  // The same for a directory nobody else can see yet (StateStore::create): written in place.
  void write_first_state(const nlohmann::json& state) const;

  // recovery.json: the init's pid and start time and the cgroups, written right after clone.
  // A second record, so that a crash before the state is complete, or a damaged state.json,
  // still leaves the container's processes and cgroups findable.
  void write_recovery(const nlohmann::json& recovery) const;
  nlohmann::json read_recovery() const;  // null when missing or unreadable

  static constexpr const char* kFifoName = "exec.fifo";
  std::string fifo_path() const { return path_ + "/" + kFifoName; }

  void lock() const;
  void unlock() const;
  // Removes the directory and everything in it.
  void remove() const;

 private:
  std::string id_;
  std::string path_;
  UniqueFd dir_;
};

class StateStore {
 public:
  explicit StateStore(std::string root) : root_(std::move(root)) {}

  const std::string& root() const { return root_; }

  // Throws Error for IDs that are empty, too long, contain "/", ".." or anything outside
  // [A-Za-z0-9_+.-].
  static void validate_id(std::string_view id);

  // Makes and locks the directory, with `first_state` written into it before it appears
  // under its name; throws `container "ID" already exists`.
  ContainerDir create(const std::string& id, const nlohmann::json& first_state = nullptr) const;
  // nullopt when there is no such container. Locks it when `lock`.
  std::optional<ContainerDir> open(const std::string& id, bool lock) const;
  std::vector<std::string> ids() const;
  // The container directories under --root, sorted by ID, with their inode numbers.
  struct Listed {
    std::string id;
    ino_t ino = 0;
  };
  std::vector<Listed> listing() const;
  // The summary line of ID's state.json, read through `rootfd` (the opened --root) without
  // opening, locking or parsing anything else; nullopt unless the line is there, well formed
  // and the file has the length it records. Callers then fall back to the full read, which
  // waits for a delete in progress and reports damage.
  static std::optional<StateSummary> peek_summary(int rootfd, const std::string& id);
  // A private directory under --root (a `.new.` name, swept by remove_stale if its maker dies)
  // for what must exist before the container's own directory does; returns its name.
  std::string make_private_dir(mode_t mode) const;
  // Moves private directory `name` into the container's directory as `as`.
  void adopt_private_dir(const std::string& name, const ContainerDir& into, const char* as) const;
  void remove_private_dir(const std::string& name) const;
  // Removes what creates killed before moving their directory into place, and deletes killed
  // after moving it out of sight, left (`.new.PID`, `.del.PID` of dead processes).
  void remove_stale() const;

 private:
  std::string root_;
};

}  // namespace nyx
