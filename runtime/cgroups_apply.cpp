// linux.resources written into cgroup files: v1 (one hierarchy per controller) and v2 (one
// directory, the unified hierarchy). Every setting the config makes is written or becomes a
// failure event naming the file and why: the caller refuses to create a container that would
// run without a limit it was given (docs/design.md, "Where best-effort stops").
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "runtime/cgroup_devices.hpp"
#include "runtime/cgroups_internal.hpp"
#include "runtime/primitives/cgroups.hpp"

namespace nyx::cgroup {

int write_file(const std::string& path, std::string_view value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  int err = 0;
  if (::write(fd, value.data(), value.size()) < 0) err = errno;
  ::close(fd);
  return err;
}

std::optional<std::string> read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string s;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0)
    s.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  if (n < 0) return std::nullopt;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

bool exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

bool has_controller(std::string_view list, std::string_view name) {
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    if (list.substr(0, comma) == name) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> out;
  std::istringstream in{std::string(text)};
  std::string w;
  while (in >> w)
    out.push_back(w);
  return out;
}

std::string controller_of(std::string_view file) {
  return std::string(file.substr(0, file.find('.')));
}

int Writer::quiet(const std::string& file, const std::string& value) const {
  int err = write_file(dir + "/" + file, value);
  if (err == 0) applied.insert(controller_of(file));
  return err;
}

int Writer::operator()(const std::string& file, const std::string& value) const {
  int err = quiet(file, value);
  if (err != 0) fail(err, file);
  return err;
}

void Writer::fail(int err, const std::string& note) const {
  out.push_back(cgroup_event(err, kCgroupWrite, note));
}

void Writer::warn(const std::string& text) const {
  out.push_back(cgroup_event(0, kCgroupWarning, text));
}

void Writer::pair(const std::string& first, const std::optional<std::string>& v1,
                  const std::string& second, const std::optional<std::string>& v2) const {
  if (!v1) {
    if (v2) (*this)(second, *v2);
    return;
  }
  int err = quiet(first, *v1);
  if (err == 0) {
    if (v2) (*this)(second, *v2);
  } else if (err == EINVAL && v2) {
    if ((*this)(second, *v2) == 0) (*this)(first, *v1);
  } else {
    fail(err, first);
  }
}

