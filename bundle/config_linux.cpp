// config.json: the linux section (namespaces, id mappings, paths, sysctl, devices).
#include <set>

#include "base/error.hpp"
#include "bundle/config_sections.hpp"

namespace nyx {

using namespace json_reader;

namespace {

std::vector<Namespace> parse_namespaces(const json& v, const Path& p) {
  if (!v.is_array()) fail(p, "expected array");
  std::vector<Namespace> out;
  std::set<NsType> seen;
  for (std::size_t i = 0; i < v.size(); ++i) {
    Path np = p[i];
    expect_object(v[i], np);
    auto type = opt_string(v[i], "type", np);
    if (!type) fail(np / "type", "missing required field");
    auto parsed = ns_type_from_name(*type);
    if (!parsed) fail(np / "type", "unknown namespace type \"" + *type + "\"");
    if (*parsed == NsType::Time) {
      fail(np / "type", "time namespaces are not supported by nyx-runtime");
    }
    if (!seen.insert(*parsed).second) fail(np / "type", "duplicate namespace \"" + *type + "\"");
    Namespace ns{*parsed, opt_string(v[i], "path", np).value_or("")};
    if (!ns.path.empty() && ns.path[0] != '/') {
      fail(np / "path", "must be an absolute path, got \"" + ns.path + "\"");
    }
    out.push_back(std::move(ns));
  }
  return out;
}

std::vector<std::string> parse_abs_paths(const json& obj, std::string_view key, const Path& p) {
  auto paths = opt_strings(obj, key, p);
  for (std::size_t i = 0; i < paths.size(); ++i) {
    if (paths[i].empty() || paths[i][0] != '/') {
      fail((p / key)[i], "must be an absolute path, got \"" + paths[i] + "\"");
    }
  }
  return paths;
}

}  // namespace

// Which namespace makes a sysctl safe to set for one container only (runc's rule).
std::optional<NsType> sysctl_namespace(std::string_view key) {
  if (key.rfind("net.", 0) == 0) return NsType::Network;
  if (key.rfind("fs.mqueue.", 0) == 0 || key.rfind("kernel.shm", 0) == 0 ||
      key.rfind("kernel.msg", 0) == 0 || key == "kernel.sem") {
    return NsType::Ipc;
  }
  if (key == "kernel.hostname" || key == "kernel.domainname") return NsType::Uts;
  return std::nullopt;
}

namespace {

std::map<std::string, std::string> parse_sysctl(const json& v, const Path& p,
                                                const std::vector<Namespace>& namespaces) {
  expect_object(v, p);
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : v.items()) {
    Path kp = p / key;
    bool bad_name = key.empty() || key.find("..") != std::string::npos || key[0] == '.' ||
                    key[0] == '/' || key.find('\0') != std::string::npos;
    if (bad_name) fail(kp, "invalid sysctl name");
    if (key == "kernel.hostname" || key == "kernel.domainname") {
      fail(kp, "sysctl \"" + key + "\" is not allowed: it conflicts with the OCI \"" +
                   key.substr(7) + "\" field");
    }
    auto ns = sysctl_namespace(key);
    if (!ns) fail(kp, "sysctl is not namespaced; setting it would change the host");
    bool have = false;
    for (const auto& n : namespaces) {
      if (n.type == *ns && n.path.empty()) have = true;
    }
    if (!have) {
      fail(kp, std::string("sysctl needs a new ") + std::string(ns_type_name(*ns)) +
                   " namespace in linux.namespaces");
    }
    out.emplace(key, as_string(value, kp));
  }
  return out;
}

std::vector<Device> parse_devices(const json& v, const Path& p) {
  if (!v.is_array()) fail(p, "expected array");
  std::vector<Device> out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    Path dp = p[i];
    expect_object(v[i], dp);
    Device d;
    auto path = opt_string(v[i], "path", dp);
    if (!path || path->empty()) fail(dp / "path", "missing required field");
    if ((*path)[0] != '/' || path->find("..") != std::string::npos) {
      fail(dp / "path", "must be an absolute path without \"..\", got \"" + *path + "\"");
    }
    d.path = *path;
    auto type = opt_string(v[i], "type", dp);
    if (!type) fail(dp / "type", "missing required field");
    if (type->size() != 1 || std::string_view("cbup").find((*type)[0]) == std::string::npos) {
      fail(dp / "type", "unknown device type \"" + *type + "\" (expected c, b, u or p)");
    }
    d.type = (*type)[0];
    if (d.type != 'p') {
      auto major = opt_i64(v[i], "major", dp);
      auto minor = opt_i64(v[i], "minor", dp);
      if (!major) fail(dp / "major", "missing required field");
      if (!minor) fail(dp / "minor", "missing required field");
      if (*major < 0 || *major > 0xfff) fail(dp / "major", "out of range");
      if (*minor < 0 || *minor > 0xfffff) fail(dp / "minor", "out of range");
      d.major = *major;
      d.minor = *minor;
    }
    d.file_mode = opt_u32(v[i], "fileMode", dp);
    // podman (--privileged, --device) passes the host's whole st_mode, file type bits included,
    // as runc accepts: only the permission bits are used, the type comes from "type".
    if (d.file_mode && *d.file_mode > 0177777) fail(dp / "fileMode", "out of range");
    d.uid = opt_u32(v[i], "uid", dp);
    d.gid = opt_u32(v[i], "gid", dp);
    out.push_back(std::move(d));
  }
  return out;
}

