// `doctor`: per primitive of a config, "will apply" or "will fail" with the cause this host
// would give (runtime/causes.hpp), before a run.
#pragma once

#include <string>

namespace nyx {

// `bundle` empty: the strict profile's config. `format`: "table" or "json". `enforce` (or the
// config's annotation org.nyx.hardening.mode=enforce): what would be skipped in best-effort
// mode and refused under --enforce (an AppArmor profile on a host without AppArmor) will fail.
// Exit status 0 when nothing will fail, 2 otherwise.
int cmd_doctor(const std::string& bundle, const std::string& format, bool enforce = false);

}  // namespace nyx
