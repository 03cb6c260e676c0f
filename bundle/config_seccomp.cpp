// config.json: linux.seccomp. Names are checked here; syscall names are resolved (and unknown
// ones reported) when the filter is compiled, because libseccomp knows which exist.
#include <seccomp.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "base/error.hpp"
#include "bundle/config_sections.hpp"

namespace nyx {

using namespace json_reader;

namespace {

constexpr std::array<std::string_view, 9> kActions = {
    "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",  "SCMP_ACT_ERRNO",        "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW", "SCMP_ACT_LOG",          "SCMP_ACT_NOTIFY"};

constexpr std::array<std::string_view, 7> kOps = {"SCMP_CMP_NE",       "SCMP_CMP_LT", "SCMP_CMP_LE",
                                                  "SCMP_CMP_EQ",       "SCMP_CMP_GE", "SCMP_CMP_GT",
                                                  "SCMP_CMP_MASKED_EQ"};

constexpr std::array<std::string_view, 4> kFlags = {
    "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};

template <std::size_t N>
bool known(const std::array<std::string_view, N>& table, std::string_view name) {
  return std::find(table.begin(), table.end(), name) != table.end();
}

std::string check_action(const json& obj, std::string_view key, const Path& p, bool required) {
  auto action = opt_string(obj, key, p);
  if (!action) {
    if (required) fail(p / key, "missing required field");
    return "";
  }
  if (!known(kActions, *action)) fail(p / key, "unknown seccomp action \"" + *action + "\"");
  return *action;
}

void check_arch(const std::string& name, const Path& p) {
  // Config names are SCMP_ARCH_X86_64; libseccomp resolves "x86_64".
  std::string lower;
  if (name.rfind("SCMP_ARCH_", 0) == 0) {
    for (char c : name.substr(10))
      lower += static_cast<char>(std::tolower(c));
  }
  if (lower.empty() || seccomp_arch_resolve_name(lower.c_str()) == 0) {
    fail(p, "unknown architecture \"" + name + "\"");
  }
}

SeccompArg parse_arg(const json& v, const Path& p) {
  expect_object(v, p);
  SeccompArg arg;
  auto index = opt_u32(v, "index", p);
  if (!index) fail(p / "index", "missing required field");
  if (*index > 5) fail(p / "index", "out of range: a syscall has arguments 0 to 5");
  arg.index = *index;
  auto value = opt_u64(v, "value", p);
  if (!value) fail(p / "value", "missing required field");
  arg.value = *value;
  arg.value_two = opt_u64(v, "valueTwo", p).value_or(0);
  auto op = opt_string(v, "op", p);
  if (!op) fail(p / "op", "missing required field");
  if (!known(kOps, *op)) fail(p / "op", "unknown comparison operator \"" + *op + "\"");
  arg.op = *op;
  return arg;
}

SeccompRule parse_rule(const json& v, const Path& p) {
  expect_object(v, p);
  SeccompRule rule;
  const json* names = member(v, "names");
  if (names == nullptr) fail(p / "names", "missing required field");
  rule.names = as_strings(*names, p / "names");
  if (rule.names.empty()) fail(p / "names", "must not be empty");
  rule.action = check_action(v, "action", p, true);
  rule.errno_ret = opt_u32(v, "errnoRet", p);
  if (rule.errno_ret && rule.action != "SCMP_ACT_ERRNO" && rule.action != "SCMP_ACT_TRACE") {
    fail(p / "errnoRet", "only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE");
  }
  if (rule.errno_ret && *rule.errno_ret > 0xffff) fail(p / "errnoRet", "out of range");
  if (const json* args = member(v, "args")) {
    Path ap = p / "args";
    if (!args->is_array()) fail(ap, "expected array");
    for (std::size_t i = 0; i < args->size(); ++i)
      rule.args.push_back(parse_arg((*args)[i], ap[i]));
  }
  return rule;
}

// SCMP_ACT_NOTIFY hands the calls to an agent at listenerPath, which gets the listener fd
// when the container is created. The init writes after the filter is loaded (its report), so a
// notified write would wait for an agent that has no fd yet (runc refuses it too).
void check_notify(Seccomp& sc, const Path& p) {
  if (sc.default_action == "SCMP_ACT_NOTIFY") {
    fail(p / "defaultAction", "SCMP_ACT_NOTIFY cannot be the default action");
  }
  for (std::size_t i = 0; i < sc.syscalls.size(); ++i) {
    const SeccompRule& r = sc.syscalls[i];
    if (r.action != "SCMP_ACT_NOTIFY") continue;
    sc.notify = true;
    for (const auto& name : r.names) {
      if (name == "write") {
        fail((p / "syscalls")[i] / "names", "SCMP_ACT_NOTIFY cannot be used for the write syscall");
      }
    }
  }
  if (sc.notify && sc.listener_path.empty()) {
    fail(p / "listenerPath", "SCMP_ACT_NOTIFY needs a listener path");
  }
}

}  // namespace

Seccomp parse_seccomp(const json& v, const Path& p) {
  expect_object(v, p);
  Seccomp sc;
  sc.default_action = check_action(v, "defaultAction", p, true);
  sc.default_errno_ret = opt_u32(v, "defaultErrnoRet", p);
  if (sc.default_errno_ret && *sc.default_errno_ret > 0xffff) {
    fail(p / "defaultErrnoRet", "out of range");
  }
  sc.architectures = opt_strings(v, "architectures", p);
  for (std::size_t i = 0; i < sc.architectures.size(); ++i) {
    check_arch(sc.architectures[i], (p / "architectures")[i]);
  }
  sc.flags = opt_strings(v, "flags", p);
  for (std::size_t i = 0; i < sc.flags.size(); ++i) {
    if (!known(kFlags, sc.flags[i])) {
      fail((p / "flags")[i], "unknown seccomp flag \"" + sc.flags[i] + "\"");
    }
  }
  sc.listener_path = opt_string(v, "listenerPath", p).value_or("");
  sc.listener_metadata = opt_string(v, "listenerMetadata", p).value_or("");
  if (const json* rules = member(v, "syscalls")) {
    Path rp = p / "syscalls";
    if (!rules->is_array()) fail(rp, "expected array");
    for (std::size_t i = 0; i < rules->size(); ++i) {
      sc.syscalls.push_back(parse_rule((*rules)[i], rp[i]));
    }
  }
  check_notify(sc, p);
  return sc;
}

}  // namespace nyx
