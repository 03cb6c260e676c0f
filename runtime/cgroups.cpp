#include "runtime/cgroups.hpp"

#include <dirent.h>
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
#include <set>
#include <sstream>
#include <thread>

#include "base/error.hpp"
#include "runtime/cgroups_internal.hpp"
#include "runtime/primitives/cgroups.hpp"
#include "runtime/systemd_cgroup.hpp"

namespace nyx {

using namespace cgroup;

namespace {

constexpr const char* kDefaultParent = "/nyx-runtime";

// One line of /proc/self/cgroup: "4:memory:/path".
struct Hierarchy {
  std::string controllers;
  std::string own_path;
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

// A cgroup mount from /proc/self/mountinfo.
struct CgroupMount {
  std::string point;
  std::string root;  // the hierarchy's directory mounted there ("/" normally)
  bool v2 = false;
  std::string options;  // v1 super options: "rw,cpu,cpuacct"
};

std::string unescape_mount(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<CgroupMount> read_cgroup_mounts() {
  std::vector<CgroupMount> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    std::vector<std::string> f;
    std::string w;
    while (ss >> w)
      f.push_back(w);
    std::size_t dash = 0;
    for (std::size_t i = 6; i < f.size(); ++i) {
      if (f[i] == "-") {
        dash = i;
        break;
      }
    }
    if (dash == 0 || dash + 1 >= f.size()) continue;
    const std::string& type = f[dash + 1];
    if (type != "cgroup" && type != "cgroup2") continue;
    out.push_back({unescape_mount(f[4]), unescape_mount(f[3]), type == "cgroup2",
                   dash + 3 < f.size() ? f[dash + 3] : ""});
  }
  return out;
}

// The mount of a v1 hierarchy: the one whose super options name all of its controllers.
const CgroupMount* v1_mount_of(const std::vector<CgroupMount>& mounts,
                               const std::string& controllers) {
  for (const auto& m : mounts) {
    if (m.v2) continue;
    bool all = true;
    std::stringstream ss(controllers);
    std::string c;
    while (std::getline(ss, c, ','))
      all = all && has_controller(m.options, c);
    if (all) return &m;
  }
  return nullptr;
}

// The directory of `rel` (a path in the hierarchy) under a mount of it.
std::optional<std::string> dir_under(const CgroupMount& m, const std::string& rel) {
  if (m.root == "/") return m.point + (rel == "/" ? "" : rel);
  if (rel == m.root) return m.point;
  if (rel.rfind(m.root + "/", 0) == 0) return m.point + rel.substr(m.root.size());
  return std::nullopt;
}

bool is_fs(const std::string& path, long magic) {
  struct statfs st {};
  return ::statfs(path.c_str(), &st) == 0 && static_cast<long>(st.f_type) == magic;
}

std::string normalize(const std::string& path) {
  std::string out;
  std::stringstream ss(path);
  std::string part;
  while (std::getline(ss, part, '/')) {
    if (part.empty() || part == ".") continue;
    out += "/" + part;
  }
  return out.empty() ? "/" : out;
}

std::string container_path(const std::string& cgroups_path, const std::string& own,
                           const std::string& id) {
  if (cgroups_path.empty()) return std::string(kDefaultParent) + "/" + id;
  if (cgroups_path[0] == '/') return normalize(cgroups_path);
  return normalize((own == "/" ? "" : own) + "/" + cgroups_path);
}

bool is_dir(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The highest level of `path` below `mount` that does not exist yet ("" when it exists).
std::string first_missing(const std::string& mount, const std::string& path) {
  std::string cur = mount;
  std::stringstream ss(path.substr(mount.size()));
  std::string part;
  while (std::getline(ss, part, '/')) {
    if (part.empty()) continue;
    cur += "/" + part;
    if (!is_dir(cur)) return cur;
  }
  return {};
}

std::vector<pid_t> procs_of(const std::string& dir) {
  std::vector<pid_t> out;
  std::ifstream in(dir + "/cgroup.procs");
  pid_t pid = 0;
  while (in >> pid)
    out.push_back(pid);
  return out;
}

std::vector<std::string> subdirs(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == ".." || e->d_type != DT_DIR) continue;
    out.push_back(dir + "/" + n);
  }
  ::closedir(d);
  return out;
}

// Every process in the cgroup and below it.
std::size_t procs_below(const std::string& dir) {
  std::size_t n = procs_of(dir).size();
  for (const auto& s : subdirs(dir))
    n += procs_below(s);
  return n;
}

// rmdir, waiting (cgroup.events on v2, short retries on v1) for tasks that were just killed and
// leave their cgroup when their parent reaps them.
void remove_dir(const std::string& path, bool v2) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    if (::rmdir(path.c_str()) == 0 || errno == ENOENT) return;
    if (errno != EBUSY) return;
    if (v2) {
      int fd = ::open((path + "/cgroup.events").c_str(), O_RDONLY | O_CLOEXEC);
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

// The directory and what the container made below it, deepest first.
void remove_tree(const std::string& path, bool v2) {
  for (const auto& s : subdirs(path))
    remove_tree(s, v2);
  remove_dir(path, v2);
}

// mkdir -p, each v1 cpuset level given cpus and mems from its nearest ancestor before anything
// can join below it (an empty cpuset refuses tasks, and must never leave the container in the
// root cpuset). A level that vanishes meanwhile (another container's delete) is made again.
int make_dirs(const CgroupDir& d, bool cpuset) {
  for (int attempt = 0;; ++attempt) {
    std::string path = d.mount;
    std::stringstream ss(d.path.substr(d.mount.size()));
    std::string part;
    int err = 0;
    while (std::getline(ss, part, '/')) {
      if (part.empty()) continue;
      std::string parent = path;
      path += "/" + part;
      if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
        err = errno;
        break;
      }
      if (cpuset) {
        for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
          if (read_file(path + "/" + f).value_or("").empty())
            write_file(path + "/" + f, read_file(parent + "/" + f).value_or(""));
        }
      }
    }
    if (err != ENOENT || attempt >= 3) return err;
  }
}

// Pure v2: the controllers a level's children may use are those in its subtree_control, for
// every level above the container's cgroup (which holds processes, so never its own).
void enable_controllers(const std::string& mount, const std::string& leaf,
                        const std::vector<std::string>& wanted, bool all_available) {
  std::vector<std::string> levels{mount};
  std::string cur = mount;
  std::stringstream ss(leaf.substr(mount.size()));
  std::string part;
  while (std::getline(ss, part, '/')) {
    if (part.empty()) continue;
    cur += "/" + part;
    levels.push_back(cur);
  }
  levels.pop_back();
  for (const auto& level : levels) {
    auto available = words(read_file(level + "/cgroup.controllers").value_or(""));
    auto enabled = words(read_file(level + "/cgroup.subtree_control").value_or(""));
    std::string add;
    for (const auto& c : available) {
      bool want = all_available;
      for (const auto& w : wanted)
        want = want || w == c;
      bool on = false;
      for (const auto& e : enabled)
        on = on || e == c;
      if (want && !on) add += (add.empty() ? "+" : " +") + c;
    }
    if (add.empty()) continue;
    // All at once, then one by one: one that cannot be enabled must not stop the others.
    if (write_file(level + "/cgroup.subtree_control", add) != 0) {
      for (const auto& c : words(add))
        write_file(level + "/cgroup.subtree_control", c);
    }
  }
}

bool dir_frozen(const CgroupDir& d) {
  if (d.v2) {
    std::string events = read_file(d.path + "/cgroup.events").value_or("");
    return events.find("frozen 1") != std::string::npos;
  }
  if (has_controller(d.controllers, "freezer")) {
    std::string s = read_file(d.path + "/freezer.state").value_or("");
    return s == "FROZEN" || s == "FREEZING";
  }
  return false;
}

void thaw_dir(const CgroupDir& d) {
  write_file(d.path + (d.v2 ? "/cgroup.freeze" : "/freezer.state"), d.v2 ? "0" : "THAWED");
}

nlohmann::json info_event_note(const Cgroups& cg, const std::set<std::string>& applied) {
  nlohmann::json controllers = nlohmann::json::array();
  for (const auto& c : applied)
    controllers.push_back(c);
  std::string path;
  for (const auto& d : cg.dirs()) {
    if (path.empty() || d.v2) path = d.path.substr(d.mount.size());
  }
  nlohmann::json j = {{"version", cg.version()},
                      {"driver", cg.systemd() ? "systemd" : "cgroupfs"},
                      {"path", path},
                      {"controllers", controllers}};
  if (cg.systemd()) j["unit"] = cg.unit();
  return j;
}

}  // namespace

