// The container's cgroups on cgroup v2, v1 and hybrid hosts: where they go, creating them with
// linux.resources applied, joining, freezing, killing and removing them.
#pragma once

#include <sys/types.h>

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
  bool preexisting = false;  // existed before create: never removed by nyx
};

class Cgroups {
 public:
  Cgroups() = default;

  // Where the container's cgroups go: the unified hierarchy (tracking, freezing, killing) when
  // there is one, and each v1 hierarchy whose controller the resources need; with an explicit
  // cgroupsPath (engines), every v1 hierarchy as runc does. Reads /proc/self/cgroup only.
  static Cgroups plan(const Config& cfg, const std::string& id);
  // Where a config without cgroupsPath puts ID's cgroups, in every hierarchy: what is left to
  // look at when both records of a container are lost (missing ones are skipped on removal).
  static Cgroups default_everywhere(const std::string& id);

  static Cgroups from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;

  bool empty() const { return dirs_.empty(); }
  const std::vector<CgroupDir>& dirs() const { return dirs_; }

  // Makes the directories and writes the resources; returns the cgroups primitive's events
  // (one per failure, then an applied one).
  std::vector<ParentEvent> create(const Resources& res);
  // An O_PATH fd of the unified cgroup for clone3(CLONE_INTO_CGROUP), or an empty fd.
  UniqueFd unified_fd() const;
  // Moves `pid` into every hierarchy (skipping the unified one when it was cloned into it).
  int join(pid_t pid, bool skip_unified) const;

  std::vector<pid_t> pids() const;
  // Sends `sig` to every process; uses cgroup.kill for SIGKILL where the kernel has it.
  void kill_all(int sig) const;
  int freeze(bool frozen) const;
  bool frozen() const;
  // Removes the directories nyx made, waiting (without sleeping blind) for exiting tasks.
  void destroy() const;
  // Applies resources to an existing container (`update`); returns one event per failure.
  std::vector<ParentEvent> update(const Resources& res) const;

 private:
  std::vector<CgroupDir> dirs_;
};

}  // namespace nyx
