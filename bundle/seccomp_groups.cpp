// The syscall groups. Every list is documented, name for name, in docs/seccomp.md; a syscall
// belongs to at most one group. Names are x86_64 names as libseccomp 2.5.4 knows them.
#include "bundle/seccomp_groups.hpp"

namespace nyx {

using std::string_view;

// Ordinary programs: static and dynamic binaries, shells, python3 and node.
static constexpr string_view kBase[] = {
    // File I/O on open descriptors.
    "read",
    "write",
    "readv",
    "writev",
    "pread64",
    "pwrite64",
    "preadv",
    "pwritev",
    "preadv2",
    "pwritev2",
    "lseek",
    "sendfile",
    "copy_file_range",
    "splice",
    "tee",
    "vmsplice",
    "fsync",
    "fdatasync",
    "sync",
    "syncfs",
    "sync_file_range",
    "fadvise64",
    "readahead",
    "fallocate",
    "truncate",
    "ftruncate",
    "flock",
    "fcntl",
    "ioctl",
    "close",
    "close_range",
    "dup",
    "dup2",
    "dup3",
    "pipe",
    "pipe2",
    "cachestat",
    // Linux AIO (libaio).
    "io_setup",
    "io_destroy",
    "io_submit",
    "io_cancel",
    "io_getevents",
    "io_pgetevents",
    // Opening, metadata and directories.
    "open",
    "openat",
    "openat2",
    "creat",
    "stat",
    "fstat",
    "lstat",
    "newfstatat",
    "statx",
    "statfs",
    "fstatfs",
    "access",
    "faccessat",
    "faccessat2",
    "readlink",
    "readlinkat",
    "getdents",
    "getdents64",
    "getcwd",
    "chdir",
    "fchdir",
    "umask",
    "utime",
    "utimes",
    "futimesat",
    "utimensat",
    "chmod",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "chown",
    "fchown",
    "lchown",
    "fchownat",
    "getxattr",
    "lgetxattr",
    "fgetxattr",
    "listxattr",
    "llistxattr",
    "flistxattr",
    "setxattr",
    "lsetxattr",
    "fsetxattr",
    "removexattr",
    "lremovexattr",
    "fremovexattr",
    "inotify_init",
    "inotify_init1",
    "inotify_add_watch",
    "inotify_rm_watch",
    // Creating, linking, renaming and removing files.
    "mkdir",
    "mkdirat",
    "rmdir",
    "unlink",
    "unlinkat",
    "rename",
    "renameat",
    "renameat2",
    "link",
    "linkat",
    "symlink",
    "symlinkat",
    "mknod",
    "mknodat",
    // Memory.
    "brk",
    "mmap",
    "munmap",
    "mremap",
    "mprotect",
    "madvise",
    "msync",
    "mincore",
    "mlock",
    "mlock2",
    "munlock",
    "mlockall",
    "munlockall",
    "remap_file_pages",
    "memfd_create",
    "memfd_secret",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
    "membarrier",
    "map_shadow_stack",
    // Processes and threads.
    "fork",
    "vfork",
    "clone",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "wait4",
    "waitid",
    "getpid",
    "getppid",
    "gettid",
    "getpgid",
    "setpgid",
    "getpgrp",
    "getsid",
    "setsid",
    "set_tid_address",
    "set_robust_list",
    "rseq",
    "arch_prctl",
    "set_thread_area",
    "get_thread_area",
    "prctl",
    "seccomp",
    "landlock_create_ruleset",
    "landlock_add_rule",
    "landlock_restrict_self",
    "restart_syscall",
    "pidfd_open",
    "pidfd_send_signal",
    // Scheduling and resource limits.
    "sched_yield",
    "sched_getaffinity",
    "sched_setaffinity",
    "sched_getparam",
    "sched_setparam",
    "sched_getscheduler",
    "sched_setscheduler",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_rr_get_interval",
    "sched_getattr",
    "sched_setattr",
    "getpriority",
    "setpriority",
    "ioprio_get",
    "ioprio_set",
    "getcpu",
    "getrlimit",
    "setrlimit",
    "prlimit64",
    "getrusage",
    "times",
    // Signals.
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "rt_sigpending",
    "rt_sigtimedwait",
    "rt_sigsuspend",
    "rt_sigqueueinfo",
    "rt_tgsigqueueinfo",
    "sigaltstack",
    "pause",
    "kill",
    "tkill",
    "tgkill",
    "signalfd",
    "signalfd4",
    // Time and timers.
    "time",
    "gettimeofday",
    "clock_gettime",
    "clock_getres",
    "nanosleep",
    "clock_nanosleep",
    "alarm",
    "getitimer",
    "setitimer",
    "timer_create",
    "timer_settime",
    "timer_gettime",
    "timer_getoverrun",
    "timer_delete",
    "timerfd_create",
    "timerfd_settime",
    "timerfd_gettime",
    // Waiting: poll, select, epoll, eventfd, futex.
    "poll",
    "ppoll",
    "select",
    "pselect6",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "epoll_pwait2",
    "eventfd",
    "eventfd2",
    "futex",
    "futex_waitv",
    "futex_wake",
    "futex_wait",
    "futex_requeue",
    // Identity, system information and the NUMA policy (getters only).
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "getresuid",
    "getresgid",
    "getgroups",
    "capget",
    // capset can only lower capabilities without CAP_SETPCAP; the runtime needs it after the
    // filter is loaded when noNewPrivileges is false (docs/seccomp.md).
    "capset",
    "uname",
    "sysinfo",
    "getrandom",
    "get_mempolicy",
    // Anonymous AF_UNIX pairs and operations on sockets the process already holds.
    "socketpair",
    "sendto",
    "recvfrom",
    "sendmsg",
    "recvmsg",
    "sendmmsg",
    "recvmmsg",
    "shutdown",
    "getsockopt",
    "setsockopt",
    "getsockname",
    "getpeername",
};

// Creating sockets and giving them addresses.
static constexpr string_view kNet[] = {
    "socket", "connect", "bind", "listen", "accept", "accept4",
};

static constexpr string_view kSetuid[] = {
    "setuid",    "setgid",   "setreuid", "setregid",  "setresuid",
    "setresgid", "setfsuid", "setfsgid", "setgroups",
};

static constexpr string_view kPtrace[] = {
    "ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "pidfd_getfd",
    "kcmp",   "get_robust_list",  "userfaultfd",       "personality",
};

static constexpr string_view kMount[] = {
    "mount",  "umount2",  "pivot_root", "chroot", "open_tree",     "move_mount",
    "fsopen", "fsconfig", "fsmount",    "fspick", "mount_setattr",
};

static constexpr string_view kNamespaces[] = {
    "unshare",
    "setns",
    "clone3",
};

static constexpr string_view kTime[] = {
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
};

static constexpr string_view kModule[] = {
    "init_module",
    "finit_module",
    "delete_module",
};

static constexpr string_view kUts[] = {
    "sethostname",
    "setdomainname",
};

static constexpr string_view kIpc[] = {
    "shmget",     "shmat",     "shmdt",        "shmctl",          "semget",    "semop",
    "semtimedop", "semctl",    "msgget",       "msgsnd",          "msgrcv",    "msgctl",
    "mq_open",    "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr",
};

static constexpr string_view kIoUring[] = {
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
};

static constexpr string_view kBpf[] = {
    "bpf",
    "perf_event_open",
};

static constexpr string_view kKeyring[] = {
    "add_key",
    "request_key",
    "keyctl",
};

static constexpr string_view kNuma[] = {
    "mbind", "set_mempolicy", "set_mempolicy_home_node", "move_pages", "migrate_pages",
};

static constexpr string_view kAdmin[] = {
    "reboot",
    "kexec_load",
    "kexec_file_load",
    "swapon",
    "swapoff",
    "acct",
    "quotactl",
    "quotactl_fd",
    "syslog",
    "vhangup",
    "iopl",
    "ioperm",
    "fanotify_init",
    "fanotify_mark",
    "name_to_handle_at",
    "open_by_handle_at",
};

static constexpr SyscallGroup kGroups[] = {
    {"base", "ordinary programs: file I/O, processes, memory, signals, time, polling", kBase},
    {"net", "creating sockets and giving them addresses (socket, connect, bind, listen, accept)",
     kNet},
    {"setuid", "changing user and group ids, supplementary groups and capabilities", kSetuid},
    {"ptrace", "inspecting and controlling other processes (debuggers, tracers, profilers)",
     kPtrace},
    {"mount", "mounting, unmounting, pivot_root and chroot", kMount},
    {"namespaces", "creating and joining namespaces (unshare, setns, clone3)", kNamespaces},
    {"time", "setting the system clocks", kTime},
    {"module", "loading and unloading kernel modules", kModule},
    {"uts", "setting the host and domain name", kUts},
    {"ipc", "System V IPC and POSIX message queues", kIpc},
    {"io_uring", "io_uring asynchronous I/O rings", kIoUring},
    {"bpf", "eBPF programs and perf events", kBpf},
    {"keyring", "the kernel key retention service", kKeyring},
    {"numa", "setting NUMA memory policy and migrating pages", kNuma},
    {"admin", "host administration: reboot, kexec, swap, quotas, kernel log, raw I/O, file handles",
     kAdmin},
};

// glibc 2.36 tries these first and falls back to an older syscall only on ENOSYS.
static constexpr string_view kEnosysFallback[] = {
    "clone3",      // pthread_create, posix_spawn -> clone
    "faccessat2",  // faccessat(), e.g. with AT_EACCESS -> faccessat
    "statx",       // statx() -> fstatat (coreutils ls, stat, cp)
    "preadv2",     // preadv2() with flags 0 -> preadv
    "pwritev2",    // pwritev2() with flags 0 -> pwritev
};

static constexpr DeniedRequest kDeniedIoctls[] = {
    {"TIOCSTI", 0x5412, "pushes bytes into a terminal's input queue (bubblewrap CVE-2017-5226)"},
    {"TIOCLINUX", 0x541C,
     "virtual-console copy and paste, another way to fill an input queue (flatpak "
     "CVE-2023-28100)"},
};

std::span<const DeniedRequest> denied_ioctls() {
  return kDeniedIoctls;
}

std::span<const SyscallGroup> syscall_groups() {
  return kGroups;
}

const SyscallGroup* find_syscall_group(std::string_view name) {
  for (const SyscallGroup& g : kGroups) {
    if (g.name == name) return &g;
  }
  return nullptr;
}

std::span<const std::string_view> enosys_fallback_syscalls() {
  return kEnosysFallback;
}

}  // namespace nyx
