// The one table of hardening primitives (SPEC §4). The enum, the record's names and order, the
// level, ablation parsing, `features` and the table in docs/state.md all come from it: adding a
// primitive is one row here and one file in runtime/primitives/ defining `<name>_ops`.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace nyx {

// Where a primitive's child half runs in run_child (child.cpp), in this order.
enum class Stage : std::uint8_t {
  Process,    // before any namespace: the process's own limits and session
  Isolation,  // namespaces, cgroups, the mount tree and the root
  Identity,   // who the harness runs as
  Confine,    // loaded last, after the report: nothing of the runtime's runs under them
};

// One row per primitive, in the order of the hardening sequence:
//   X(Enum, record_name, "--ablate group", "older spelling", stage, baseline, always listed)
// The record name is also its --ablate name; a group name ablates every row that shares it.
// Baseline primitives are what the `standard` profile asks for; always-listed ones appear in
// the record even when nothing asked for them.
#define NYX_PRIMITIVES(X)                                            \
  X(NoNewPrivs, no_new_privs, "", "nnp", Process, true, true)        \
  X(RlimitCpu, rlimit_cpu, "rlimits", "", Process, true, true)       \
  X(RlimitNofile, rlimit_nofile, "rlimits", "", Process, true, true) \
  X(RlimitAs, rlimit_as, "rlimits", "", Process, true, true)         \
  X(Rlimits, rlimits, "rlimits", "", Process, true, false)           \
  X(Session, session, "", "", Process, true, true)                   \
  X(Keyring, keyring, "", "", Process, true, true)                   \
  X(Namespaces, namespaces, "", "", Isolation, false, true)          \
  X(Cgroups, cgroups, "", "", Isolation, false, false)               \
  X(Mounts, mounts, "", "", Isolation, false, true)                  \
  X(Sysctl, sysctl, "", "", Isolation, false, false)                 \
  X(Root, root, "", "chroot", Isolation, false, true)                \
  X(Capabilities, capabilities, "", "caps", Identity, false, true)   \
  X(Selinux, selinux, "", "", Identity, false, false)                \
  X(Apparmor, apparmor, "", "", Confine, false, false)               \
  X(Landlock, landlock, "", "", Confine, false, true)                \
  X(Seccomp, seccomp, "", "", Confine, false, true)

#define NYX_PRIM_ENUM(id, ...) id,
enum class Prim : std::uint8_t { NYX_PRIMITIVES(NYX_PRIM_ENUM) };
#undef NYX_PRIM_ENUM

#define NYX_PRIM_COUNT(...) +1
inline constexpr std::size_t kPrimCount = 0 NYX_PRIMITIVES(NYX_PRIM_COUNT);
#undef NYX_PRIM_COUNT

enum class PrimStatus : std::uint8_t { Skipped, Applied, Failed };

// What each primitive's own file provides (runtime/primitives/<name>.cpp).
struct PrimitiveOps;
#define NYX_PRIM_OPS_DECL(id, name, ...) extern const PrimitiveOps name##_ops;
NYX_PRIMITIVES(NYX_PRIM_OPS_DECL)
#undef NYX_PRIM_OPS_DECL

struct PrimitiveInfo {
  Prim id;
  std::string_view name;   // in the record, and for --ablate
  std::string_view group;  // an --ablate name shared with other rows, or ""
  std::string_view alias;  // an older --ablate spelling, still accepted, or ""
  Stage stage;
  bool baseline;
  bool always_listed;
  const PrimitiveOps* ops;
};

#define NYX_PRIM_ROW(id, name, group, alias, stage, baseline, listed) \
  PrimitiveInfo{Prim::id, #name, group, alias, Stage::stage, baseline, listed, &name##_ops},
inline constexpr std::array<PrimitiveInfo, kPrimCount> kPrimitives = {
    {NYX_PRIMITIVES(NYX_PRIM_ROW)}};
#undef NYX_PRIM_ROW

constexpr const PrimitiveInfo& primitive(Prim p) {
  return kPrimitives[static_cast<std::size_t>(p)];
}
constexpr std::string_view prim_name(Prim p) {
  return primitive(p).name;
}

}  // namespace nyx
