#include "runtime/signals.hpp"

#include <signal.h>
#include <string.h>

#include <charconv>
#include <string>

#include "base/error.hpp"

namespace nyx {

namespace {

bool to_int(std::string_view s, int& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

int parse_signal(std::string_view text) {
  std::string upper;
  for (char c : text)
    upper += static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
  std::string_view name = upper;
  if (name.rfind("SIG", 0) == 0) name.remove_prefix(3);
  int n = 0;
  if (to_int(name, n) && n >= 0 && n < NSIG) return n;  // 0: only asks whether it lives
  for (int sig = 1; sig < SIGRTMIN; ++sig) {
    const char* abbrev = sigabbrev_np(sig);
    if (abbrev != nullptr && name == abbrev) return sig;
  }
  for (std::string_view base : {"RTMIN", "RTMAX"}) {
    if (name.rfind(base, 0) != 0) continue;
    std::string_view rest = name.substr(base.size());
    int offset = 0;
    if (!rest.empty() && !((rest[0] == '+' || rest[0] == '-') && to_int(rest.substr(1), offset))) {
      break;
    }
    if (!rest.empty() && rest[0] == '-') offset = -offset;
    int sig = (base == "RTMIN" ? SIGRTMIN : SIGRTMAX) + offset;
    if (sig >= SIGRTMIN && sig <= SIGRTMAX) return sig;
  }
  throw Error("signal \"" + std::string(text) + "\"", "unknown signal");
}

}  // namespace nyx
