// Paths inside the container's root filesystem, checked in the parent before anything is made.
#pragma once

#include <string>
#include <string_view>

namespace nyx {

// "/dev//pts/" -> "dev/pts"; "." components dropped. The caller has refused "..".
std::string relative_in_root(std::string_view absolute);

// Walks the existing part of `rel` inside `rootfs` the way the kernel would with the rootfs as
// "/", and throws Error(object, ...) when a symlink on the way leads out of the rootfs through
// "..", or (when `no_symlinks`) when there is any symlink on the way. Returns `rel` with the
// symlinks on its existing part resolved, so that what is missing gets made where the kernel
// will look (a dangling absolute symlink to "/x/y" means "x/y" inside the rootfs, as in runc).
std::string check_in_root(const std::string& rootfs, std::string_view rel,
                          const std::string& object, bool no_symlinks);

// Creates what is missing of `rel` inside `rootfs` (directories; the last component as a file
// when `is_file`), resolving symlinks as if the rootfs were "/". Used for mount points of
// user-namespace containers, whose root may not be allowed to write the rootfs.
void make_in_rootfs(const std::string& rootfs, std::string_view rel, bool is_file,
                    const std::string& object);

}  // namespace nyx
