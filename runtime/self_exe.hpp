// The runtime's own binary as containers could reach it (CVE-2019-5736): whether a container's
// credentials could open it for writing, and running from a read-only copy of it instead.
#pragma once

#include <sys/types.h>

namespace nyx {

// main's argv, kept for a re-execution.
void remember_argv(char** argv);

// True when nobody can write the running binary through /proc/PID/exe: it is a sealed memfd or
// a file on a read-only mount (a packaged install on a read-only /usr, or the copy below).
bool exe_is_protected();

// True when a process in the user namespace of `pid` could open the runtime binary for writing:
// its owner is mapped there (the owner may write, or chmod), its group is mapped and may write,
// anyone may write, or an ACL is set on it. Without a user namespace every id is mapped.
bool exe_writable_from(pid_t pid);

// Executes this program again, with the same arguments and environment, from a read-only copy
// of its binary: a detached read-only bind mount of it (open_tree + mount_setattr, no copy)
// where the runtime may mount, a sealed memfd copy otherwise. Returns only when neither could
// be made, with the errno.
int reexec_protected();

}  // namespace nyx
