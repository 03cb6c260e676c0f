#include "runtime/cgroups.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "base/error.hpp"
#include "runtime/primitives/cgroups.hpp"

namespace nyx {

namespace {

constexpr const char* kCgroupRoot = "/sys/fs/cgroup";

struct Hierarchy {
  std::string controllers;  // from /proc/self/cgroup
  std::string own_path;     // our own cgroup in it
};

std::vector<Hierarchy> read_self_cgroups() {
  std::vector<Hierarchy> out;
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    auto c1 = line.find(':');
    auto c2 = line.find(':', c1 + 1);
    if (c1 == std::string::npos || c2 == std::string::npos) continue;
    out.push_back({line.substr(c1 + 1, c2 - c1 - 1), line.substr(c2 + 1)});
  }
  return out;
}

bool is_fs(const std::string& path, long magic) {
  struct statfs st {};
  return ::statfs(path.c_str(), &st) == 0 && static_cast<long>(st.f_type) == magic;
}

// Where a v1 hierarchy is mounted: /sys/fs/cgroup/<controllers>, named ones without "name=".
std::string v1_mount(const std::string& controllers) {
  std::string dir = controllers;
  if (dir.rfind("name=", 0) == 0) dir = dir.substr(5);
  return std::string(kCgroupRoot) + "/" + dir;
}

bool has_controller(const std::string& list, std::string_view name) {
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item == name) return true;
  }
  return false;
}

// The v1 controllers the resources need.
std::vector<std::string> needed_controllers(const Resources& r) {
  std::vector<std::string> out;
  if (r.memory_limit || r.memory_reservation || r.memory_swap) out.emplace_back("memory");
  if (r.pids_limit) out.emplace_back("pids");
  if (r.cpu_shares || r.cpu_quota || r.cpu_period) out.emplace_back("cpu");
  if (!r.cpuset_cpus.empty() || !r.cpuset_mems.empty()) out.emplace_back("cpuset");
  if (r.blkio_weight) out.emplace_back("blkio");
  if (!r.devices.empty()) out.emplace_back("devices");
  return out;
}

std::string container_path(const std::string& cgroups_path, const std::string& own,
                           const std::string& id) {
  if (cgroups_path.empty()) return "/nyx-runtime/" + id;
  if (cgroups_path[0] == '/') return cgroups_path;
  return (own == "/" ? "" : own) + "/" + cgroups_path;
}

int write_file(const std::string& path, std::string_view value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  int err = 0;
  if (::write(fd, value.data(), value.size()) < 0) err = errno;
  ::close(fd);
  return err;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

// mkdir -p; a v1 cpuset level needs cpus and mems before anything can join below it.
int make_dirs(const std::string& mount, const std::string& rel, bool cpuset, bool& existed) {
  std::string path = mount;
  std::stringstream ss(rel);
  std::string part;
  existed = true;
  while (std::getline(ss, part, '/')) {
    if (part.empty()) continue;
    std::string parent = path;
    path += "/" + part;
    if (::mkdir(path.c_str(), 0755) == 0) {
      existed = false;
      if (cpuset) {
        for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
          if (read_file(path + "/" + f).empty())
            write_file(path + "/" + f, read_file(parent + "/" + f));
        }
      }
    } else if (errno != EEXIST) {
      return errno;
    } else {
      existed = true;
    }
  }
  return 0;
}

// Writes one resource file; a failure becomes an event of the cgroups primitive.
struct Writer {
  std::vector<ParentEvent>& out;
  void operator()(const std::string& dir, const char* file, const std::string& value) const {
    int err = write_file(dir + "/" + file, value);
    if (err != 0) out.push_back(cgroup_event(err, kCgroupWrite, file));
  }
};

std::string device_rule(const DeviceRule& d) {
  auto num = [](const std::optional<std::int64_t>& v) {
    return !v || *v < 0 ? std::string("*") : std::to_string(*v);
  };
  if (d.type == 'a' && !d.major && !d.minor) return std::string("a *:* ") + d.access;
  return std::string(1, d.type) + " " + num(d.major) + ":" + num(d.minor) + " " + d.access;
}

