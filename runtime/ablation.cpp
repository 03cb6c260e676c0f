#include "runtime/ablation.hpp"

#include <algorithm>

#include "base/error.hpp"
#include "runtime/primitive_ops.hpp"

namespace nyx {

namespace {

struct Known {
  std::vector<std::string_view> names;
  std::vector<std::pair<std::string_view, std::string_view>> aliases;  // old -> canonical
};

const Known& known() {
  static const Known k = [] {
    Known out;
    auto add = [&](std::string_view n) {
      if (!n.empty() && std::find(out.names.begin(), out.names.end(), n) == out.names.end())
        out.names.push_back(n);
    };
    for (const PrimitiveInfo& info : kPrimitives) {
      add(info.group);
      add(info.name);
      for (std::string_view finer : info.ops->finer_ablations)
        add(finer);
      if (!info.alias.empty()) out.aliases.emplace_back(info.alias, info.name);
    }
    return out;
  }();
  return k;
}

int index_of(std::string_view name) {
  const auto& names = known().names;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<int>(i);
  }
  return -1;
}

std::string known_list() {
  std::string out;
  for (auto n : known().names)
    out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

}  // namespace

const std::vector<std::string_view>& ablation_names() {
  return known().names;
}

Ablation Ablation::parse(std::string_view list) {
  Ablation a;
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t end = list.find(',', start);
    if (end == std::string_view::npos) end = list.size();
    std::string_view item = list.substr(start, end - start);
    start = end + 1;
    if (item.empty()) continue;
    for (const auto& [old, canonical] : known().aliases) {
      if (item == old) item = canonical;
    }
    int i = index_of(item);
    if (i < 0) {
      throw Error("--ablate",
                  "unknown primitive \"" + std::string(item) + "\" (known: " + known_list() + ")");
    }
    a.mask_ |= std::uint64_t{1} << i;
  }
  return a;
}

Ablation Ablation::from_names(const std::vector<std::string>& names) {
  std::string joined;
  for (const auto& n : names)
    joined += n + ",";
  return parse(joined);
}

bool Ablation::has(std::string_view name) const {
  int i = index_of(name);
  return i >= 0 && (mask_ & (std::uint64_t{1} << i)) != 0;
}

bool Ablation::primitive(Prim p) const {
  const PrimitiveInfo& info = nyx::primitive(p);
  return has(info.name) || (!info.group.empty() && has(info.group));
}

std::vector<std::string> Ablation::names() const {
  std::vector<std::string> out;
  const auto& names = known().names;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if ((mask_ & (std::uint64_t{1} << i)) != 0) out.emplace_back(names[i]);
  }
  return out;
}

}  // namespace nyx
