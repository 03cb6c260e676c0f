// Namespaces: which are created by clone flags, unshared or joined in the child, or entered by
// the parent for its children (pid), and the id maps the parent writes for a new user namespace.
#pragma once

#include <sys/types.h>

#include <span>
#include <string>
#include <string_view>

#include "bundle/config.hpp"
#include "runtime/ablation.hpp"

namespace nyx {

int clone_flag(NsType type);

// The type is ablated, by "namespaces" or by its own finer name ("userns", ...).
bool namespace_ablated(const Ablation& ablation, NsType type);

// Writes uid_map/gid_map (and setgroups=deny when `deny_setgroups`) of `pid`.
void write_id_maps(pid_t pid, const Linux& lx, bool deny_setgroups);
// The same for mappings named by `object` (an idmapped mount's own user namespace):
// errors name OBJECT.uidMappings and OBJECT.gidMappings.
void write_id_maps(pid_t pid, std::span<const IdMapping> uids, std::span<const IdMapping> gids,
                   const std::string& object);

}  // namespace nyx