std::string Cgroups::version() const {
  bool v1 = false, v2 = false;
  for (const auto& d : dirs_) {
    v1 = v1 || !d.v2;
    v2 = v2 || d.v2;
  }
  return v1 && v2 ? "hybrid" : v2 ? "v2" : "v1";
}

Cgroups Cgroups::plan(const Config& cfg, const std::string& id, const CgroupOptions& opts) {
  Cgroups cg;
  const std::string& cgroups_path = cfg.linux.cgroups_path;
  std::string systemd_path;
  if (opts.systemd) {
    SystemdPath sp = parse_systemd_path(cgroups_path, id);
    cg.unit_ = sp.unit;
    cg.slice_ = sp.slice;
    systemd_path = sp.cgroup;
  }
  bool pure_v2 = is_fs(kRoot, CGROUP2_SUPER_MAGIC);
  std::vector<CgroupMount> mounts = read_cgroup_mounts();
  for (const Hierarchy& h : read_self_cgroups()) {
    std::string rel = opts.systemd ? systemd_path : container_path(cgroups_path, h.own_path, id);
    const CgroupMount* m = nullptr;
    if (h.controllers.empty()) {
      for (const auto& cm : mounts) {
        if (cm.v2 && (!pure_v2 || cm.point == kRoot)) {
          m = &cm;
          break;
        }
      }
    } else if (!pure_v2) {
      // Every v1 hierarchy (runc's layout): `update` can change any controller later, and the
      // container's /sys/fs/cgroup shows them all. Named ones other than systemd's are not ours.
      if (h.controllers.rfind("name=", 0) == 0 && h.controllers != "name=systemd") continue;
      m = v1_mount_of(mounts, h.controllers);
    }
    if (m == nullptr) continue;
    std::optional<std::string> path = dir_under(*m, rel);
    if (!path) continue;
    CgroupDir d{h.controllers, m->point, *path, m->v2, false, {}};
    cg.dirs_.push_back(std::move(d));
  }
  cg.default_path_ = cgroups_path.empty() && !opts.systemd;
  for (auto& d : cg.dirs_) {
    d.made_from = first_missing(d.mount, d.path);
    d.preexisting = d.made_from.empty();
    // The default path is ID's own: a leftover there is removed at create (claim_leftovers) and
    // made again. nyx's shared parent stays: other containers are made below it concurrently.
    if (cg.default_path_) {
      d.made_from = d.mount + kDefaultParent + "/" + id;
      d.preexisting = false;
    }
    // systemd makes and removes the scope's cgroup, never its slices: nyx removes nothing above.
    if (opts.systemd) {
      d.made_from = d.path;
      d.preexisting = false;
    }
  }
  return cg;
}