namespace {

std::string num(std::int64_t v) {
  return std::to_string(v);
}

std::string dev(std::int64_t major, std::int64_t minor) {
  return std::to_string(major) + ":" + std::to_string(minor);
}

std::string device_rule(const DeviceRule& d) {
  auto n = [](const std::optional<std::int64_t>& v) {
    return !v || *v < 0 ? std::string("*") : std::to_string(*v);
  };
  if (d.type == 'a' && !d.major && !d.minor) return std::string("a *:* ") + d.access;
  return std::string(1, d.type) + " " + n(d.major) + ":" + n(d.minor) + " " + d.access;
}

// The first of `files` that exists in the directory, or the first one (to be refused).
std::string first_existing(const Writer& w, std::initializer_list<const char*> files) {
  for (const char* f : files) {
    if (exists(w.dir + "/" + f)) return f;
  }
  return *files.begin();
}

void v1_memory(const Resources& r, const Writer& w) {
  std::optional<std::string> mem, swap;
  if (r.memory_limit) mem = num(*r.memory_limit);
  if (r.memory_swap) swap = num(*r.memory_swap);
  // runc's rule: an unlimited memory limit with no swap limit given lifts the swap limit too
  // (the kernel refuses a memory limit above memory+swap).
  if (r.memory_limit && *r.memory_limit == -1 && !r.memory_swap &&
      exists(w.dir + "/memory.memsw.limit_in_bytes")) {
    swap = "-1";
  }
  // Raising both: memory+swap first, or the kernel refuses memory above the old memsw limit.
  w.pair("memory.limit_in_bytes", mem, "memory.memsw.limit_in_bytes", swap);
  if (r.memory_reservation) w("memory.soft_limit_in_bytes", num(*r.memory_reservation));
  if (r.memory_kernel_tcp) w("memory.kmem.tcp.limit_in_bytes", num(*r.memory_kernel_tcp));
  if (r.memory_swappiness) w("memory.swappiness", std::to_string(*r.memory_swappiness));
  if (r.disable_oom_killer) w("memory.oom_control", *r.disable_oom_killer ? "1" : "0");
  if (r.memory_use_hierarchy) w("memory.use_hierarchy", *r.memory_use_hierarchy ? "1" : "0");
}

void v1_cpu(const Resources& r, const Writer& w) {
  if (r.cpu_shares) w("cpu.shares", std::to_string(*r.cpu_shares));
  std::optional<std::string> period, quota, rt_period, rt_runtime;
  if (r.cpu_period) period = std::to_string(*r.cpu_period);
  if (r.cpu_quota) quota = num(*r.cpu_quota);
  w.pair("cpu.cfs_period_us", period, "cpu.cfs_quota_us", quota);
  if (r.cpu_burst) w("cpu.cfs_burst_us", std::to_string(*r.cpu_burst));
  if (r.cpu_rt_period) rt_period = std::to_string(*r.cpu_rt_period);
  if (r.cpu_rt_runtime) rt_runtime = num(*r.cpu_rt_runtime);
  w.pair("cpu.rt_period_us", rt_period, "cpu.rt_runtime_us", rt_runtime);
  if (r.cpu_idle) w("cpu.idle", num(*r.cpu_idle));
}

void v1_blkio(const Resources& r, const Writer& w) {
  if (r.blkio_weight) {
    std::string f = first_existing(w, {"blkio.weight", "blkio.bfq.weight"});
    if (!exists(w.dir + "/" + f)) {
      w.fail(ENOENT, "blkio.weight (this kernel has neither blkio.weight nor blkio.bfq.weight)");
    } else {
      w(f, std::to_string(*r.blkio_weight));
    }
  }
  if (r.blkio_leaf_weight) w("blkio.leaf_weight", std::to_string(*r.blkio_leaf_weight));
  for (const auto& d : r.blkio_weight_devices) {
    if (d.weight) {
      std::string f = first_existing(w, {"blkio.weight_device", "blkio.bfq.weight_device"});
      w(f, dev(d.major, d.minor) + " " + std::to_string(*d.weight));
    }
    if (d.leaf_weight) {
      w("blkio.leaf_weight_device", dev(d.major, d.minor) + " " + std::to_string(*d.leaf_weight));
    }
  }
  auto throttle = [&](const char* file, const std::vector<BlkioThrottle>& list) {
    for (const auto& t : list)
      w(file, dev(t.major, t.minor) + " " + std::to_string(t.rate));
  };
  throttle("blkio.throttle.read_bps_device", r.blkio_read_bps);
  throttle("blkio.throttle.write_bps_device", r.blkio_write_bps);
  throttle("blkio.throttle.read_iops_device", r.blkio_read_iops);
  throttle("blkio.throttle.write_iops_device", r.blkio_write_iops);
}

void hugetlb(const Resources& r, const Writer& w, bool v2) {
  for (const auto& h : r.hugepage_limits) {
    std::string file = "hugetlb." + h.page_size + (v2 ? ".max" : ".limit_in_bytes");
    if (!exists(w.dir + "/" + file)) {
      w.fail(ENOENT, file + " (no " + h.page_size + " huge pages on this host)");
      continue;
    }
    w(file, std::to_string(h.limit));
  }
}

void kernel_memory_warning(const Resources& r, const Writer& w) {
  if (r.memory_kernel) {
    w.warn(
        "linux.resources.memory.kernel: kernel memory limits are not supported by this "
        "kernel and were ignored (as runc does)");
  }
}

}  // namespace

std::vector<std::string> v1_controllers_needed(const Resources& r) {
  std::vector<std::string> out;
  if (r.has_memory()) out.emplace_back("memory");
  if (r.pids_limit) out.emplace_back("pids");
  if (r.has_cpu()) out.emplace_back("cpu");
  if (r.has_cpuset()) out.emplace_back("cpuset");
  if (r.has_blkio()) out.emplace_back("blkio");
  if (!r.hugepage_limits.empty()) out.emplace_back("hugetlb");
  if (r.net_class_id) out.emplace_back("net_cls");
  if (!r.net_priorities.empty()) out.emplace_back("net_prio");
  if (!r.devices.empty()) out.emplace_back("devices");
  return out;
}

