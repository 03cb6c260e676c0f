#include <algorithm>
#include <set>
#include <sstream>

#include "tests/escape/matrix.hpp"

namespace nyx::escape {

namespace {

struct Mark {
  std::string ablation;
  std::vector<std::string> primitives;  // entries of hardening.primitives marked "ablated"
  std::string ns;                       // entry of namespaces.ablatedTypes, if any
};

const std::vector<Mark>& marks() {
  static const std::vector<Mark> m = {
      {"userns", {"namespaces"}, "user"},
      {"pidns", {"namespaces"}, "pid"},
      {"mntns", {"namespaces", "mounts"}, "mount"},
      {"ipcns", {"namespaces"}, "ipc"},
      {"utsns", {"namespaces"}, "uts"},
      {"netns", {"namespaces"}, "network"},
      {"cgroupns", {"namespaces"}, "cgroup"},
      {"root", {"root"}, ""},
      {"no_new_privs", {"no_new_privs"}, ""},
      {"rlimits", {"rlimit_cpu", "rlimit_nofile", "rlimit_as"}, ""},
      {"capabilities", {"capabilities"}, ""},
      {"apparmor", {"apparmor"}, ""},
      {"landlock", {"landlock"}, ""},
      {"seccomp", {"seccomp"}, ""},
      {"seccomp-socket", {"seccomp"}, ""},
      {"seccomp-setuid", {"seccomp"}, ""},
      {"mounts", {"mounts"}, ""},
      {"cgroups", {"cgroups"}, ""},
      {"session", {"session"}, ""},
      {"keyring", {"keyring"}, ""},
  };
  return m;
}

// The record names an ablation by the primitive's record name; cells may use the older
// spellings, which the runtime still accepts.
std::string canonical(const std::string& name) {
  if (name == "chroot") return "root";
  if (name == "nnp") return "no_new_privs";
  if (name == "caps") return "capabilities";
  return name;
}

std::set<std::string> split(const std::string& list) {
  std::set<std::string> out;
  std::stringstream ss(list);
  for (std::string item; std::getline(ss, item, ',');) {
    if (!item.empty()) out.insert(canonical(item));
  }
  return out;
}

std::string check_mark(const json& prims, const Mark& m) {
  for (const auto& p : m.primitives) {
    if (!prims.contains(p) || prims[p].value("ablated", false) != true) {
      return p + " not marked ablated for " + m.ablation;
    }
  }
  if (m.ns.empty()) return "";
  const json& types = prims["namespaces"].value("ablatedTypes", json::array());
  if (std::find(types.begin(), types.end(), m.ns) == types.end()) {
    return "namespaces.ablatedTypes lacks " + m.ns;
  }
  return "";
}

std::string check_hardened(const json& h, const Cell& cell) {
  for (const auto& [name, p] : h["primitives"].items()) {
    if (p.value("ablated", false)) return name + " marked ablated without --ablate";
  }
  if (cell.require_full && h.value("level", "") != "full") {
    return "level " + h.value("level", "?") + ", not full";
  }
  return "";
}

}  // namespace

std::string check_state(const json& state, const Cell& cell) {
  if (!state.is_object() || !state.contains("hardening")) return "no state recorded";
  const json& h = state["hardening"];
  std::set<std::string> want = split(cell.ablate);
  std::set<std::string> got;
  for (const auto& a : h.value("ablation", json::array()))
    got.insert(a.get<std::string>());
  if (got != want) return "hardening.ablation is " + h.value("ablation", json()).dump();
  if (want.empty()) return check_hardened(h, cell);
  for (const auto& m : marks()) {
    if (!want.count(m.ablation)) continue;
    if (std::string err = check_mark(h["primitives"], m); !err.empty()) return err;
  }
  return "";
}

}  // namespace nyx::escape