Cgroups Cgroups::default_everywhere(const std::string& id) {
  Cgroups cg;
  // Only for removal: every hierarchy's default directory, made by nyx.
  bool pure_v2 = is_fs(kRoot, CGROUP2_SUPER_MAGIC);
  std::vector<CgroupMount> mounts = read_cgroup_mounts();
  for (const Hierarchy& h : read_self_cgroups()) {
    const CgroupMount* m = nullptr;
    if (h.controllers.empty()) {
      for (const auto& cm : mounts) {
        if (cm.v2 && (!pure_v2 || cm.point == kRoot)) m = &cm;
      }
    } else if (!pure_v2) {
      m = v1_mount_of(mounts, h.controllers);
    }
    if (m == nullptr) continue;
    auto path = dir_under(*m, std::string(kDefaultParent) + "/" + id);
    if (!path) continue;
    cg.dirs_.push_back({h.controllers, m->point, *path, m->v2, false, *path});
  }
  return cg;
}

Cgroups Cgroups::from_json(const nlohmann::json& j) {
  Cgroups cg;
  if (!j.is_array()) return cg;
  for (const auto& d : j) {
    if (!d.is_object() || !d.contains("path") || !d["path"].is_string()) continue;
    std::string path = d["path"].get<std::string>();
    std::string mount = d.value("mount", "");
    // Only ever operate below a cgroup mount: the state file may have been tampered with.
    auto inside = [&](const std::string& p) {
      return mount.rfind(kRoot, 0) == 0 && p.rfind(mount + "/", 0) == 0 &&
             p.find("..") == std::string::npos;
    };
    if (!inside(path)) continue;
    bool preexisting = d.value("preexisting", false);
    // Older records: a directory nyx made had no madeFrom; it was the path itself.
    std::string made_from = d.value("madeFrom", preexisting ? "" : path);
    if (!made_from.empty() && (!inside(made_from) || path.rfind(made_from, 0) != 0)) {
      made_from = path;
    }
    cg.dirs_.push_back(
        {d.value("controllers", ""), mount, path, d.value("v2", false), preexisting, made_from});
    if (d.contains("unit") && d["unit"].is_string()) {
      std::string unit = d["unit"].get<std::string>();
      if (valid_unit_name(unit)) {
        cg.unit_ = unit;
        cg.unit_started_ = true;  // a record of a container: its scope was started
      }
    }
  }
  return cg;
}