std::vector<std::string> v2_controllers_needed(const Resources& r) {
  std::vector<std::string> out;
  auto add = [&](const std::string& c) {
    for (const auto& o : out) {
      if (o == c) return;
    }
    out.push_back(c);
  };
  if (r.memory_limit || r.memory_reservation || r.memory_swap) add("memory");
  if (r.pids_limit) add("pids");
  if (r.cpu_shares || r.cpu_quota || r.cpu_period || r.cpu_burst || r.cpu_idle) add("cpu");
  if (r.has_cpuset()) add("cpuset");
  if (r.blkio_weight || !r.blkio_weight_devices.empty() || !r.blkio_read_bps.empty() ||
      !r.blkio_write_bps.empty() || !r.blkio_read_iops.empty() || !r.blkio_write_iops.empty()) {
    add("io");
  }
  if (!r.hugepage_limits.empty()) add("hugetlb");
  for (const auto& [file, value] : r.unified) {
    std::string c = controller_of(file);
    if (c != "cgroup") add(c);
  }
  return out;
}

void apply_v1(const std::string& c, const Resources& r, const Writer& w) {
  if (has_controller(c, "memory")) {
    v1_memory(r, w);
    kernel_memory_warning(r, w);
  }
  if (has_controller(c, "pids") && r.pids_limit) {
    w("pids.max", *r.pids_limit <= 0 ? "max" : num(*r.pids_limit));
  }
  if (has_controller(c, "cpu")) v1_cpu(r, w);
  if (has_controller(c, "cpuset")) {
    if (!r.cpuset_cpus.empty()) w("cpuset.cpus", r.cpuset_cpus);
    if (!r.cpuset_mems.empty()) w("cpuset.mems", r.cpuset_mems);
  }
  if (has_controller(c, "blkio")) v1_blkio(r, w);
  if (has_controller(c, "hugetlb")) hugetlb(r, w, false);
  if (has_controller(c, "net_cls") && r.net_class_id) {
    w("net_cls.classid", std::to_string(*r.net_class_id));
  }
  if (has_controller(c, "net_prio")) {
    for (const auto& p : r.net_priorities)
      w("net_prio.ifpriomap", p.name + " " + std::to_string(p.priority));
  }
  if (has_controller(c, "devices") && !r.devices.empty()) {
    for (const DeviceRule& d : r.devices)
      w(d.allow ? "devices.allow" : "devices.deny", device_rule(d));
    // The nodes every container gets in its /dev stay usable, as with runc and crun.
    for (const char* rule : kDefaultDeviceRules)
      w("devices.allow", rule);
  }
}

