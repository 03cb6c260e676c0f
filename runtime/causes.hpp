// Named causes (issue 19): why a primitive failed, diagnosed from the host when it fails. One
// module for the record (merge_outcome's Diagnose), for error messages (a primitive, an errno
// and its context), and for `doctor`, which asks the same questions before a run.
//
// Codes are stable (docs/state.md lists them); messages are one sentence for a person.
#pragma once

#include <sys/resource.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/outcome.hpp"

namespace nyx {

// What the diagnosis reads from the host. The real one reads /proc and /sys and asks the
// kernel; tests give a fake to reach hosts this machine is not (AppArmor, Debian's sysctl).
class HostView {
 public:
  virtual ~HostView() = default;
  // A file's contents without the trailing newline; nullopt when it cannot be read.
  virtual std::optional<std::string> read(const std::string& path) const = 0;
  // The runtime's effective capability `cap`.
  virtual bool has_cap(int cap) const = 0;
  // The runtime's bounding set.
  virtual std::uint64_t bounding_set() const = 0;
  // The runtime runs in the initial user namespace (not in a container's).
  virtual bool initial_userns() const = 0;
  // The Landlock ABI (>= 1) or -errno (ENOSYS: not built in, EOPNOTSUPP: not enabled).
  virtual int landlock_abi() const = 0;
  // The file system holding `path` is mounted read-only.
  virtual bool readonly(const std::string& path) const = 0;
  // The runtime's own limit of `resource`.
  virtual std::optional<struct rlimit> rlimit_of(int resource) const = 0;
};

const HostView& real_host();

// The cause of one failure; one that no known host condition explains gets the code
// "unexplained" and the errno's text.
Cause diagnose(const Failure& f, const HostView& host = real_host());

// For error messages: the same diagnosis from a primitive, an errno and what failed (a
// namespace type, an rlimit resource, a cgroup file...).
Cause diagnose(Prim p, int err, std::uint16_t what = 0, std::int64_t value = 0,
               std::string_view note = {}, const HostView& host = real_host());
// " (code: message)", to append to an error line.
std::string cause_suffix(const Cause& c);

// merge_outcome's Diagnose on the real host.
Diagnose host_diagnose();

// Host-wide conditions, asked by doctor and by the diagnosis above. nullopt: nothing stands in
// the way.
std::optional<Cause> userns_blocker(const HostView& host, int err);
std::optional<Cause> landlock_blocker(const HostView& host);
std::optional<Cause> seccomp_blocker(const HostView& host);
std::optional<Cause> apparmor_blocker(const HostView& host, const std::string& profile);
// `controller` of cgroup v2 ("memory") is usable by the container's cgroup under `parent` (an
// absolute cgroup directory, or "" for the hierarchy's root).
std::optional<Cause> cgroup_controller_blocker(const HostView& host, const std::string& controller,
                                               const std::string& parent = "");
std::optional<Cause> rlimit_blocker(const HostView& host, int resource, std::uint64_t soft,
                                    std::uint64_t hard);

}  // namespace nyx