nlohmann::json Cgroups::to_json() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& d : dirs_) {
    nlohmann::json e = {
        {"controllers", d.controllers}, {"mount", d.mount}, {"path", d.path}, {"v2", d.v2}};
    if (d.preexisting) e["preexisting"] = true;
    if (!d.made_from.empty()) e["madeFrom"] = d.made_from;
    if (!unit_.empty()) e["unit"] = unit_;
    out.push_back(std::move(e));
  }
  return out;
}

void Cgroups::claim_leftovers() {
  if (!default_path_) return;
  for (auto& d : dirs_) {
    if (!is_dir(d.path)) continue;
    if (procs_below(d.path) != 0) {
      // Another container's (the same ID under another --root): not ours to remove.
      for (auto& o : dirs_) {
        o.made_from.clear();
        o.preexisting = true;
      }
      throw Error(d.path,
                  "a cgroup of this container ID is in use by processes of another "
                  "container");
    }
    if (dir_frozen(d)) thaw_dir(d);
    remove_tree(d.path, d.v2);
    if (is_dir(d.path)) throw_errno(d.path, "cannot remove the leftover cgroup");
  }
}

std::vector<ParentEvent> Cgroups::create(const Resources& res) {
  std::vector<ParentEvent> out;
  std::set<std::string> applied;
  // A leftover of the default cgroup is ID's own (a killed create, a harness that killed the
  // container instead of deleting it): removed when nothing runs in it, so that nothing of the
  // old container (a cgroup.kill, a freeze, limits, sub-cgroups) reaches the new one.
  claim_leftovers();
  bool pure_v2 = version() == "v2";
  if (!res.unified.empty() && !pure_v2) {
    out.push_back(cgroup_event(EINVAL, kCgroupWrite,
                               "unified (invalid configuration: cgroup v2 resources on a host "
                               "whose controllers are on cgroup v1)"));
  }
  if (!pure_v2) {
    // A setting whose hierarchy the host does not mount cannot be applied.
    for (const auto& need : v1_controllers_needed(res)) {
      bool have = false;
      for (const auto& d : dirs_)
        have = have || has_controller(d.controllers, need);
      if (!have) {
        out.push_back(cgroup_event(ENOENT, kCgroupWrite,
                                   need + " (the host has no " + need + " cgroup hierarchy)"));
      }
    }
  }
  if (systemd()) return out;  // made by systemd after the clone (start_unit)
  for (CgroupDir& d : dirs_) {
    int err = make_dirs(d, has_controller(d.controllers, "cpuset"));
    if (err != 0) {
      out.push_back(cgroup_event(err, kCgroupWrite, d.path));
      continue;
    }
    // Every level exists now: each gives its children the controllers it has.
    if (d.v2 && pure_v2) enable_controllers(d.mount, d.path, v2_controllers_needed(res), true);
  }
  // The checks runc makes on a cgroup it joins, on every directory (a new one inherits a
  // frozen parent's state).
  std::size_t procs = 0;
  for (const CgroupDir& d : dirs_) {
    if (dir_frozen(d)) {
      throw Error(d.path, "container's cgroup unexpectedly frozen: thaw it or use another one");
    }
    if (d.preexisting) procs = std::max(procs, procs_below(d.path));
  }
  if (procs != 0) {
    out.push_back(cgroup_event(
        0, kCgroupWarning,
        "container's cgroup is not empty: " + std::to_string(procs) + " process(es) found"));
  }
  for (CgroupDir& d : dirs_) {
    Writer w{out, applied, d.path};
    if (!d.v2) {
      apply_v1(d.controllers, res, w);
    } else if (pure_v2) {
      apply_v2(res, w);
    }
  }
  out.push_back(cgroup_event(0, kCgroupInfo, info_event_note(*this, applied).dump()));
  return out;
}

