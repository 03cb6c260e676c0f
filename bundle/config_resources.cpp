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
  memory_value(v, "kernel", p);
  memory_value(v, "kernelTCP", p);
  if (auto s = opt_u64(v, "swappiness", p); s && *s > 100) {
    fail(p / "swappiness", "out of range: must be 0..100");
  }
  opt_bool(v, "disableOOMKiller", p);
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
  opt_i64(v, "realtimeRuntime", p);
  opt_u64(v, "realtimePeriod", p);
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
    rule.access = opt_string(v[i], "access", dp).value_or("rwm");
    if (rule.access.empty() || rule.access.find_first_not_of("rwm") != std::string::npos) {
      fail(dp / "access", "expected a combination of r, w and m");
    }
    r.devices.push_back(rule);
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
  if (const json* b = member(v, "blockIO")) {
    Path bp = p / "blockIO";
    expect_object(*b, bp);
    if (auto w = opt_u32(*b, "weight", bp)) {
      if (*w != 0 && (*w < 10 || *w > 1000)) fail(bp / "weight", "out of range: must be 10..1000");
      r.blkio_weight = static_cast<std::uint16_t>(*w);
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
      as_string(value, up / key);
    }
  }
  return r;
}

}  // namespace nyx
