// Syscall groups for the strict profile's default-deny seccomp allowlist (docs/seccomp.md).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace nyx {

struct SyscallGroup {
  std::string_view name;                       // "base", "net", ...
  std::string_view description;                // one line
  std::span<const std::string_view> syscalls;  // x86_64 names as libseccomp knows them
};

// All groups, "base" first, in documentation order.
std::span<const SyscallGroup> syscall_groups();

// The group with this name, or nullptr.
const SyscallGroup* find_syscall_group(std::string_view name);

// Syscalls that, when not allowed by the chosen groups, must fail with ENOSYS rather than EPERM
// because libc probes them and falls back only on ENOSYS (clone3 -> clone).
std::span<const std::string_view> enosys_fallback_syscalls();

// ioctl requests the strict profile denies although `ioctl` is in base: they reach beyond the
// container (bytes typed into a terminal's input queue). Compared on the low 32 bits only, since
// the kernel truncates the request to an unsigned int (flatpak's CVE-2019-10063: TIOCSTI | 1<<32
// passed a filter that compared all 64 bits).
struct DeniedRequest {
  std::string_view name;
  std::uint32_t value;
  std::string_view why;
};
std::span<const DeniedRequest> denied_ioctls();

}  // namespace nyx