void apply_v1(const CgroupDir& dir, const Resources& r, const Writer& w) {
  const std::string& p = dir.path;
  const std::string& c = dir.controllers;
  if (has_controller(c, "memory")) {
    if (r.memory_limit) w(p, "memory.limit_in_bytes", std::to_string(*r.memory_limit));
    if (r.memory_reservation)
      w(p, "memory.soft_limit_in_bytes", std::to_string(*r.memory_reservation));
    if (r.memory_swap) w(p, "memory.memsw.limit_in_bytes", std::to_string(*r.memory_swap));
  }
  if (has_controller(c, "pids") && r.pids_limit) {
    w(p, "pids.max", *r.pids_limit <= 0 ? "max" : std::to_string(*r.pids_limit));
  }
  if (has_controller(c, "cpu")) {
    if (r.cpu_shares) w(p, "cpu.shares", std::to_string(*r.cpu_shares));
    if (r.cpu_period) w(p, "cpu.cfs_period_us", std::to_string(*r.cpu_period));
    if (r.cpu_quota) w(p, "cpu.cfs_quota_us", std::to_string(*r.cpu_quota));
  }
  if (has_controller(c, "cpuset")) {
    if (!r.cpuset_cpus.empty()) w(p, "cpuset.cpus", r.cpuset_cpus);
    if (!r.cpuset_mems.empty()) w(p, "cpuset.mems", r.cpuset_mems);
  }
  if (has_controller(c, "blkio") && r.blkio_weight) {
    const char* file =
        ::access((p + "/blkio.weight").c_str(), F_OK) == 0 ? "blkio.weight" : "blkio.bfq.weight";
    w(p, file, std::to_string(*r.blkio_weight));
  }
  if (has_controller(c, "devices") && !r.devices.empty()) {
    for (const DeviceRule& d : r.devices) {
      w(p, d.allow ? "devices.allow" : "devices.deny", device_rule(d));
    }
    // The nodes every container gets in its /dev stay usable, as with runc and crun.
    for (const char* rule :
         {"c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
          "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm"}) {
      w(p, "devices.allow", rule);
    }
  }
}

void apply_v2(const CgroupDir& dir, const Resources& r, const Writer& w) {
  const std::string& p = dir.path;
  auto max_or = [](std::int64_t v) { return v < 0 ? std::string("max") : std::to_string(v); };
  if (r.memory_limit) w(p, "memory.max", max_or(*r.memory_limit));
  if (r.memory_reservation) w(p, "memory.low", max_or(*r.memory_reservation));
  if (r.memory_swap) {
    // v1 semantics (memory + swap) converted to v2's swap-only limit.
    std::int64_t swap = *r.memory_swap;
    if (swap > 0 && r.memory_limit && *r.memory_limit > 0) swap -= *r.memory_limit;
    w(p, "memory.swap.max", max_or(swap));
  }
  if (r.pids_limit) w(p, "pids.max", *r.pids_limit <= 0 ? "max" : std::to_string(*r.pids_limit));
  if (r.cpu_shares) w(p, "cpu.weight", std::to_string(1 + ((*r.cpu_shares - 2) * 9999) / 262142));
  if (r.cpu_quota || r.cpu_period) {
    std::string quota = r.cpu_quota && *r.cpu_quota > 0 ? std::to_string(*r.cpu_quota) : "max";
    w(p, "cpu.max", quota + " " + std::to_string(r.cpu_period.value_or(100000)));
  }
  if (!r.cpuset_cpus.empty()) w(p, "cpuset.cpus", r.cpuset_cpus);
  if (!r.cpuset_mems.empty()) w(p, "cpuset.mems", r.cpuset_mems);
  if (r.blkio_weight) w(p, "io.weight", std::to_string(*r.blkio_weight));
  if (!r.devices.empty()) {
    // Device rules on cgroup v2 need an eBPF program, which nyx does not generate.
    w.out.push_back(cgroup_event(EOPNOTSUPP, kCgroupWrite, "devices"));
  }
  if (r.raw.is_object()) {
    if (const auto it = r.raw.find("unified"); it != r.raw.end() && it->is_object()) {
      for (const auto& [key, value] : it->items())
        w(p, key.c_str(), value.get<std::string>());
    }
  }
}

