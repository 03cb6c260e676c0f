#include "runtime/record_view.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "runtime/primitives.hpp"

namespace nyx {

namespace {

using nlohmann::json;

constexpr const char* kReset = "\033[0m";
constexpr const char* kBold = "\033[1m";
constexpr const char* kDim = "\033[2m";
constexpr const char* kRed = "\033[31m";
constexpr const char* kGreen = "\033[32m";
constexpr const char* kYellow = "\033[33m";

std::string scalar(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "-";
  return v.dump();
}

// One field as "key=value": lists of a few names are spelled out, longer ones counted.
std::string field(const std::string& key, const json& v) {
  if (v.is_array()) {
    if (v.empty()) return "";
    bool names = std::all_of(v.begin(), v.end(), [](const json& e) { return e.is_string(); });
    bool objects = std::all_of(v.begin(), v.end(), [](const json& e) { return e.is_object(); });
    if ((!names && !objects) || v.size() > 8) return key + "=[" + std::to_string(v.size()) + "]";
    std::string out;
    for (const auto& e : v) {
      std::string item;
      if (objects) {  // {"type": "user", "error": "ENOSPC"} -> user:ENOSPC
        for (const char* k : {"type", "file", "name", "error"}) {
          if (e.contains(k) && e[k].is_string())
            item += (item.empty() ? "" : ":") + e[k].get<std::string>();
        }
      } else {
        item = e.get<std::string>();
      }
      out += (out.empty() ? "" : ",") + item;
    }
    return key + "=" + out;
  }
  if (v.is_object()) return key + "={" + std::to_string(v.size()) + "}";
  if (v.is_boolean() && v.get<bool>() && key == "ablated") return "ablated";
  return key + "=" + scalar(v);
}

std::string details(const json& entry) {
  std::string out;
  if (entry.value("status", "") == "failed") out = entry.value("error", "E?");
  for (const auto& [k, v] : entry.items()) {
    if (k == "status" || k == "errno" || k == "error" || k == "cause") continue;
    std::string f = field(k, v);
    if (!f.empty()) out += (out.empty() ? "" : " ") + f;
  }
  return out;
}

std::string pad(const std::string& s, std::size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' ');
}

std::string paint(const std::string& s, const char* color, bool on) {
  return on ? std::string(color) + s + kReset : s;
}

const char* status_color(const std::string& status) {
  if (status == "applied") return kGreen;
  if (status == "failed") return kRed;
  return kDim;
}

const char* level_color(const std::string& level) {
  if (level == "full" || level == "baseline") return kGreen;
  if (level == "partial") return kYellow;
  return kRed;
}

}  // namespace

bool want_color() {
  const char* term = std::getenv("TERM");
  return ::isatty(1) == 1 && std::getenv("NO_COLOR") == nullptr &&
         (term == nullptr || std::strcmp(term, "dumb") != 0);
}

std::string record_table(const json& state, bool color) {
  const json& h = state.value("hardening", json::object());
  std::string level = h.value("level", "?");
  std::string out = paint("container " + state.value("id", "?"), kBold, color) + "  status " +
                    state.value("status", "?") + "  level " +
                    paint(level, level_color(level), color) + "  mode " + h.value("mode", "?");
  const json& ab = h.value("ablation", json::array());
  if (!ab.empty()) out += "  ablated " + field("", ab).substr(1);
  out += "\n";
  const json& prims = h.value("primitives", json::object());
  std::size_t w = 10;
  for (const auto& [name, e] : prims.items())
    w = std::max(w, name.size() + 2);
  out += paint(pad("PRIMITIVE", w) + pad("STATUS", 9) + "DETAIL", kBold, color) + "\n";
  // In the order of the hardening sequence, then anything the table does not know.
  std::vector<std::string> order;
  for (const PrimitiveInfo& info : kPrimitives) {
    if (prims.contains(std::string(info.name))) order.emplace_back(info.name);
  }
  for (const auto& [name, e] : prims.items()) {
    if (std::find(order.begin(), order.end(), name) == order.end()) order.push_back(name);
  }
  for (const std::string& name : order) {
    const json& e = prims[name];
    std::string status = e.value("status", "?");
    out += pad(name, w) + paint(pad(status, 9), status_color(status), color) + details(e) + "\n";
    if (e.contains("cause") && e["cause"].is_object()) {
      out +=
          std::string(w + 9, ' ') +
          paint("cause " + e["cause"].value("code", "?") + ": " + e["cause"].value("message", ""),
                kRed, color) +
          "\n";
    }
  }
  if (h.contains("digests") && h["digests"].is_object()) {
    for (const auto& [name, d] : h["digests"].items())
      out += pad("sha256", w) + pad(name, 9) + scalar(d).substr(scalar(d).find(':') + 1) + "\n";
  }
  if (state.contains("exit") && state["exit"].is_object()) {
    const json& x = state["exit"];
    out += "exit code " + scalar(x.value("code", json())) +
           (x.value("signal", json()).is_null() ? "" : " signal " + scalar(x["signal"])) +
           (x.value("timedOut", false) ? " (timed out)" : "") + "\n";
  }
  return out;
}

}  // namespace nyx
