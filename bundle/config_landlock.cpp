// config.json: process.landlock, shaped after the runtime-spec draft (opencontainers/runtime-spec
// PR 1241, open and unmerged): {"ruleset": {"handledAccessFS", "handledAccessNetwork"},
// "rules": {"pathBeneath": [{"allowedAccess", "paths"}], "netPort": [{"allowedAccess",
// "ports"}]}, "disableBestEffort"}, plus nyx's "ruleset.scoped" (Landlock ABI 6 scopes).
// Names are the kernel's without the LANDLOCK_ACCESS_*_ prefix, in lower case.
#include "bundle/config_sections.hpp"
#include "bundle/landlock_rights.hpp"

namespace nyx {

namespace landlock {

std::uint64_t supported(std::span<const Right> table, int abi) {
  std::uint64_t out = 0;
  for (const Right& r : table) {
    if (r.abi <= abi) out |= r.bit;
  }
  return out;
}

std::vector<std::string> names(std::span<const Right> table, std::uint64_t mask) {
  std::vector<std::string> out;
  for (const Right& r : table) {
    if ((mask & r.bit) != 0) out.emplace_back(r.name);
  }
  return out;
}

std::optional<std::uint64_t> bit_of(std::span<const Right> table, std::string_view name) {
  for (const Right& r : table) {
    if (r.name == name) return r.bit;
  }
  return std::nullopt;
}

}  // namespace landlock

using namespace json_reader;

namespace {

std::string known_list(std::span<const landlock::Right> table) {
  std::string out;
  for (const auto& r : table)
    out += (out.empty() ? "" : ", ") + std::string(r.name);
  return out;
}

std::uint64_t parse_rights(const json& v, const Path& p, std::span<const landlock::Right> table,
                           const char* what) {
  std::vector<std::string> list = as_strings(v, p);
  std::uint64_t mask = 0;
  for (std::size_t i = 0; i < list.size(); ++i) {
    auto bit = landlock::bit_of(table, list[i]);
    if (!bit) {
      fail(p[i], std::string("unknown Landlock ") + what + " \"" + list[i] +
                     "\" (known: " + known_list(table) + ")");
    }
    mask |= *bit;
  }
  return mask;
}

void check_path(const std::string& path, const Path& p) {
  if (path.empty() || path[0] != '/') fail(p, "must be an absolute path, got \"" + path + "\"");
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (path.compare(start, end - start, "..") == 0) fail(p, "must not contain \"..\"");
    start = end + 1;
  }
}

// A rule may only allow what the ruleset handles: the kernel refuses the rest (EINVAL).
void check_within(std::uint64_t allowed, const std::optional<std::uint64_t>& handled,
                  std::span<const landlock::Right> table, const Path& p, const char* field) {
  if (!handled) return;
  for (const auto& name : landlock::names(table, allowed & ~*handled)) {
    fail(p, "\"" + name + "\" is not in ruleset." + field);
  }
}

std::vector<LandlockPathRule> parse_path_rules(const json& v, const Path& p) {
  if (!v.is_array()) fail(p, "expected array");
  std::vector<LandlockPathRule> out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    Path rp = p[i];
    expect_object(v[i], rp);
    LandlockPathRule r;
    const json* access = member(v[i], "allowedAccess");
    if (access == nullptr) fail(rp / "allowedAccess", "missing required field");
    r.allowed = parse_rights(*access, rp / "allowedAccess", landlock::kFsRights, "access right");
    const json* paths = member(v[i], "paths");
    if (paths == nullptr) fail(rp / "paths", "missing required field");
    r.paths = as_strings(*paths, rp / "paths");
    for (std::size_t j = 0; j < r.paths.size(); ++j)
      check_path(r.paths[j], (rp / "paths")[j]);
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<LandlockPortRule> parse_port_rules(const json& v, const Path& p) {
  if (!v.is_array()) fail(p, "expected array");
  std::vector<LandlockPortRule> out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    Path rp = p[i];
    expect_object(v[i], rp);
    LandlockPortRule r;
    const json* access = member(v[i], "allowedAccess");
    if (access == nullptr) fail(rp / "allowedAccess", "missing required field");
    r.allowed = parse_rights(*access, rp / "allowedAccess", landlock::kNetRights, "network right");
    const json* ports = member(v[i], "ports");
    if (ports == nullptr) fail(rp / "ports", "missing required field");
    if (!ports->is_array()) fail(rp / "ports", "expected array");
    for (std::size_t j = 0; j < ports->size(); ++j) {
      std::uint64_t port = as_u64((*ports)[j], (rp / "ports")[j]);
      if (port > 65535) fail((rp / "ports")[j], "out of range: a port is 0..65535");
      r.ports.push_back(static_cast<std::uint16_t>(port));
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

Landlock parse_landlock(const json& v, const Path& p) {
  expect_object(v, p);
  Landlock ll;
  if (const json* rs = member(v, "ruleset")) {
    Path rp = p / "ruleset";
    expect_object(*rs, rp);
    if (const json* fs = member(*rs, "handledAccessFS")) {
      ll.handled_fs =
          parse_rights(*fs, rp / "handledAccessFS", landlock::kFsRights, "access right");
    }
    if (const json* net = member(*rs, "handledAccessNetwork")) {
      ll.handled_net =
          parse_rights(*net, rp / "handledAccessNetwork", landlock::kNetRights, "network right");
    }
    if (const json* sc = member(*rs, "scoped")) {
      ll.scoped = parse_rights(*sc, rp / "scoped", landlock::kScopes, "scope");
    }
  }
  if (const json* rules = member(v, "rules")) {
    Path rp = p / "rules";
    expect_object(*rules, rp);
    if (const json* pb = member(*rules, "pathBeneath")) {
      ll.path_beneath = parse_path_rules(*pb, rp / "pathBeneath");
      for (std::size_t i = 0; i < ll.path_beneath.size(); ++i) {
        check_within(ll.path_beneath[i].allowed, ll.handled_fs, landlock::kFsRights,
                     (rp / "pathBeneath")[i] / "allowedAccess", "handledAccessFS");
      }
    }
    if (const json* np = member(*rules, "netPort")) {
      ll.net_port = parse_port_rules(*np, rp / "netPort");
      for (std::size_t i = 0; i < ll.net_port.size(); ++i) {
        check_within(ll.net_port[i].allowed, ll.handled_net, landlock::kNetRights,
                     (rp / "netPort")[i] / "allowedAccess", "handledAccessNetwork");
      }
    }
  }
  ll.disable_best_effort = opt_bool(v, "disableBestEffort", p).value_or(false);
  return ll;
}

}  // namespace nyx