// Pure cgroup v2: controllers must be enabled in every ancestor's cgroup.subtree_control.
void enable_v2_controllers(const std::string& mount, const std::string& rel, const Resources& r) {
  std::string ctl;
  if (r.memory_limit || r.memory_reservation || r.memory_swap) ctl += " +memory";
  if (r.pids_limit) ctl += " +pids";
  if (r.cpu_shares || r.cpu_quota || r.cpu_period) ctl += " +cpu";
  if (!r.cpuset_cpus.empty() || !r.cpuset_mems.empty()) ctl += " +cpuset";
  if (r.blkio_weight) ctl += " +io";
  if (ctl.empty()) return;
  std::string path = mount;
  std::stringstream ss(rel);
  std::string part;
  std::vector<std::string> levels{path};
  while (std::getline(ss, part, '/')) {
    if (part.empty()) continue;
    path += "/" + part;
    levels.push_back(path);
  }
  levels.pop_back();  // not in the leaf: it holds the processes
  for (const auto& level : levels)
    write_file(level + "/cgroup.subtree_control", ctl.substr(1));
}

// On a hybrid host the unified hierarchy has no controllers: it only tracks, freezes and kills.
void apply(const CgroupDir& d, const Resources& res, const Writer& w) {
  if (!d.v2) {
    apply_v1(d, res, w);
  } else if (d.mount == kCgroupRoot) {
    apply_v2(d, res, w);
  }
}

}  // namespace

Cgroups Cgroups::plan(const Config& cfg, const std::string& id) {
  Cgroups cg;
  const Resources& res = cfg.linux.resources;
  bool engine = !cfg.linux.cgroups_path.empty();
  std::vector<std::string> needed = needed_controllers(res);
  bool pure_v2 = is_fs(kCgroupRoot, CGROUP2_SUPER_MAGIC);
  for (const Hierarchy& h : read_self_cgroups()) {
    std::string rel = container_path(cfg.linux.cgroups_path, h.own_path, id);
    if (h.controllers.empty()) {
      std::string mount = pure_v2 ? kCgroupRoot : std::string(kCgroupRoot) + "/unified";
      if (!pure_v2 && !is_fs(mount, CGROUP2_SUPER_MAGIC)) continue;
      cg.dirs_.push_back({"", mount, mount + rel, true, false});
      continue;
    }
    if (pure_v2) continue;
    bool want = engine;
    for (const auto& n : needed)
      want = want || has_controller(h.controllers, n);
    std::string mount = v1_mount(h.controllers);
    if (!want || ::access(mount.c_str(), F_OK) != 0) continue;
    cg.dirs_.push_back({h.controllers, mount, mount + rel, false, false});
  }
  // Pure v1: the freezer hierarchy tracks the container's processes and pauses them.
  bool has_v2 = false;
  for (const auto& d : cg.dirs_)
    has_v2 = has_v2 || d.v2;
  if (!has_v2 && !engine) {
    for (const Hierarchy& h : read_self_cgroups()) {
      bool have = false;
      for (const auto& d : cg.dirs_)
        have = have || d.controllers == h.controllers;
      if (has_controller(h.controllers, "freezer") && !have) {
        std::string mount = v1_mount(h.controllers);
        cg.dirs_.push_back({h.controllers, mount,
                            mount + container_path(cfg.linux.cgroups_path, h.own_path, id), false,
                            false});
      }
    }
  }
  return cg;
}

Cgroups Cgroups::default_everywhere(const std::string& id) {
  // An explicit cgroupsPath selects every hierarchy; this one is the default path.
  Config cfg;
  cfg.linux.cgroups_path = container_path("", "/", id);
  return plan(cfg, id);
}

Cgroups Cgroups::from_json(const nlohmann::json& j) {
  Cgroups cg;
  if (!j.is_array()) return cg;
  for (const auto& d : j) {
    if (!d.is_object() || !d.contains("path") || !d["path"].is_string()) continue;
    std::string path = d["path"].get<std::string>();
    std::string mount = d.value("mount", "");
    // Only ever operate below a cgroup mount: the state file may have been tampered with.
    bool inside = mount.rfind(kCgroupRoot, 0) == 0 && path.rfind(mount + "/", 0) == 0 &&
                  path.find("..") == std::string::npos;
    if (!inside) continue;
    cg.dirs_.push_back({d.value("controllers", ""), mount, path, d.value("v2", false),
                        d.value("preexisting", false)});
  }
  return cg;
}