std::vector<ParentEvent> Cgroups::start_unit(pid_t pid, const Resources& res) {
  std::vector<ParentEvent> out;
  std::set<std::string> applied;
  std::string message;
  int err = start_systemd_scope(unit_, slice_, pid, res, &message);
  if (err != 0) {
    out.push_back(cgroup_event(err, kCgroupWrite, "systemd unit " + unit_ + " (" + message + ")"));
    return out;
  }
  unit_started_ = true;
  // Where systemd put the process, in every hierarchy: that is the container's cgroup (a user
  // manager's scope lies below user@UID.service).
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  std::string line;
  std::vector<CgroupMount> mounts = read_cgroup_mounts();
  while (std::getline(in, line)) {
    auto c1 = line.find(':');
    auto c2 = line.find(':', c1 + 1);
    if (c1 == std::string::npos || c2 == std::string::npos) continue;
    std::string controllers = line.substr(c1 + 1, c2 - c1 - 1);
    std::string rel = line.substr(c2 + 1);
    for (CgroupDir& d : dirs_) {
      if (d.controllers != controllers) continue;
      for (const auto& m : mounts) {
        if (m.point != d.mount) continue;
        if (auto p = dir_under(m, rel)) d.path = *p;
      }
    }
  }
  bool pure_v2 = version() == "v2";
  for (CgroupDir& d : dirs_) {
    if (d.v2 && pure_v2) enable_controllers(d.mount, d.path, v2_controllers_needed(res), false);
    d.preexisting = false;
    d.made_from = d.path;
    if (!is_dir(d.path)) {
      out.push_back(cgroup_event(ENOENT, kCgroupWrite, d.path + " (not made by systemd)"));
      continue;
    }
    Writer w{out, applied, d.path};
    if (!d.v2) {
      apply_v1(d.controllers, res, w);
    } else if (pure_v2) {
      apply_v2(res, w);
    }
  }
  out.push_back(cgroup_event(0, kCgroupInfo, info_event_note(*this, applied).dump()));
  return out;
}

