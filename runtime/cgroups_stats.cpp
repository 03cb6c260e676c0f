// The container's cgroup statistics as runc's `events --stats` prints them (runc's
// libcontainer/cgroups stats types: the same keys, zero values left out where runc leaves them
// out), and its OOM kills.
#include <dirent.h>

#include <cstdlib>
#include <map>
#include <sstream>

#include "runtime/cgroups.hpp"
#include "runtime/cgroups_internal.hpp"

namespace nyx {

using namespace cgroup;
using ojson = nlohmann::ordered_json;

namespace {

std::uint64_t to_u64(const std::string& s) {
  if (s == "max") return 0;
  return std::strtoull(s.c_str(), nullptr, 10);
}

std::uint64_t file_u64(const std::string& path) {
  return to_u64(read_file(path).value_or("0"));
}

// "key value" lines (memory.stat, cpu.stat, memory.events, cpuacct.stat).
std::map<std::string, std::uint64_t> key_values(const std::string& path) {
  std::map<std::string, std::uint64_t> out;
  std::istringstream in(read_file(path).value_or(""));
  std::string k, v;
  while (in >> k >> v)
    out[k] = to_u64(v);
  return out;
}

void put_nonzero(ojson& o, const char* key, std::uint64_t v) {
  if (v != 0) o[key] = v;
}

ojson memory_entry(std::uint64_t limit, std::uint64_t usage, std::uint64_t max,
                   std::uint64_t failcnt) {
  ojson e = ojson::object();
  e["limit"] = limit;
  put_nonzero(e, "usage", usage);
  put_nonzero(e, "max", max);
  e["failcnt"] = failcnt;
  return e;
}

std::vector<std::string> hugepage_sizes() {
  std::vector<std::string> out;
  DIR* d = ::opendir("/sys/kernel/mm/hugepages");
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;  // hugepages-2048kB
    if (n.rfind("hugepages-", 0) != 0) continue;
    std::uint64_t kb = std::strtoull(n.c_str() + 10, nullptr, 10);
    const char* units[] = {"KB", "MB", "GB", "TB"};
    int u = 0;
    while (kb >= 1024 && kb % 1024 == 0 && u < 3) {
      kb /= 1024;
      ++u;
    }
    out.push_back(std::to_string(kb) + units[u]);
  }
  ::closedir(d);
  return out;
}

std::vector<std::uint64_t> numbers(const std::string& text) {
  std::vector<std::uint64_t> out;
  std::istringstream in(text);
  std::uint64_t v;
  while (in >> v)
    out.push_back(v);
  return out;
}

// blkio.throttle.io_service_bytes_recursive: "8:0 Read 4096" lines.
ojson blkio_entries(const std::string& path) {
  ojson out = ojson::array();
  std::istringstream in(read_file(path).value_or(""));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string dev, op;
    std::uint64_t value = 0;
    if (!(ls >> dev >> op >> value)) continue;
    auto colon = dev.find(':');
    if (colon == std::string::npos) continue;
    ojson e = ojson::object();
    put_nonzero(e, "major", std::strtoull(dev.c_str(), nullptr, 10));
    put_nonzero(e, "minor", std::strtoull(dev.c_str() + colon + 1, nullptr, 10));
    e["op"] = op;
    put_nonzero(e, "value", value);
    out.push_back(e);
  }
  return out;
}

