// Idmapped mounts: the user namespace that carries a mount's ID mappings.
#pragma once

#include <span>
#include <string>

#include "base/fd.hpp"
#include "bundle/config.hpp"

namespace nyx {

// A user namespace made only to hold `uids` and `gids` (written as a container's are:
// "containerID hostID size"), for mount_setattr(MOUNT_ATTR_IDMAP). The process that made it has
// exited when this returns; the fd keeps the namespace. Throws Error naming `object`.
UniqueFd make_mapping_userns(std::span<const IdMapping> uids, std::span<const IdMapping> gids,
                             const std::string& object);

// Idmaps the detached mount `tree` (from open_tree) through `userns`, on every mount below it
// too when `recursive`. Throws Error naming `object`.
void idmap_tree(int tree, int userns, bool recursive, const std::string& object);

}  // namespace nyx