UniqueFd Cgroups::clone_fd() const {
  if (systemd() && !unit_started_) return {};
  for (const auto& d : dirs_) {
    if (d.v2 && !d.preexisting) {
      return UniqueFd(::open(d.path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    }
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
  // The unified hierarchy or the freezer's tracks every process; any other in their absence.
  const CgroupDir* best = nullptr;
  for (const auto& d : dirs_) {
    if (d.v2 || has_controller(d.controllers, "freezer")) {
      best = &d;
      if (d.v2) break;
    }
  }
  if (best == nullptr && !dirs_.empty()) best = &dirs_.front();
  return best == nullptr ? std::vector<pid_t>{} : procs_of(best->path);
}

void Cgroups::kill_all(int sig) const {
  if (sig == SIGKILL) {
    for (const auto& d : dirs_) {
      if (d.v2 && !d.preexisting && write_file(d.path + "/cgroup.kill", "1") == 0) return;
    }
  }
  for (pid_t pid : pids())
    ::kill(pid, sig);
}

namespace {

int wait_frozen(const CgroupDir& d, bool frozen) {
  for (int i = 0; i < 1000; ++i) {
    if (d.v2) {
      std::string ev = read_file(d.path + "/cgroup.events").value_or("");
      if (ev.find(frozen ? "frozen 1" : "frozen 0") != std::string::npos) return 0;
    } else {
      std::string s = read_file(d.path + "/freezer.state").value_or("");
      if (s == (frozen ? "FROZEN" : "THAWED")) return 0;
      if (frozen && s == "FREEZING" && i % 50 == 49) {
        write_file(d.path + "/freezer.state", "FROZEN");
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(i < 50 ? 1 : 10));
  }
  return EBUSY;
}

// The directory pause uses: the v1 freezer where there is one (what runc and engines read), else
// the unified hierarchy's cgroup.freeze.
const CgroupDir* freezer_dir(const std::vector<CgroupDir>& dirs) {
  for (const auto& d : dirs) {
    if (has_controller(d.controllers, "freezer")) return &d;
  }
  for (const auto& d : dirs) {
    if (d.v2) return &d;
  }
  return nullptr;
}

}  // namespace

int Cgroups::freeze(bool frozen_state) const {
  const CgroupDir* d = freezer_dir(dirs_);
  if (d == nullptr) return ENOTSUP;
  int err = d->v2 ? write_file(d->path + "/cgroup.freeze", frozen_state ? "1" : "0")
                  : write_file(d->path + "/freezer.state", frozen_state ? "FROZEN" : "THAWED");
  if (err != 0) return err;
  return wait_frozen(*d, frozen_state);
}

std::string frozen_v1_cgroup(pid_t pid, const std::string& mount) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  for (std::string line; std::getline(in, line);) {
    auto first = line.find(':');
    auto second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    if (line.compare(first + 1, second - first - 1, "freezer") != 0) continue;
    std::string path = line.substr(second + 1);
    std::string st = read_file(mount + (path == "/" ? "" : path) + "/freezer.state").value_or("");
    return st.rfind("FROZEN", 0) == 0 || st.rfind("FREEZING", 0) == 0 ? path : "";
  }
  return "";
}

int Cgroups::reclaim_frozen(pid_t init) const {
  const CgroupDir* ours = nullptr;
  for (const auto& d : dirs_) {
    if (!d.v2 && has_controller(d.controllers, "freezer")) ours = &d;
  }
  if (ours == nullptr) return -ENOTSUP;
  // A process moved to another freezer cgroup still sits in the container's other hierarchies.
  std::set<pid_t> candidates{init};
  for (const auto& d : dirs_) {
    if (&d == ours || d.v2 || d.preexisting) continue;
    for (pid_t p : procs_of(d.path))
      candidates.insert(p);
  }
  std::string own = ours->path.substr(ours->mount.size());
  if (own.empty()) own = "/";
  int moved = 0;
  for (pid_t p : candidates) {
    std::string where = frozen_v1_cgroup(p, ours->mount);
    if (where.empty() || where == own) continue;
    int err = write_file(ours->path + "/cgroup.procs", std::to_string(p));
    if (err == ESRCH) continue;
    if (err != 0) return -err;
    ++moved;
  }
  return moved;
}

bool Cgroups::frozen() const {
  const CgroupDir* d = freezer_dir(dirs_);
  return d != nullptr && dir_frozen(*d);
}

void Cgroups::destroy() const {
  if (systemd()) stop_systemd_unit(unit_);
  for (const auto& d : dirs_) {
    if (d.preexisting || d.made_from.empty()) continue;
    remove_tree(d.path, d.v2);
    // The levels above it that nyx made for this container, while nothing else uses them.
    for (std::string p = d.path; p != d.made_from && p.size() > d.made_from.size();) {
      p = p.substr(0, p.rfind('/'));
      if (::rmdir(p.c_str()) != 0 && errno != ENOENT) break;
    }
  }
}

std::vector<ParentEvent> Cgroups::update(const Resources& res) const {
  std::vector<ParentEvent> out;
  std::set<std::string> applied;
  bool pure_v2 = version() == "v2";
  if (!res.unified.empty() && !pure_v2) {
    out.push_back(cgroup_event(EINVAL, kCgroupWrite,
                               "unified (invalid configuration: cgroup v2 resources on a host "
                               "whose controllers are on cgroup v1)"));
  }
  if (!pure_v2) {
    for (const auto& need : v1_controllers_needed(res)) {
      bool have = false;
      for (const auto& d : dirs_)
        have = have || has_controller(d.controllers, need);
      if (!have) {
        out.push_back(cgroup_event(ENOENT, kCgroupWrite,
                                   need + " (the container has no cgroup in that hierarchy)"));
      }
    }
  }
  if (systemd()) {
    // The unit's properties too, or systemd would write its old values back on a reload.
    if (int err = set_systemd_properties(unit_, res); err != 0) {
      out.push_back(cgroup_event(err, kCgroupWrite, "systemd unit " + unit_ + " properties"));
    }
  }
  for (const auto& d : dirs_) {
    Writer w{out, applied, d.path};
    if (!d.v2) {
      apply_v1(d.controllers, res, w);
    } else if (pure_v2) {
      enable_controllers(d.mount, d.path, v2_controllers_needed(res), false);
      apply_v2(res, w);
    }
  }
  return out;
}

}  // namespace nyx
