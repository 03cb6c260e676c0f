// The container's cgroups on cgroup v2, v1 and hybrid hosts, through cgroupfs or a systemd
// scope: where they go, creating them with linux.resources applied, joining, freezing, killing,
// updating, reading their statistics and removing them.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/fd.hpp"
#include "bundle/config.hpp"
#include "runtime/outcome.hpp"

namespace nyx {

struct CgroupDir {
  std::string controllers;  // "memory", "cpu,cpuacct", "" for the unified hierarchy
  std::string mount;        // the hierarchy's mount point
  std::string path;         // absolute directory: mount + the container's cgroup path
  bool v2 = false;
  // The directory existed before create (a cgroup the config named): joined by pid, never
  // removed, and never killed through cgroup.kill.
  bool preexisting = false;
  // The highest level nyx made for this container (path or one of its ancestors); delete
  // removes up to it. Empty when nyx made nothing.
  std::string made_from;
};

// How the cgroups are managed: cgroupfs directly, or a transient systemd scope (--systemd-cgroup
// with runc's "slice:prefix:name" cgroupsPath).
struct CgroupOptions {
  bool systemd = false;
};

// The v1 freezer cgroup (relative to the hierarchy mounted at `mount`) that `pid` is in while
// that cgroup is frozen or freezing; "" otherwise.
std::string frozen_v1_cgroup(pid_t pid, const std::string& mount = "/sys/fs/cgroup/freezer");

class Cgroups {
 public:
  Cgroups() = default;

  // Where the container's cgroups go: the unified hierarchy when there is one and every v1
  // hierarchy (runc's layout), at cgroupsPath or, without one, /nyx-runtime/ID. Reads only:
  // the ID is not this create's yet. Throws Error for a cgroupsPath it cannot use.
  static Cgroups plan(const Config& cfg, const std::string& id, const CgroupOptions& opts = {});
  // Where a config without cgroupsPath puts ID's cgroups, in every hierarchy: what is left to
  // look at when both records of a container are lost (missing ones are skipped on removal).
  static Cgroups default_everywhere(const std::string& id);

  static Cgroups from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;

  bool empty() const { return dirs_.empty(); }
  const std::vector<CgroupDir>& dirs() const { return dirs_; }
  // "v2" (unified only), "hybrid" (v1 controllers and a unified hierarchy), "v1".
  std::string version() const;
  bool systemd() const { return !unit_.empty(); }
  const std::string& unit() const { return unit_; }

  // Called once the ID is this create's (its state directory claimed). A leftover of ID's
  // default cgroup that holds no process is removed first; one that does is an error. Makes the
  // directories (every level of a v1 cpuset filled from its nearest ancestor) and writes the
  // resources. Returns the cgroups primitive's events: one per failure, warnings
  // (a target that already holds processes), then what was applied. Throws Error when the
  // target is frozen: the init would freeze in it and create would never return.
  std::vector<ParentEvent> create(const Resources& res);
  // systemd: after the clone, the scope is started with the init in it over D-Bus, and the
  // resources are written as unit properties and files. Events as create's.
  std::vector<ParentEvent> start_unit(pid_t pid, const Resources& res);
  // An O_PATH fd of the unified cgroup for clone3(CLONE_INTO_CGROUP), or an empty fd: only into
  // a cgroup nyx made (a pre-existing one may carry a cgroup.kill that the kernel applies to
  // every process cloned into it) and never under systemd (the scope does not exist yet).
  UniqueFd clone_fd() const;
  // Moves `pid` into every hierarchy (skipping the unified one when it was cloned into it).
  int join(pid_t pid, bool skip_unified) const;

  std::vector<pid_t> pids() const;
  // Sends `sig` to every process; SIGKILL goes through cgroup.kill where the kernel has it and
  // nyx made the cgroup.
  void kill_all(int sig) const;
  // Freezes or thaws (v1 freezer where there is one, else cgroup.freeze) and waits for it.
  int freeze(bool frozen) const;
  bool frozen() const;
  // Moves `init` and the container's other processes that someone froze in a v1 freezer cgroup
  // of their own back into the container's (thawed) freezer cgroup, so a SIGKILL already sent
  // can take effect: the v1 freezer thaws a task that joins a thawed cgroup. Only the
  // container's processes move; the other cgroup and its state are left alone. Returns how
  // many moved, or -errno.
  int reclaim_frozen(pid_t init) const;
  // Removes the directories nyx made (sub-cgroups made inside the container too), waiting
  // (without sleeping blind) for exiting tasks; stops the systemd unit.
  void destroy() const;
  // Applies resources to an existing container (`update`); returns one event per failure.
  std::vector<ParentEvent> update(const Resources& res) const;
  // runc's stats object (events --stats): cpu, memory, pids, blkio, hugetlb.
  nlohmann::ordered_json stats() const;
  // OOM kills in the container's memory cgroup (memory.events or memory.oom_control).
  std::uint64_t oom_kills() const;

 private:
  std::vector<CgroupDir> dirs_;
  // The default path, /nyx-runtime/ID: ID's own, so a leftover there is removed at create.
  void claim_leftovers();

  std::string unit_;   // systemd: the scope's name ("nyx-runtime-ID.scope")
  std::string slice_;  // systemd: its slice
  bool default_path_ = false;
  bool unit_started_ = false;
};

}  // namespace nyx