void v1_stats(const CgroupDir& d, ojson& s) {
  const std::string& p = d.path;
  if (has_controller(d.controllers, "cpuacct")) {
    ojson usage = ojson::object();
    put_nonzero(usage, "total", file_u64(p + "/cpuacct.usage"));
    auto percpu = numbers(read_file(p + "/cpuacct.usage_percpu").value_or(""));
    if (!percpu.empty()) usage["percpu"] = percpu;
    auto k = numbers(read_file(p + "/cpuacct.usage_percpu_sys").value_or(""));
    auto u = numbers(read_file(p + "/cpuacct.usage_percpu_user").value_or(""));
    if (!k.empty()) usage["percpu_kernel"] = k;
    if (!u.empty()) usage["percpu_user"] = u;
    // cpuacct.stat counts USER_HZ ticks (100 a second).
    auto st = key_values(p + "/cpuacct.stat");
    usage["kernel"] = st["system"] * 10000000ULL;
    usage["user"] = st["user"] * 10000000ULL;
    s["cpu"]["usage"] = usage;
  }
  if (has_controller(d.controllers, "cpu")) {
    auto st = key_values(p + "/cpu.stat");
    ojson t = ojson::object();
    put_nonzero(t, "periods", st["nr_periods"]);
    put_nonzero(t, "throttledPeriods", st["nr_throttled"]);
    put_nonzero(t, "throttledTime", st["throttled_time"]);
    s["cpu"]["throttling"] = t;
  }
  if (has_controller(d.controllers, "memory")) {
    auto raw = key_values(p + "/memory.stat");
    ojson m = ojson::object();
    put_nonzero(m, "cache", raw["cache"]);
    auto entry = [&](const std::string& prefix) {
      return memory_entry(file_u64(p + "/" + prefix + "limit_in_bytes"),
                          file_u64(p + "/" + prefix + "usage_in_bytes"),
                          file_u64(p + "/" + prefix + "max_usage_in_bytes"),
                          file_u64(p + "/" + prefix + "failcnt"));
    };
    m["usage"] = entry("memory.");
    m["swap"] = entry("memory.memsw.");
    m["kernel"] = entry("memory.kmem.");
    m["kernelTCP"] = entry("memory.kmem.tcp.");
    ojson r = ojson::object();
    for (const auto& [k, v] : raw)
      r[k] = v;
    m["raw"] = r;
    s["memory"] = m;
  }
  if (has_controller(d.controllers, "pids")) {
    ojson pids = ojson::object();
    put_nonzero(pids, "current", file_u64(p + "/pids.current"));
    put_nonzero(pids, "limit", file_u64(p + "/pids.max"));
    s["pids"] = pids;
  }
  if (has_controller(d.controllers, "blkio")) {
    ojson b = ojson::object();
    ojson bytes = blkio_entries(p + "/blkio.throttle.io_service_bytes_recursive");
    ojson ios = blkio_entries(p + "/blkio.throttle.io_serviced_recursive");
    if (!bytes.empty()) b["ioServiceBytesRecursive"] = bytes;
    if (!ios.empty()) b["ioServicedRecursive"] = ios;
    s["blkio"] = b;
  }
  if (has_controller(d.controllers, "hugetlb")) {
    ojson h = ojson::object();
    for (const auto& size : hugepage_sizes()) {
      ojson e = ojson::object();
      put_nonzero(e, "usage", file_u64(p + "/hugetlb." + size + ".usage_in_bytes"));
      put_nonzero(e, "max", file_u64(p + "/hugetlb." + size + ".max_usage_in_bytes"));
      e["failcnt"] = file_u64(p + "/hugetlb." + size + ".failcnt");
      h[size] = e;
    }
    s["hugetlb"] = h;
  }
}

