// The systemd cgroup driver (--systemd-cgroup, --cgroup-manager systemd): the container's cgroup
// is a transient scope unit, started over D-Bus with the init in it and the resources as unit
// properties. The D-Bus conversation (sd-bus, libsystemd) runs in a helper, nyx-systemd, beside
// the runtime binary: Debian ships libsystemd only as a shared library, and the runtime is a
// static binary (docs/engines.md, "systemd").
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "bundle/config.hpp"

namespace nyx {

// runc's cgroupsPath for systemd: "slice:prefix:name" -> the unit "prefix-name.scope" in
// `slice`, whose cgroup is the slice's path ("machine-pod.slice" -> "/machine.slice/
// machine-pod.slice") plus the unit. Empty: "system.slice:nyx-runtime:ID".
struct SystemdPath {
  std::string slice;
  std::string unit;
  std::string cgroup;  // where systemd puts it on a system manager
};
// Throws Error("linux.cgroupsPath", ...) for a path that is not of that form.
SystemdPath parse_systemd_path(const std::string& cgroups_path, const std::string& id);
// "-.slice" -> "", "a-b.slice" -> "/a.slice/a-b.slice"; nullopt-like "" with ok=false.
bool expand_slice(const std::string& slice, std::string& out);
bool valid_unit_name(const std::string& unit);

// The unit's properties for `res` ("t:MemoryMax=67108864", "b:Delegate=true", ...): the
// helper's arguments.
std::vector<std::string> systemd_properties(const Resources& res);

// 0 or an errno; `message` gets the helper's explanation.
int start_systemd_scope(const std::string& unit, const std::string& slice, pid_t pid,
                        const Resources& res, std::string* message = nullptr);
int set_systemd_properties(const std::string& unit, const Resources& res);
void stop_systemd_unit(const std::string& unit);
// The helper's path (beside /proc/self/exe, or ../libexec/nyx-runtime/); "" when absent.
std::string systemd_helper();

}  // namespace nyx