void check_user_namespace(const Linux& lx, const Path& p) {
  const Namespace* user = lx.find_namespace(NsType::User);
  bool has_maps = !lx.uid_mappings.empty() || !lx.gid_mappings.empty();
  if (user == nullptr && has_maps) {
    fail(p / "uidMappings", "id mappings need a user namespace in linux.namespaces");
  }
  if (user != nullptr && user->path.empty()) {
    if (lx.uid_mappings.empty()) fail(p / "uidMappings", "a new user namespace needs uid mappings");
    if (lx.gid_mappings.empty()) fail(p / "gidMappings", "a new user namespace needs gid mappings");
  }
  if (user != nullptr && !user->path.empty() && has_maps) {
    fail(p / "uidMappings", "id mappings cannot be given when joining a user namespace by path");
  }
}

}  // namespace

Linux parse_linux(const json& v, const Path& p) {
  expect_object(v, p);
  Linux lx;
  refuse_unsupported(v, {"timeOffsets", "intelRdt", "memoryPolicy", "netDevices"}, p);
  if (const json* per = member(v, "personality")) {
    Path pp = p / "personality";
    expect_object(*per, pp);
    auto domain = opt_string(*per, "domain", pp);
    if (!domain) fail(pp / "domain", "missing required field");
    if (*domain != "LINUX" && *domain != "LINUX32") {
      fail(pp / "domain", "unknown execution domain \"" + *domain + "\" (LINUX or LINUX32)");
    }
    // The runtime spec defines no flags yet: one given would be dropped.
    if (!opt_strings(*per, "flags", pp).empty()) fail(pp / "flags", "no flags are supported");
    lx.personality = *domain == "LINUX32" ? 0x0008UL : 0x0000UL;
  }
  if (const json* n = member(v, "namespaces"))
    lx.namespaces = parse_namespaces(*n, p / "namespaces");
  if (const json* m = member(v, "uidMappings"))
    lx.uid_mappings = parse_mappings(*m, p / "uidMappings");
  if (const json* m = member(v, "gidMappings"))
    lx.gid_mappings = parse_mappings(*m, p / "gidMappings");
  check_user_namespace(lx, p);
  if (const json* s = member(v, "sysctl"))
    lx.sysctl = parse_sysctl(*s, p / "sysctl", lx.namespaces);
  lx.masked_paths = parse_abs_paths(v, "maskedPaths", p);
  lx.readonly_paths = parse_abs_paths(v, "readonlyPaths", p);
  if (const json* s = member(v, "seccomp")) lx.seccomp = parse_seccomp(*s, p / "seccomp");
  if (const json* d = member(v, "devices")) lx.devices = parse_devices(*d, p / "devices");
  if (const json* r = member(v, "resources")) lx.resources = parse_resources(*r, p / "resources");
  lx.cgroups_path = opt_string(v, "cgroupsPath", p).value_or("");
  if (lx.cgroups_path.find("..") != std::string::npos) {
    fail(p / "cgroupsPath", "must not contain \"..\"");
  }
  lx.rootfs_propagation = opt_string(v, "rootfsPropagation", p).value_or("");
  static const std::set<std::string> kPropagations = {"",        "private",    "rprivate",
                                                      "slave",   "rslave",     "shared",
                                                      "rshared", "unbindable", "runbindable"};
  if (kPropagations.count(lx.rootfs_propagation) == 0) {
    fail(p / "rootfsPropagation", "unknown propagation \"" + lx.rootfs_propagation + "\"");
  }
  lx.mount_label = opt_string(v, "mountLabel", p).value_or("");
  return lx;
}

std::vector<IdMapping> parse_mappings(const json& v, const Path& p) {
  if (!v.is_array()) fail(p, "expected array");
  std::vector<IdMapping> out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    Path mp = p[i];
    expect_object(v[i], mp);
    auto container = opt_u32(v[i], "containerID", mp);
    auto host = opt_u32(v[i], "hostID", mp);
    auto size = opt_u32(v[i], "size", mp);
    if (!container) fail(mp / "containerID", "missing required field");
    if (!host) fail(mp / "hostID", "missing required field");
    if (!size) fail(mp / "size", "missing required field");
    if (*size == 0) fail(mp / "size", "must be greater than zero");
    if (std::uint64_t{*container} + *size > UINT32_MAX ||
        std::uint64_t{*host} + *size > UINT32_MAX) {
      fail(mp / "size", "out of range: the mapping runs past 4294967295");
    }
    out.push_back(IdMapping{*container, *host, *size});
  }
  if (out.size() > 340) fail(p, "more than 340 mappings (the kernel's limit)");
  return out;
}

}  // namespace nyx
