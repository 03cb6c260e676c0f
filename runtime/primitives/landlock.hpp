// The Landlock primitive's pieces used elsewhere: the record's entry kinds, the kernel's ABI
// (doctor and the causes ask it too), and the ruleset's canonical text (its digest).
#pragma once

#include <cstdint>
#include <string>

#include "runtime/child_abi.hpp"

namespace nyx {

// StepEntry::what of the landlock primitive.
inline constexpr std::uint16_t kLandlockCreate = 0;    // landlock_create_ruleset failed
inline constexpr std::uint16_t kLandlockRule = 1;      // value: index of the rule that failed
inline constexpr std::uint16_t kLandlockRestrict = 2;  // the kernel will not let it restrict
inline constexpr std::uint16_t kLandlockRules = 3;     // value: rules added
inline constexpr std::uint16_t kLandlockSkipped = 4;   // value: rules whose path is missing
inline constexpr std::uint16_t kLandlockAbi = 5;       // planned: the ABI lacks a right asked for

// The Landlock ABI version of the running kernel (>= 1), or -errno: -ENOSYS for a kernel built
// without Landlock, -EOPNOTSUPP for one that has it but did not enable it at boot.
int landlock_abi();

// The planned ruleset as canonical text: what hardening.digests.landlock hashes.
std::string landlock_canonical(const LandlockPlan& plan);

}  // namespace nyx