nlohmann::json Cgroups::to_json() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& d : dirs_) {
    nlohmann::json e = {
        {"controllers", d.controllers}, {"mount", d.mount}, {"path", d.path}, {"v2", d.v2}};
    if (d.preexisting) e["preexisting"] = true;
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<ParentEvent> Cgroups::create(const Resources& res) {
  std::vector<ParentEvent> out;
  Writer w{out};
  for (CgroupDir& d : dirs_) {
    std::string rel = d.path.substr(d.mount.size());
    if (d.v2 && d.mount == kCgroupRoot) enable_v2_controllers(d.mount, rel, res);
    bool existed = false;
    int err = make_dirs(d.mount, rel, has_controller(d.controllers, "cpuset"), existed);
    d.preexisting = existed;
    if (err != 0) {
      out.push_back(cgroup_event(err, kCgroupWrite, d.path));
      continue;
    }
    apply(d, res, w);
  }
  out.push_back(cgroup_event(0));
  return out;
}

UniqueFd Cgroups::unified_fd() const {
  for (const auto& d : dirs_) {
    if (d.v2) return UniqueFd(::open(d.path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  }
  return {};
}

int Cgroups::join(pid_t pid, bool skip_unified) const {
  std::string text = std::to_string(pid);
  int first = 0;
  for (const auto& d : dirs_) {
    if (d.v2 && skip_unified) continue;
    int err = write_file(d.path + "/cgroup.procs", text);
    if (err != 0 && first == 0) first = err;
  }
  return first;
}

std::vector<pid_t> Cgroups::pids() const {
  std::vector<pid_t> out;
  for (const auto& d : dirs_) {
    std::ifstream in(d.path + "/cgroup.procs");
    if (!in) continue;
    pid_t pid = 0;
    while (in >> pid)
      out.push_back(pid);
    return out;
  }
  return out;
}

void Cgroups::kill_all(int sig) const {
  if (sig == SIGKILL) {
    for (const auto& d : dirs_) {
      if (d.v2 && write_file(d.path + "/cgroup.kill", "1") == 0) return;
    }
  }
  for (pid_t pid : pids())
    ::kill(pid, sig);
}

int Cgroups::freeze(bool frozen_state) const {
  for (const auto& d : dirs_) {
    if (d.v2) return write_file(d.path + "/cgroup.freeze", frozen_state ? "1" : "0");
  }
  for (const auto& d : dirs_) {
    if (has_controller(d.controllers, "freezer")) {
      return write_file(d.path + "/freezer.state", frozen_state ? "FROZEN" : "THAWED");
    }
  }
  return ENOTSUP;
}

bool Cgroups::frozen() const {
  for (const auto& d : dirs_) {
    if (d.v2) return read_file(d.path + "/cgroup.freeze") == "1";
  }
  for (const auto& d : dirs_) {
    if (has_controller(d.controllers, "freezer")) {
      return read_file(d.path + "/freezer.state") == "FROZEN";
    }
  }
  return false;
}

void Cgroups::destroy() const {
  for (const auto& d : dirs_) {
    if (d.preexisting) continue;
    // Tasks that were just killed leave their cgroup when their parent reaps them; wait for
    // that on cgroup.events (v2) or retry briefly (v1 has no event for it).
    for (int attempt = 0; attempt < 200; ++attempt) {
      if (::rmdir(d.path.c_str()) == 0 || errno == ENOENT) break;
      if (errno != EBUSY) break;
      if (d.v2) {
        int fd = ::open((d.path + "/cgroup.events").c_str(), O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
          pollfd pfd{fd, POLLPRI, 0};
          char buf[256];
          [[maybe_unused]] ssize_t n = ::read(fd, buf, sizeof buf);
          ::poll(&pfd, 1, 10);
          ::close(fd);
          continue;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(attempt < 20 ? 1 : 10));
    }
  }
}

std::vector<ParentEvent> Cgroups::update(const Resources& res) const {
  std::vector<ParentEvent> out;
  Writer w{out};
  bool pure_v2 = false;
  for (const auto& d : dirs_)
    pure_v2 = pure_v2 || (d.v2 && d.mount == kCgroupRoot);
  if (!pure_v2) {
    // A v1 controller the container was not created in cannot be changed now.
    for (const auto& need : needed_controllers(res)) {
      bool have = false;
      for (const auto& d : dirs_)
        have = have || has_controller(d.controllers, need);
      if (!have) w(kCgroupRoot, need.c_str(), "(the container has no cgroup in this hierarchy)");
    }
  }
  for (const auto& d : dirs_)
    apply(d, res, w);
  return out;
}

}  // namespace nyx
