#include "runtime/ablation.hpp"

#include <array>

#include "runtime/error.hpp"

namespace nyx {

namespace {

struct AblationName {
  std::string_view name;
  Ablate flag;
};

constexpr std::array<AblationName, 16> kNames = {{
    {"userns", Ablate::UserNs},
    {"pidns", Ablate::PidNs},
    {"mntns", Ablate::MntNs},
    {"ipcns", Ablate::IpcNs},
    {"utsns", Ablate::UtsNs},
    {"netns", Ablate::NetNs},
    {"cgroupns", Ablate::CgroupNs},
    {"chroot", Ablate::Chroot},
    {"nnp", Ablate::Nnp},
    {"rlimits", Ablate::Rlimits},
    {"caps", Ablate::Caps},
    {"seccomp", Ablate::Seccomp},
    {"seccomp-socket", Ablate::SeccompSocket},
    {"seccomp-setuid", Ablate::SeccompSetuid},
    {"mounts", Ablate::Mounts},
    {"cgroups", Ablate::Cgroups},
}};

std::string known_list() {
  std::string out;
  for (const auto& n : kNames) {
    if (!out.empty()) out += ", ";
    out += n.name;
  }
  return out;
}

}  // namespace

Ablation Ablation::parse(std::string_view list) {
  Ablation a;
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t end = list.find(',', start);
    if (end == std::string_view::npos) end = list.size();
    std::string_view item = list.substr(start, end - start);
    start = end + 1;
    if (item.empty()) continue;
    bool found = false;
    for (const auto& n : kNames) {
      if (n.name == item) {
        a.mask_ |= static_cast<std::uint32_t>(n.flag);
        found = true;
      }
    }
    if (!found) {
      throw Error("--ablate",
                  "unknown primitive \"" + std::string(item) + "\" (known: " + known_list() + ")");
    }
  }
  return a;
}

Ablation Ablation::from_names(const std::vector<std::string>& names) {
  std::string joined;
  for (const auto& n : names)
    joined += n + ",";
  return parse(joined);
}

bool Ablation::namespace_ablated(NsType type) const {
  switch (type) {
    case NsType::User:
      return has(Ablate::UserNs);
    case NsType::Pid:
      return has(Ablate::PidNs);
    case NsType::Mount:
      return has(Ablate::MntNs);
    case NsType::Ipc:
      return has(Ablate::IpcNs);
    case NsType::Uts:
      return has(Ablate::UtsNs);
    case NsType::Network:
      return has(Ablate::NetNs);
    case NsType::Cgroup:
      return has(Ablate::CgroupNs);
    case NsType::Time:
      break;
  }
  return false;
}

std::vector<std::string> Ablation::names() const {
  std::vector<std::string> out;
  for (const auto& n : kNames) {
    if (has(n.flag)) out.emplace_back(n.name);
  }
  return out;
}

}  // namespace nyx
