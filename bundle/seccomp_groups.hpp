// Syscall groups for the strict profile's default-deny seccomp allowlist (docs/seccomp.md).
#pragma once

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

}  // namespace nyx
