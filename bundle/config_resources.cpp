// config.json: linux.resources, checked so that out-of-range cgroup values are refused before
// anything is created.
#include "base/error.hpp"
#include "bundle/config_sections.hpp"

namespace nyx {

using namespace json_reader;

namespace {

// Memory values: bytes, or -1 for "unlimited" as the spec allows.
std::optional<std::int64_t> memory_value(const json& obj, std::string_view key, const Path& p) {
  auto v = opt_i64(obj, key, p);
  if (v && *v < -1) fail(p / key, "out of range: must be -1 (unlimited) or a byte count");
  return v;
}

void parse_memory(const json& v, const Path& p, Resources& r) {
  expect_object(v, p);
  r.memory_limit = memory_value(v, "limit", p);
  r.memory_reservation = memory_value(v, "reservation", p);
  r.memory_swap = memory_value(v, "swap", p);
  r.memory_kernel = memory_value(v, "kernel", p);
  r.memory_kernel_tcp = memory_value(v, "kernelTCP", p);
  r.memory_swappiness = opt_u64(v, "swappiness", p);
  if (r.memory_swappiness && *r.memory_swappiness > 100) {
    fail(p / "swappiness", "out of range: must be 0..100");
  }
  r.disable_oom_killer = opt_bool(v, "disableOOMKiller", p);
  r.memory_use_hierarchy = opt_bool(v, "useHierarchy", p);
  r.memory_check_before_update = opt_bool(v, "checkBeforeUpdate", p);
  if (r.memory_limit && r.memory_swap && *r.memory_limit > 0 && *r.memory_swap > 0 &&
      *r.memory_swap < *r.memory_limit) {
    fail(p / "swap", "must not be lower than memory.limit (swap counts memory plus swap)");
  }
}

void parse_cpu(const json& v, const Path& p, Resources& r) {
  expect_object(v, p);
  r.cpu_shares = opt_u64(v, "shares", p);
  if (r.cpu_shares && (*r.cpu_shares < 2 || *r.cpu_shares > 262144)) {
    fail(p / "shares", "out of range: must be 2..262144");
  }
  r.cpu_quota = opt_i64(v, "quota", p);
  if (r.cpu_quota && *r.cpu_quota != -1 && *r.cpu_quota < 1000) {
    fail(p / "quota", "out of range: must be -1 or at least 1000 microseconds");
  }
  r.cpu_period = opt_u64(v, "period", p);
  if (r.cpu_period && (*r.cpu_period < 1000 || *r.cpu_period > 1000000)) {
    fail(p / "period", "out of range: must be 1000..1000000 microseconds");
  }
  r.cpu_burst = opt_u64(v, "burst", p);
  r.cpu_rt_runtime = opt_i64(v, "realtimeRuntime", p);
  if (r.cpu_rt_runtime && *r.cpu_rt_runtime < -1) {
    fail(p / "realtimeRuntime", "out of range: must be -1 (unlimited) or microseconds");
  }
  r.cpu_rt_period = opt_u64(v, "realtimePeriod", p);
  r.cpu_idle = opt_i64(v, "idle", p);
  if (r.cpu_idle && *r.cpu_idle != 0 && *r.cpu_idle != 1) fail(p / "idle", "must be 0 or 1");
  r.cpuset_cpus = opt_string(v, "cpus", p).value_or("");
  r.cpuset_mems = opt_string(v, "mems", p).value_or("");
  for (char c : r.cpuset_cpus + r.cpuset_mems) {
    if (!(c >= '0' && c <= '9') && c != ',' && c != '-') {
      fail(p / "cpus", "expected a list like \"0-2,4\"");
    }
  }
}

void parse_devices(const json& v, const Path& p, Resources& r) {
  if (!v.is_array()) fail(p, "expected array");
  for (std::size_t i = 0; i < v.size(); ++i) {
    Path dp = p[i];
    expect_object(v[i], dp);
    DeviceRule rule;
    auto allow = opt_bool(v[i], "allow", dp);
    if (!allow) fail(dp / "allow", "missing required field");
    rule.allow = *allow;
    auto type = opt_string(v[i], "type", dp).value_or("a");
    if (type.size() != 1 || std::string_view("acb").find(type[0]) == std::string_view::npos) {
      fail(dp / "type", "unknown device type \"" + type + "\" (expected a, c or b)");
    }
    rule.type = type[0];
    rule.major = opt_i64(v[i], "major", dp);
    rule.minor = opt_i64(v[i], "minor", dp);
    if (rule.major && *rule.major < -1) fail(dp / "major", "out of range");
    if (rule.minor && *rule.minor < -1) fail(dp / "minor", "out of range");
    std::string access = opt_string(v[i], "access", dp).value_or("rwm");
    // runc keeps the letters r, w and m and ignores the rest; its own tests write "rwa". nyx
    // takes "a" the same way and refuses any other letter (a typo would widen or narrow a rule).
    if (access.empty() || access.find_first_not_of("rwma") != std::string::npos) {
      fail(dp / "access", "expected a combination of r, w and m");
    }
    rule.access.clear();
    for (char c : std::string_view("rwm")) {
      if (access.find(c) != std::string::npos) rule.access += c;
    }
    r.devices.push_back(rule);
  }
}

template <class T>
T required(std::optional<T> v, const Path& p) {
  if (!v) fail(p, "missing required field");
  return *v;
}

std::uint16_t blkio_weight(const json& obj, std::string_view key, const Path& p,
                           std::optional<std::uint16_t>& out) {
  if (auto w = opt_u32(obj, key, p)) {
    if (*w != 0 && (*w < 10 || *w > 1000)) fail(p / key, "out of range: must be 10..1000");
    out = static_cast<std::uint16_t>(*w);
  }
  return out.value_or(0);
}

void device_numbers(const json& obj, const Path& p, std::int64_t& major, std::int64_t& minor) {
  major = required(opt_i64(obj, "major", p), p / "major");
  minor = required(opt_i64(obj, "minor", p), p / "minor");
  if (major < 0) fail(p / "major", "out of range");
  if (minor < 0) fail(p / "minor", "out of range");
}

std::vector<BlkioThrottle> throttles(const json& b, std::string_view key, const Path& bp) {
  std::vector<BlkioThrottle> out;
  const json* list = member(b, key);
  if (list == nullptr) return out;
  Path lp = bp / key;
  if (!list->is_array()) fail(lp, "expected array");
  for (std::size_t i = 0; i < list->size(); ++i) {
    Path ip = lp[i];
    expect_object((*list)[i], ip);
    BlkioThrottle t;
    device_numbers((*list)[i], ip, t.major, t.minor);
    t.rate = required(opt_u64((*list)[i], "rate", ip), ip / "rate");
    out.push_back(t);
  }
  return out;
}

void parse_blkio(const json& b, const Path& bp, Resources& r) {
  expect_object(b, bp);
  blkio_weight(b, "weight", bp, r.blkio_weight);
  blkio_weight(b, "leafWeight", bp, r.blkio_leaf_weight);
  if (const json* list = member(b, "weightDevice")) {
    Path lp = bp / "weightDevice";
    if (!list->is_array()) fail(lp, "expected array");
    for (std::size_t i = 0; i < list->size(); ++i) {
      Path ip = lp[i];
      expect_object((*list)[i], ip);
      BlkioWeightDevice d;
      device_numbers((*list)[i], ip, d.major, d.minor);
      blkio_weight((*list)[i], "weight", ip, d.weight);
      blkio_weight((*list)[i], "leafWeight", ip, d.leaf_weight);
      r.blkio_weight_devices.push_back(d);
    }
  }
  r.blkio_read_bps = throttles(b, "throttleReadBpsDevice", bp);
  r.blkio_write_bps = throttles(b, "throttleWriteBpsDevice", bp);
  r.blkio_read_iops = throttles(b, "throttleReadIOPSDevice", bp);
  r.blkio_write_iops = throttles(b, "throttleWriteIOPSDevice", bp);
}

// "2MB", "1GB", "64KB": a power of two with a unit, as the kernel names its hugetlb files.
void parse_hugepages(const json& v, const Path& p, Resources& r) {
  if (!v.is_array()) fail(p, "expected array");
  for (std::size_t i = 0; i < v.size(); ++i) {
    Path ip = p[i];
    expect_object(v[i], ip);
    HugepageLimit h;
    h.page_size = required(opt_string(v[i], "pageSize", ip), ip / "pageSize");
    h.limit = required(opt_u64(v[i], "limit", ip), ip / "limit");
    std::size_t digits = h.page_size.find_first_not_of("0123456789");
    std::string unit = digits == std::string::npos ? "" : h.page_size.substr(digits);
    std::uint64_t n = digits == 0 || digits == std::string::npos
                          ? 0
                          : std::strtoull(h.page_size.substr(0, digits).c_str(), nullptr, 10);
    bool unit_ok = unit == "KB" || unit == "MB" || unit == "GB" || unit == "TB" || unit == "PB";
    if (!unit_ok || n == 0 || (n & (n - 1)) != 0 || digits > 6) {
      fail(ip / "pageSize", "invalid huge page size \"" + h.page_size +
                                "\" (expected a power of two with a unit: 2MB, 1GB)");
    }
    r.hugepage_limits.push_back(h);
  }
}

}  // namespace

Resources parse_resources(const json& v, const Path& p) {
  expect_object(v, p);
  Resources r;
  r.raw = v;
  if (const json* m = member(v, "memory")) parse_memory(*m, p / "memory", r);
  if (const json* c = member(v, "cpu")) parse_cpu(*c, p / "cpu", r);
  if (const json* pids = member(v, "pids")) {
    Path pp = p / "pids";
    expect_object(*pids, pp);
    r.pids_limit = opt_i64(*pids, "limit", pp);
    if (r.pids_limit && *r.pids_limit < -1) fail(pp / "limit", "out of range");
  }
  if (const json* b = member(v, "blockIO")) parse_blkio(*b, p / "blockIO", r);
  if (const json* h = member(v, "hugepageLimits")) parse_hugepages(*h, p / "hugepageLimits", r);
  if (const json* n = member(v, "network")) {
    Path np = p / "network";
    expect_object(*n, np);
    r.net_class_id = opt_u32(*n, "classID", np);
    if (const json* prios = member(*n, "priorities")) {
      Path pp = np / "priorities";
      if (!prios->is_array()) fail(pp, "expected array");
      for (std::size_t i = 0; i < prios->size(); ++i) {
        Path ip = pp[i];
        expect_object((*prios)[i], ip);
        NetPriority prio;
        prio.name = required(opt_string((*prios)[i], "name", ip), ip / "name");
        if (prio.name.empty() || prio.name.find_first_of(" \n/") != std::string::npos) {
          fail(ip / "name", "expected an interface name");
        }
        prio.priority = required(opt_u32((*prios)[i], "priority", ip), ip / "priority");
        r.net_priorities.push_back(prio);
      }
    }
  }
  if (const json* d = member(v, "devices")) parse_devices(*d, p / "devices", r);
  if (const json* u = member(v, "unified")) {
    Path up = p / "unified";
    expect_object(*u, up);
    for (const auto& [key, value] : u->items()) {
      if (key.find('/') != std::string::npos || key.find("..") != std::string::npos) {
        fail(up / key, "invalid cgroup file name");
      }
      r.unified[key] = as_string(value, up / key);
    }
  }
  return r;
}

}  // namespace nyx