void v2_stats(const CgroupDir& d, ojson& s) {
  const std::string& p = d.path;
  auto cpu = key_values(p + "/cpu.stat");
  ojson usage = ojson::object();
  put_nonzero(usage, "total", cpu["usage_usec"] * 1000);
  usage["kernel"] = cpu["system_usec"] * 1000;
  usage["user"] = cpu["user_usec"] * 1000;
  ojson t = ojson::object();
  put_nonzero(t, "periods", cpu["nr_periods"]);
  put_nonzero(t, "throttledPeriods", cpu["nr_throttled"]);
  put_nonzero(t, "throttledTime", cpu["throttled_usec"] * 1000);
  s["cpu"] = {{"usage", usage}, {"throttling", t}};
  if (exists(p + "/memory.current")) {
    auto raw = key_values(p + "/memory.stat");
    ojson m = ojson::object();
    put_nonzero(m, "cache", raw["file"]);
    auto events = key_values(p + "/memory.events");
    m["usage"] = memory_entry(file_u64(p + "/memory.max"), file_u64(p + "/memory.current"),
                              file_u64(p + "/memory.peak"), events["max"]);
    m["swap"] =
        memory_entry(file_u64(p + "/memory.swap.max"), file_u64(p + "/memory.swap.current"), 0, 0);
    ojson r = ojson::object();
    for (const auto& [k, v] : raw)
      r[k] = v;
    m["raw"] = r;
    s["memory"] = m;
  }
  if (exists(p + "/pids.current")) {
    ojson pids = ojson::object();
    put_nonzero(pids, "current", file_u64(p + "/pids.current"));
    put_nonzero(pids, "limit", file_u64(p + "/pids.max"));
    s["pids"] = pids;
  }
  ojson b = ojson::object();
  ojson bytes = ojson::array(), ios = ojson::array();
  std::istringstream in(read_file(p + "/io.stat").value_or(""));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string dev, kv;
    ls >> dev;
    auto colon = dev.find(':');
    if (colon == std::string::npos) continue;
    std::uint64_t major = std::strtoull(dev.c_str(), nullptr, 10);
    std::uint64_t minor = std::strtoull(dev.c_str() + colon + 1, nullptr, 10);
    while (ls >> kv) {
      auto eq = kv.find('=');
      if (eq == std::string::npos) continue;
      std::string k = kv.substr(0, eq);
      std::uint64_t v = to_u64(kv.substr(eq + 1));
      ojson e = ojson::object();
      put_nonzero(e, "major", major);
      put_nonzero(e, "minor", minor);
      if (k == "rbytes" || k == "rios") e["op"] = "Read";
      if (k == "wbytes" || k == "wios") e["op"] = "Write";
      if (!e.contains("op")) continue;
      put_nonzero(e, "value", v);
      (k[1] == 'b' ? bytes : ios).push_back(e);
    }
  }
  if (!bytes.empty()) b["ioServiceBytesRecursive"] = bytes;
  if (!ios.empty()) b["ioServicedRecursive"] = ios;
  s["blkio"] = b;
  ojson h = ojson::object();
  for (const auto& size : hugepage_sizes()) {
    if (!exists(p + "/hugetlb." + size + ".current")) continue;
    ojson e = ojson::object();
    put_nonzero(e, "usage", file_u64(p + "/hugetlb." + size + ".current"));
    e["failcnt"] = key_values(p + "/hugetlb." + size + ".events")["max"];
    h[size] = e;
  }
  s["hugetlb"] = h;
}

}  // namespace

nlohmann::ordered_json Cgroups::stats() const {
  ojson s = ojson::object();
  s["cpu"] = {{"usage", {{"kernel", 0}, {"user", 0}}}, {"throttling", ojson::object()}};
  s["memory"] = ojson::object();
  s["pids"] = ojson::object();
  s["blkio"] = ojson::object();
  s["hugetlb"] = ojson::object();
  bool pure_v2 = version() == "v2";
  for (const auto& d : dirs_) {
    if (!d.v2) {
      v1_stats(d, s);
    } else if (pure_v2) {
      v2_stats(d, s);
    }
  }
  s["intel_rdt"] = ojson::object();
  s["network_interfaces"] = nullptr;
  return s;
}

std::uint64_t Cgroups::oom_kills() const {
  bool pure_v2 = version() == "v2";
  for (const auto& d : dirs_) {
    if (d.v2 && pure_v2) return key_values(d.path + "/memory.events")["oom_kill"];
    if (!d.v2 && has_controller(d.controllers, "memory")) {
      return key_values(d.path + "/memory.oom_control")["oom_kill"];
    }
  }
  return 0;
}

}  // namespace nyx