namespace {

// runc's conversions from the v1 units of the spec to v2's.
std::uint64_t cpu_weight(std::uint64_t shares) {
  return 1 + ((shares - 2) * 9999) / 262142;
}

std::uint64_t io_weight(std::uint64_t weight) {
  return 1 + ((weight - 10) * 9999) / 990;
}

std::string max_or(std::int64_t v) {
  return v < 0 ? std::string("max") : std::to_string(v);
}

void unsupported(const Writer& w, bool set, const char* what) {
  if (set) w.fail(EOPNOTSUPP, what);
}

void v2_memory(const Resources& r, const Writer& w) {
  if (r.memory_limit) w("memory.max", max_or(*r.memory_limit));
  if (r.memory_reservation) w("memory.low", max_or(*r.memory_reservation));
  if (r.memory_swap) {
    // The spec's swap is memory+swap (v1); v2 limits swap alone.
    std::int64_t swap = *r.memory_swap;
    std::int64_t mem = r.memory_limit.value_or(0);
    if (swap == -1) {
      w("memory.swap.max", "max");
    } else if (mem == 0) {
      w.fail(EINVAL, "memory.swap.max (on cgroup v2 a swap limit needs a memory limit)");
    } else if (mem == -1 || swap < mem) {
      w.fail(EINVAL, "memory.swap.max (memory+swap below the memory limit)");
    } else {
      w("memory.swap.max", std::to_string(swap - mem));
    }
  }
  kernel_memory_warning(r, w);
  unsupported(w, r.memory_kernel_tcp.has_value(),
              "memory.kmem.tcp.limit_in_bytes (cgroup v2 has no TCP memory limit)");
  unsupported(w, r.memory_swappiness.has_value(),
              "memory.swappiness (cgroup v2 has no per-cgroup swappiness)");
  unsupported(w, r.disable_oom_killer.value_or(false),
              "memory.oom_control (cgroup v2 cannot disable the OOM killer)");
  unsupported(w, !r.memory_use_hierarchy.value_or(true),
              "memory.use_hierarchy (cgroup v2 is always hierarchical)");
}

void v2_cpu(const Resources& r, const Writer& w) {
  if (r.cpu_shares) w("cpu.weight", std::to_string(cpu_weight(*r.cpu_shares)));
  if (r.cpu_quota || r.cpu_period) {
    std::string quota;
    if (r.cpu_quota) {
      quota = *r.cpu_quota > 0 ? std::to_string(*r.cpu_quota) : "max";
    } else {
      // A new period alone keeps the quota in force.
      auto cur = words(read_file(w.dir + "/cpu.max").value_or("max"));
      quota = cur.empty() ? "max" : cur[0];
    }
    w("cpu.max", quota + (r.cpu_period ? " " + std::to_string(*r.cpu_period) : ""));
  }
  if (r.cpu_burst) w("cpu.max.burst", std::to_string(*r.cpu_burst));
  if (r.cpu_idle) w("cpu.idle", num(*r.cpu_idle));
  unsupported(w, r.cpu_rt_runtime || r.cpu_rt_period,
              "cpu.rt_runtime_us (cgroup v2 has no realtime group scheduling)");
}

void v2_io(const Resources& r, const Writer& w) {
  bool bfq = exists(w.dir + "/io.bfq.weight");
  if (r.blkio_weight) {
    if (bfq) {
      w("io.bfq.weight", std::to_string(*r.blkio_weight));
    } else {
      w("io.weight", "default " + std::to_string(io_weight(*r.blkio_weight)));
    }
  }
  for (const auto& d : r.blkio_weight_devices) {
    if (!d.weight) continue;
    if (bfq) {
      w("io.bfq.weight", dev(d.major, d.minor) + " " + std::to_string(*d.weight));
    } else {
      w("io.weight", dev(d.major, d.minor) + " " + std::to_string(io_weight(*d.weight)));
    }
  }
  bool leaf = r.blkio_leaf_weight.has_value();
  for (const auto& d : r.blkio_weight_devices)
    leaf = leaf || d.leaf_weight.has_value();
  unsupported(w, leaf, "blkio.leaf_weight (cgroup v2 has no leaf weights)");
  auto limit = [&](const char* key, const std::vector<BlkioThrottle>& list) {
    for (const auto& t : list)
      w("io.max", dev(t.major, t.minor) + " " + key + "=" + std::to_string(t.rate));
  };
  limit("rbps", r.blkio_read_bps);
  limit("wbps", r.blkio_write_bps);
  limit("riops", r.blkio_read_iops);
  limit("wiops", r.blkio_write_iops);
}

}  // namespace

void apply_v2(const Resources& r, const Writer& w) {
  v2_memory(r, w);
  if (r.pids_limit) w("pids.max", *r.pids_limit <= 0 ? "max" : num(*r.pids_limit));
  v2_cpu(r, w);
  if (!r.cpuset_cpus.empty()) w("cpuset.cpus", r.cpuset_cpus);
  if (!r.cpuset_mems.empty()) w("cpuset.mems", r.cpuset_mems);
  v2_io(r, w);
  hugetlb(r, w, true);
  unsupported(w, r.net_class_id.has_value(),
              "net_cls.classid (cgroup v2 has no net_cls controller)");
  unsupported(w, !r.net_priorities.empty(),
              "net_prio.ifpriomap (cgroup v2 has no net_prio controller)");
  if (!r.devices.empty()) {
    int err = attach_device_program(w.dir, r.devices);
    if (err != 0) {
      w.fail(err, "devices (the eBPF device program could not be loaded or attached)");
    } else {
      w.applied.insert("devices");
    }
  }
  for (const auto& [file, value] : r.unified)
    w(file, value);
}

}  // namespace nyx::cgroup
