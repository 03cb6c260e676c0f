// apparmor: what the parent half decides from the host, apart from the plan, so that the unit
// tests can ask it about hosts this machine is not (AppArmor enabled, a profile loaded or not)
// through a fake HostView.
#pragma once

#include <optional>
#include <string>

#include "runtime/causes.hpp"

namespace nyx {

enum class AppArmorAction {
  Write,    // the child writes "exec PROFILE": the kernel judges the profile
  Skip,     // the host has no AppArmor: nothing to apply (failed under --enforce)
  Missing,  // the profile is not loaded: failed with ENOENT, no write
};

struct AppArmorDecision {
  AppArmorAction action = AppArmorAction::Write;
  std::optional<Cause> cause;  // why it is skipped or missing
};

// AppArmor is enabled on the host (its module parameter says "Y"): `features` says so, and a
// profile is worth asking for.
bool host_has_apparmor(const HostView& host);

// What to do for process.apparmorProfile `profile` on `host`.
AppArmorDecision decide_apparmor(const std::string& profile, const HostView& host);

}  // namespace nyx
