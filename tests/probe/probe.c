// nyx-probe: a static helper that integration tests run inside nyx-runtime containers.
//
// Usage: nyx-probe STEP [ARGS...] [+ STEP [ARGS...]]...
//
// Each step observes or attempts one thing and prints one JSON object on its own line,
// so tests can see from the inside which isolation applies without relying on any tool
// in the container rootfs. A failing step reports "ok":false with errno and its symbolic
// name, and the probe carries on with the next step. The whole command line is checked
// before any step runs, so a typo in a test cannot half-run a sequence.
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define UNUSED __attribute__((unused))

extern char** environ;

static const char* g_argv0;

// ---------------------------------------------------------------------------
// JSON output. One line is built in memory and written with a single write(2) so it
// reaches the harness even if the next step kills the process. All helpers preserve
// errno, which lets a step emit other fields before reporting the syscall's errno.

static struct {
  char* buf;
  size_t len, cap;
  int depth;
  int first[32];
  int after_key;
} J;

static void out_mem(const char* s, size_t n) {
  int saved = errno;
  if (J.len + n > J.cap) {
    size_t cap = J.cap ? J.cap : 4096;
    while (cap < J.len + n)
      cap *= 2;
    char* p = realloc(J.buf, cap);
    if (!p) _exit(70);  // nothing sensible can be reported without memory
    J.buf = p;
    J.cap = cap;
  }
  memcpy(J.buf + J.len, s, n);
  J.len += n;
  errno = saved;
}

static void out_c(char c) {
  out_mem(&c, 1);
}

static void out_fmt(const char* fmt, ...) {
  char tmp[96];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n > 0) out_mem(tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

// Length of a valid UTF-8 sequence at s, or 0. Invalid bytes must be escaped, otherwise
// a binary file read by a step would make the whole line unparseable.
static size_t utf8_len(const unsigned char* s, size_t n) {
  unsigned char c = s[0], lo = 0x80, hi = 0xBF;
  size_t len;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
  } else {
    return 0;
  }
  if (c == 0xE0) lo = 0xA0;  // overlong
  if (c == 0xED) hi = 0x9F;  // surrogates
  if (c == 0xF0) lo = 0x90;  // overlong
  if (c == 0xF4) hi = 0x8F;  // beyond U+10FFFF
  if (len > n || s[1] < lo || s[1] > hi) return 0;
  for (size_t i = 2; i < len; i++) {
    if (s[i] < 0x80 || s[i] > 0xBF) return 0;
  }
  return len;
}

// Undecodable bytes become U+00XX: lossy, but keeps every line valid JSON.
static void j_quote(const char* s, size_t n) {
  const unsigned char* u = (const unsigned char*)s;
  out_c('"');
  for (size_t i = 0; i < n;) {
    unsigned char c = u[i];
    size_t len = c >= 0x80 ? utf8_len(u + i, n - i) : 0;
    if (len) {
      out_mem(s + i, len);
      i += len;
      continue;
    }
    if (c == '"' || c == '\\') {
      out_c('\\');
      out_c((char)c);
    } else if (c == '\n') {
      out_mem("\\n", 2);
    } else if (c == '\t') {
      out_mem("\\t", 2);
    } else if (c == '\r') {
      out_mem("\\r", 2);
    } else if (c < 0x20 || c >= 0x80) {
      out_fmt("\\u%04x", c);
    } else {
      out_c((char)c);
    }
    i++;
  }
  out_c('"');
}

// Emits the comma between values; a value directly after its key needs none.
static void sep(void) {
  if (J.after_key) {
    J.after_key = 0;
    return;
  }
  if (J.depth > 0 && !J.first[J.depth - 1]) out_c(',');
  if (J.depth > 0) J.first[J.depth - 1] = 0;
}

static void j_open(char c) {
  sep();
  out_c(c);
  J.first[J.depth++] = 1;
}

static void j_close(char c) {
  J.depth--;
  out_c(c);
}

static void j_keyn(const char* k, size_t n) {
  sep();
  j_quote(k, n);
  out_c(':');
  J.after_key = 1;
}

static void j_key(const char* k) {
  j_keyn(k, strlen(k));
}
static void j_null(void) {
  sep();
  out_mem("null", 4);
}
static void j_int(long long v) {
  sep();
  out_fmt("%lld", v);
}
static void j_strn(const char* s, size_t n) {
  sep();
  j_quote(s, n);
}

static void j_str(const char* s) {
  if (s) {
    j_strn(s, strlen(s));
  } else {
    j_null();
  }
}

static void kv_str(const char* k, const char* v) {
  j_key(k);
  j_str(v);
}
static void kv_int(const char* k, long long v) {
  j_key(k);
  j_int(v);
}
static void kv_null(const char* k) {
  j_key(k);
  j_null();
}
static void kv_bool(const char* k, int v) {
  j_key(k);
  sep();
  out_fmt(v ? "true" : "false");
}
static void kv_dbl(const char* k, double v) {
  j_key(k);
  sep();
  out_fmt("%.3f", v);
}

static void line_begin(const char* step) {
  J.len = 0;
  J.depth = 0;
  J.after_key = 0;
  j_open('{');
  kv_str("step", step);
}

static void line_end(void) {
  int saved = errno;
  j_close('}');
  out_c('\n');
  for (size_t off = 0; off < J.len;) {
    ssize_t n = write(STDOUT_FILENO, J.buf + off, J.len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // stdout gone: nobody is listening, keep running the steps
    off += (size_t)n;
  }
  J.len = 0;
  errno = saved;
}

// ---------------------------------------------------------------------------
// Name tables.

#define NAMED(x) \
  { x, #x }
static const struct {
  int num;
  const char* name;
} kErrnos[] = {
    NAMED(EPERM),        NAMED(ENOENT),          NAMED(ESRCH),           NAMED(EINTR),
    NAMED(EIO),          NAMED(ENXIO),           NAMED(E2BIG),           NAMED(ENOEXEC),
    NAMED(EBADF),        NAMED(ECHILD),          NAMED(EAGAIN),          NAMED(ENOMEM),
    NAMED(EACCES),       NAMED(EFAULT),          NAMED(EBUSY),           NAMED(EEXIST),
    NAMED(EXDEV),        NAMED(ENODEV),          NAMED(ENOTDIR),         NAMED(EISDIR),
    NAMED(EINVAL),       NAMED(ENFILE),          NAMED(EMFILE),          NAMED(ENOTTY),
    NAMED(ETXTBSY),      NAMED(EFBIG),           NAMED(ENOSPC),          NAMED(ESPIPE),
    NAMED(EROFS),        NAMED(EMLINK),          NAMED(EPIPE),           NAMED(ERANGE),
    NAMED(ENOSYS),       NAMED(ELOOP),           NAMED(ENAMETOOLONG),    NAMED(ENOTEMPTY),
    NAMED(EAFNOSUPPORT), NAMED(EPROTONOSUPPORT), NAMED(ESOCKTNOSUPPORT), NAMED(EOPNOTSUPP),
    NAMED(EADDRINUSE),   NAMED(EADDRNOTAVAIL),   NAMED(ECONNREFUSED),    NAMED(EOVERFLOW),
};
#undef NAMED

static const char* errno_name(int e) {
  for (size_t i = 0; i < sizeof kErrnos / sizeof kErrnos[0]; i++) {
    if (kErrnos[i].num == e) return kErrnos[i].name;
  }
  return "E?";
}

// Reports the outcome of the syscall just made; errno is read here, so nothing that may
// clobber it can sit between the call and this (the JSON helpers preserve it).
static void kv_result(int ok) {
  int e = errno;
  kv_bool("ok", ok);
  if (ok) return;
  kv_int("errno", e);
  kv_str("error", errno_name(e));
}

static void path_result(const char* path, int ok) {
  kv_str("path", path);
  kv_result(ok);
}

static const struct {
  int num;
  const char* name;
} kSignals[] = {
    {SIGHUP, "HUP"},   {SIGINT, "INT"},   {SIGQUIT, "QUIT"}, {SIGILL, "ILL"},   {SIGTRAP, "TRAP"},
    {SIGABRT, "ABRT"}, {SIGBUS, "BUS"},   {SIGFPE, "FPE"},   {SIGKILL, "KILL"}, {SIGUSR1, "USR1"},
    {SIGSEGV, "SEGV"}, {SIGUSR2, "USR2"}, {SIGPIPE, "PIPE"}, {SIGALRM, "ALRM"}, {SIGTERM, "TERM"},
    {SIGCHLD, "CHLD"}, {SIGCONT, "CONT"}, {SIGSTOP, "STOP"}, {SIGTSTP, "TSTP"}, {SIGSYS, "SYS"},
};

static const struct {
  const char* name;
  int flag;
} kNsFlags[] = {
    {"user", CLONE_NEWUSER},     {"pid", CLONE_NEWPID}, {"mnt", CLONE_NEWNS},
    {"ipc", CLONE_NEWIPC},       {"uts", CLONE_NEWUTS}, {"net", CLONE_NEWNET},
    {"cgroup", CLONE_NEWCGROUP},
};

// ---------------------------------------------------------------------------
// Argument parsing. Only "0x" selects hex: a leading zero stays decimal, so "010" is ten.

static int parse_num(const char* s, long long* out) {
  const char* p = s;
  int neg = *p == '-';
  if (neg) p++;
  int hex = p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
  if (hex) p += 2;
  if (!isxdigit((unsigned char)*p)) return 0;  // strtoull would accept spaces and signs
  char* end;
  errno = 0;
  unsigned long long v = strtoull(p, &end, hex ? 16 : 10);
  if (errno || *end) return 0;
  *out = neg ? -(long long)v : (long long)v;  // wraps on purpose: raw syscall args
  return 1;
}

static long long num(const char* s) {
  long long v = 0;
  parse_num(s, &v);
  return v;
}

static int parse_secs(const char* s, double* out) {
  char* end;
  errno = 0;
  double d = strtod(s, &end);
  if (errno || end == s || *end || !(d >= 0 && d < 1e9)) return 0;
  *out = d;
  return 1;
}

static double secs(const char* s) {
  double d = 0;
  parse_secs(s, &d);
  return d;
}

static int signal_number(const char* s) {
  long long v;
  if (parse_num(s, &v)) return v >= 0 && v <= 64 ? (int)v : -1;
  if (strncmp(s, "SIG", 3) == 0) s += 3;
  for (size_t i = 0; i < sizeof kSignals / sizeof kSignals[0]; i++) {
    if (strcmp(s, kSignals[i].name) == 0) return kSignals[i].num;
  }
  return -1;
}

static int ns_flags(const char* list) {
  int flags = 0;
  for (const char* p = list; *p;) {
    size_t len = strcspn(p, ",");
    int found = 0;
    for (size_t i = 0; i < sizeof kNsFlags / sizeof kNsFlags[0]; i++) {
      if (strlen(kNsFlags[i].name) == len && strncmp(p, kNsFlags[i].name, len) == 0) {
        flags |= kNsFlags[i].flag;
        found = 1;
      }
    }
    if (!found) return -1;
    p += len;
    if (*p) p++;
  }
  return flags ? flags : -1;
}

static int lookup(const char* s, const char* const* names, const int* values, int n) {
  for (int i = 0; i < n; i++) {
    if (strcmp(s, names[i]) == 0) return values[i];
  }
  return -1;
}

static int socket_domain(const char* s) {
  static const char* const names[] = {"inet", "inet6", "unix", "netlink", "packet"};
  static const int values[] = {AF_INET, AF_INET6, AF_UNIX, AF_NETLINK, AF_PACKET};
  return lookup(s, names, values, 5);
}

static int socket_type(const char* s) {
  static const char* const names[] = {"stream", "dgram", "raw", "seqpacket"};
  static const int values[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET};
  return lookup(s, names, values, 4);
}

static int exe_mode(const char* s) {
  static const char* const names[] = {"r", "w", "path"};
  static const int values[] = {O_RDONLY, O_WRONLY, O_RDONLY | O_PATH};
  return lookup(s, names, values, 3);
}

// ---------------------------------------------------------------------------
// Filesystem helpers.

// Grows the buffer as needed rather than allocating limit up front, so that a step still
// works under a tight RLIMIT_AS.
static int read_fd(int fd, size_t limit, char** buf, size_t* len) {
  size_t cap = 0;
  *len = 0;
  for (;;) {
    if (*len == cap && cap < limit) {
      cap = cap * 2 + 4096 < limit ? cap * 2 + 4096 : limit;
      char* p = realloc(*buf, cap + 1);
      if (!p) return -1;
      *buf = p;
    }
    if (*len == limit) return 0;
    ssize_t r = read(fd, *buf + *len, cap - *len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return (int)r;
    *len += (size_t)r;
  }
}

// Reads up to limit bytes; loops because /proc files often arrive in short reads.
// Returns a NUL-terminated buffer, or NULL with errno set.
static char* read_file(const char* path, size_t limit, size_t* len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return NULL;
  char* buf = NULL;
  int rc = read_fd(fd, limit, &buf, len);
  int e = errno;
  close(fd);
  if (rc < 0 || !buf) {
    free(buf);
    errno = rc < 0 ? e : ENOMEM;
    return NULL;
  }
  buf[*len] = '\0';
  return buf;
}

static void kv_file(const char* key, const char* path) {
  size_t len;
  char* text = read_file(path, 1 << 16, &len);
  j_key(key);
  if (text) {
    j_strn(text, len);
  } else {
    j_null();
  }
  free(text);
}

typedef struct {
  char** v;
  size_t n, cap;
} StrVec;

static void sv_push(StrVec* sv, const char* s) {
  if (sv->n == sv->cap) {
    sv->cap = sv->cap ? sv->cap * 2 : 32;
    sv->v = realloc(sv->v, sv->cap * sizeof *sv->v);
    if (!sv->v) _exit(70);
  }
  sv->v[sv->n++] = strdup(s);
}

static void sv_free(StrVec* sv) {
  for (size_t i = 0; i < sv->n; i++)
    free(sv->v[i]);
  free(sv->v);
}

static int cmp_str(const void* a, const void* b) {
  return strcmp(*(char* const*)a, *(char* const*)b);
}

// Sorted so that tests can compare listings without caring about readdir order.
static int list_names(const char* path, StrVec* out) {
  DIR* d = opendir(path);
  if (!d) return -1;
  for (struct dirent* e; (e = readdir(d));) {
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) sv_push(out, e->d_name);
  }
  closedir(d);
  if (out->n) qsort(out->v, out->n, sizeof *out->v, cmp_str);
  return 0;
}

static void j_strvec(const StrVec* sv) {
  j_open('[');
  for (size_t i = 0; i < sv->n; i++)
    j_str(sv->v[i]);
  j_close(']');
}

static void kv_names(const char* key, const char* path) {
  StrVec sv = {0};
  j_key(key);
  if (list_names(path, &sv) == 0) {
    j_strvec(&sv);
  } else {
    j_null();
  }
  sv_free(&sv);
}

typedef struct {
  long long* v;
  size_t n, cap;
} IntVec;

static void iv_push(IntVec* iv, long long x) {
  if (iv->n == iv->cap) {
    iv->cap = iv->cap ? iv->cap * 2 : 64;
    iv->v = realloc(iv->v, iv->cap * sizeof *iv->v);
    if (!iv->v) _exit(70);
  }
  iv->v[iv->n++] = x;
}

static int cmp_ll(const void* a, const void* b) {
  long long x = *(const long long*)a, y = *(const long long*)b;
  return (x > y) - (x < y);
}

static void j_intvec(const IntVec* iv) {
  j_open('[');
  for (size_t i = 0; i < iv->n; i++)
    j_int(iv->v[i]);
  j_close(']');
}

// Numeric entries of a directory (fds, pids), sorted. For fd listings the directory's own
// fd is skipped so that reading the list does not show up in it.
static int list_numbers(const char* path, int skip_own_fd, IntVec* out) {
  DIR* d = opendir(path);
  if (!d) return -1;
  for (struct dirent* e; (e = readdir(d));) {
    long long v;
    if (!isdigit((unsigned char)e->d_name[0]) || !parse_num(e->d_name, &v)) continue;
    if (!skip_own_fd || v != dirfd(d)) iv_push(out, v);
  }
  closedir(d);
  if (out->n) qsort(out->v, out->n, sizeof *out->v, cmp_ll);
  return 0;
}

// Raw getcwd: glibc turns "(unreachable)/..." into ENOENT, but that prefix is exactly what
// reveals a working directory outside the container root.
static void kv_cwd(const char* key) {
  char buf[PATH_MAX];
  long n = syscall(SYS_getcwd, buf, sizeof buf);
  if (n < 0) {
    kv_null(key);
  } else {
    kv_str(key, buf);
  }
}

static void kv_readlink(const char* key, const char* path) {
  char buf[PATH_MAX];
  ssize_t n = readlink(path, buf, sizeof buf);
  j_key(key);
  if (n < 0) {
    j_null();
  } else {
    j_strn(buf, (size_t)n);
  }
}

// ---------------------------------------------------------------------------
// report

static const char* next_line(const char* p) {
  const char* nl = strchr(p, '\n');
  return nl ? nl + 1 : NULL;
}

// Finds "Key:" at the start of a line of /proc status text and copies its trimmed value.
static int status_field(const char* text, const char* key, char* out, size_t cap) {
  size_t kl = strlen(key);
  for (const char* p = text; p && *p; p = next_line(p)) {
    if (strncmp(p, key, kl) || p[kl] != ':') continue;
    const char* v = p + kl + 1;
    v += strspn(v, " \t");
    size_t n = strcspn(v, "\n");
    while (n > 0 && isspace((unsigned char)v[n - 1]))
      n--;
    if (n >= cap) n = cap - 1;
    memcpy(out, v, n);
    out[n] = '\0';
    return 1;
  }
  return 0;
}

static void kv_status_int(const char* text, const char* key, const char* field, int base) {
  char v[64];
  if (text && status_field(text, field, v, sizeof v)) {
    kv_int(key, strtoll(v, NULL, base));
  } else {
    kv_null(key);
  }
}

static void report_ids(void) {
  uid_t ru, eu, su;
  gid_t rg, eg, sg;
  getresuid(&ru, &eu, &su);
  getresgid(&rg, &eg, &sg);
  kv_int("uid", ru);
  kv_int("euid", eu);
  kv_int("suid", su);
  kv_int("gid", rg);
  kv_int("egid", eg);
  kv_int("sgid", sg);
}

static void report_groups(void) {
  gid_t groups[1024];
  int n = getgroups(1024, groups);
  j_key("groups");
  j_open('[');
  for (int i = 0; i < n; i++)
    j_int(groups[i]);
  j_close(']');
}

static void report_status(void) {
  static const char* const caps[][2] = {{"cap_eff", "CapEff"},
                                        {"cap_prm", "CapPrm"},
                                        {"cap_bnd", "CapBnd"},
                                        {"cap_inh", "CapInh"},
                                        {"cap_amb", "CapAmb"}};
  size_t len;
  char* text = read_file("/proc/self/status", 1 << 16, &len);
  char v[64];
  if (text && status_field(text, "Umask", v, sizeof v)) {
    kv_int("umask", strtol(v, NULL, 8));
  } else {
    mode_t m = umask(0);  // no /proc: umask() is the only reader, so set it back at once
    umask(m);
    kv_int("umask", m);
  }
  kv_status_int(text, "no_new_privs", "NoNewPrivs", 10);
  kv_status_int(text, "seccomp", "Seccomp", 10);
  for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
    int found = text && status_field(text, caps[i][1], v, sizeof v);
    kv_str(caps[i][0], found ? v : NULL);
  }
  free(text);
}

static void j_rlim(rlim_t v) {
  if (v == RLIM_INFINITY) {
    j_str("unlimited");
  } else {
    j_int((long long)v);
  }
}

static void report_limits(void) {
  static const struct {
    const char* name;
    int res;
  } limits[] = {{"cpu", RLIMIT_CPU},     {"nofile", RLIMIT_NOFILE},  {"as", RLIMIT_AS},
                {"nproc", RLIMIT_NPROC}, {"core", RLIMIT_CORE},      {"fsize", RLIMIT_FSIZE},
                {"stack", RLIMIT_STACK}, {"memlock", RLIMIT_MEMLOCK}};
  j_key("limits");
  j_open('{');
  for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
    struct rlimit rl;
    j_key(limits[i].name);
    if (getrlimit(limits[i].res, &rl) != 0) {
      j_null();
      continue;
    }
    j_open('{');
    j_key("soft");
    j_rlim(rl.rlim_cur);
    j_key("hard");
    j_rlim(rl.rlim_max);
    j_close('}');
  }
  j_close('}');
}

// Without /proc the fd table can still be probed one descriptor at a time.
static void report_fds(void) {
  IntVec fds = {0};
  if (list_numbers("/proc/self/fd", 1, &fds) != 0) {
    for (int fd = 0; fd < 1024; fd++) {
      if (fcntl(fd, F_GETFD) >= 0) iv_push(&fds, fd);
    }
  }
  j_key("fds");
  j_intvec(&fds);
  free(fds.v);
}

static int is_octal3(const char* s) {
  for (int i = 0; i < 3; i++) {
    if (s[i] < '0' || s[i] > '7') return 0;
  }
  return 1;
}

// mountinfo escapes space, tab, newline and backslash in paths as \NNN octal.
static void j_unescaped(const char* s, size_t n) {
  char* buf = malloc(n + 1);
  size_t o = 0;
  for (size_t i = 0; buf && i < n; i++) {
    if (s[i] == '\\' && i + 3 < n && is_octal3(s + i + 1)) {
      buf[o++] = (char)(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) | (s[i + 3] - '0'));
      i += 3;
    } else {
      buf[o++] = s[i];
    }
  }
  j_strn(buf ? buf : s, buf ? o : n);
  free(buf);
}

static void report_mounts(void) {
  size_t len;
  char* text = read_file("/proc/self/mountinfo", 1 << 24, &len);
  j_key("mounts");
  if (!text) {
    j_null();
    return;
  }
  j_open('[');
  for (const char* p = text; p && *p; p = next_line(p)) {
    const char* f = p;
    for (int i = 0; i < 4 && f; i++) {  // mount point is the fifth field
      f = strchr(f, ' ');
      if (f) f++;
    }
    if (f) j_unescaped(f, strcspn(f, " \n"));
  }
  j_close(']');
  free(text);
}

static void report_ns(void) {
  static const char* const names[] = {"user", "pid", "mnt", "ipc", "uts", "net", "cgroup"};
  j_key("ns");
  j_open('{');
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/ns/%s", names[i]);
    kv_readlink(names[i], path);
  }
  j_close('}');
}

static void st_report(char** a UNUSED, int n UNUSED) {
  struct utsname u;
  int have_uts = uname(&u) == 0;
  int envc = 0;
  while (environ && environ[envc])
    envc++;
  kv_int("pid", getpid());
  kv_int("ppid", getppid());
  report_ids();
  report_groups();
  report_status();
  kv_cwd("cwd");
  kv_str("hostname", have_uts ? u.nodename : NULL);
  kv_str("domainname", have_uts ? u.domainname : NULL);
  report_limits();
  kv_file("uid_map", "/proc/self/uid_map");
  kv_file("gid_map", "/proc/self/gid_map");
  report_fds();
  report_mounts();
  kv_int("env_count", envc);
  kv_str("argv0", g_argv0);
  report_ns();
  kv_names("root_entries", "/");
}

// What the process runs with beyond /proc/self/status: I/O priority (ioprio_get has no /proc
// file), scheduling policy and nice value, and personality.
static void st_sched(char** a UNUSED, int n UNUSED) {
  long io = syscall(SYS_ioprio_get, 1 /* IOPRIO_WHO_PROCESS */, 0);
  int policy = sched_getscheduler(0);
  struct sched_param sp = {0};
  sched_getparam(0, &sp);
  errno = 0;
  int nice = getpriority(PRIO_PROCESS, 0);
  kv_result(io >= 0 && policy >= 0);
  kv_int("ioprio_class", io >= 0 ? io >> 13 : -1);
  kv_int("ioprio_level", io >= 0 ? io & 0xff : -1);
  kv_int("policy", policy & ~SCHED_RESET_ON_FORK);
  kv_bool("reset_on_fork", (policy & SCHED_RESET_ON_FORK) != 0);
  kv_int("priority", sp.sched_priority);
  kv_int("nice", nice);
  kv_int("personality", personality(0xffffffff));
}

static void st_status(char** a UNUSED, int n UNUSED) {
  size_t len;
  char* text = read_file("/proc/self/status", 1 << 16, &len);
  kv_result(text != NULL);
  for (const char* p = text; p && *p; p = next_line(p)) {
    size_t line = strcspn(p, "\n"), klen = strcspn(p, ":\n");
    if (klen >= line) continue;
    const char* v = p + klen + 1;
    size_t vlen = line - klen - 1;
    while (vlen > 0 && isspace((unsigned char)*v)) {
      v++;
      vlen--;
    }
    while (vlen > 0 && isspace((unsigned char)v[vlen - 1]))
      vlen--;
    j_keyn(p, klen);
    j_strn(v, vlen);
  }
  free(text);
}

// ---------------------------------------------------------------------------
// File steps.

static void read_step(const char* path, size_t limit) {
  size_t len;
  char* data = read_file(path, limit, &len);
  path_result(path, data != NULL);
  if (data) {
    kv_int("len", (long long)len);
    j_key("data");
    j_strn(data, len);
  }
  free(data);
}

static void st_read(char** a, int n UNUSED) {
  read_step(a[0], 4096);
}
static void st_cat(char** a, int n UNUSED) {
  read_step(a[0], 65536);
}

static void st_write(char** a, int n) {
  const char* text = n > 1 ? a[1] : "nyx-probe\n";
  size_t len = strlen(text);
  int fd = open(a[0], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
  ssize_t w = fd >= 0 ? write(fd, text, len) : -1;
  int ok = w == (ssize_t)len;
  if (w >= 0 && !ok) errno = EIO;  // short write: no errno from the kernel
  int e = errno;
  if (fd >= 0 && close(fd) != 0 && ok) {  // NFS and FUSE may only report errors at close
    ok = 0;
    e = errno;
  }
  errno = e;
  path_result(a[0], ok);
}

static void open_step(const char* path, int flags) {
  int fd = open(path, flags | O_CLOEXEC | O_NOCTTY);
  path_result(path, fd >= 0);
  if (fd >= 0) close(fd);
}

static void st_openw(char** a, int n UNUSED) {
  open_step(a[0], O_WRONLY);
}
static void st_openrw(char** a, int n UNUSED) {
  open_step(a[0], O_RDWR);
}

static const char* file_type(mode_t m) {
  if (S_ISREG(m)) return "file";
  if (S_ISDIR(m)) return "dir";
  if (S_ISLNK(m)) return "link";
  if (S_ISCHR(m)) return "chr";
  if (S_ISBLK(m)) return "blk";
  if (S_ISFIFO(m)) return "fifo";
  if (S_ISSOCK(m)) return "sock";
  return "unknown";
}

static void st_stat(char** a, int n UNUSED) {
  struct stat st;
  int rc = lstat(a[0], &st);
  path_result(a[0], rc == 0);
  if (rc != 0) return;
  char mode[16];
  snprintf(mode, sizeof mode, "%04o", (unsigned)(st.st_mode & 07777));
  kv_str("mode", mode);
  kv_int("uid", st.st_uid);
  kv_int("gid", st.st_gid);
  kv_int("size", (long long)st.st_size);
  kv_str("type", file_type(st.st_mode));
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
    kv_int("rdev_major", major(st.st_rdev));
    kv_int("rdev_minor", minor(st.st_rdev));
  }
}

static void st_ls(char** a, int n UNUSED) {
  StrVec sv = {0};
  int rc = list_names(a[0], &sv);
  path_result(a[0], rc == 0);
  if (rc == 0) {
    j_key("entries");
    j_strvec(&sv);
  }
  sv_free(&sv);
}

static void st_readlink(char** a, int n UNUSED) {
  char buf[PATH_MAX];
  ssize_t len = readlink(a[0], buf, sizeof buf);
  path_result(a[0], len >= 0);
  if (len >= 0) {
    j_key("target");
    j_strn(buf, (size_t)len);
  }
}

static void st_mkdir(char** a, int n UNUSED) {
  path_result(a[0], mkdir(a[0], 0755) == 0);
}
static void st_rmdir(char** a, int n UNUSED) {
  path_result(a[0], rmdir(a[0]) == 0);
}
static void st_unlink(char** a, int n UNUSED) {
  path_result(a[0], unlink(a[0]) == 0);
}
static void st_chroot(char** a, int n UNUSED) {
  path_result(a[0], chroot(a[0]) == 0);
}

static void st_symlink(char** a, int n UNUSED) {
  int rc = symlink(a[0], a[1]);
  kv_str("target", a[0]);
  path_result(a[1], rc == 0);
}

static void st_chdir(char** a, int n UNUSED) {
  path_result(a[0], chdir(a[0]) == 0);
  kv_cwd("cwd");
}

// "-" stands for NULL so that tests can express bind and remount calls.
static void st_mount(char** a, int n) {
  const char* src = strcmp(a[0], "-") ? a[0] : NULL;
  const char* type = strcmp(a[2], "-") ? a[2] : NULL;
  unsigned long flags = n > 3 ? (unsigned long)num(a[3]) : 0;
  int rc = mount(src, a[1], type, flags, NULL);
  kv_str("source", src);
  kv_str("fstype", type);
  kv_int("flags", (long long)flags);
  kv_str("target", a[1]);
  kv_result(rc == 0);
}

static void st_umount(char** a, int n) {
  int flags = n > 1 ? (int)num(a[1]) : 0;
  int rc = umount2(a[0], flags);
  kv_str("target", a[0]);
  kv_result(rc == 0);
}

static void st_sethostname(char** a, int n UNUSED) {
  int rc = sethostname(a[0], strlen(a[0]));
  kv_str("name", a[0]);
  kv_result(rc == 0);
}

// ---------------------------------------------------------------------------
// Network steps.

static void st_socket(char** a, int n) {
  int domain = socket_domain(a[0]), type = socket_type(a[1]);
  int proto = 0;
  if (n > 2) {
    proto = (int)num(a[2]);
  } else if (type == SOCK_RAW && domain == AF_INET) {
    proto = IPPROTO_ICMP;  // raw sockets need a protocol; ICMP is what ping would use
  } else if (type == SOCK_RAW && domain == AF_INET6) {
    proto = IPPROTO_ICMPV6;
  }
  int fd = socket(domain, type | SOCK_CLOEXEC, proto);
  kv_str("domain", a[0]);
  kv_str("type", a[1]);
  kv_int("proto", proto);
  kv_result(fd >= 0);
  if (fd >= 0) close(fd);
}

static void st_bind_tcp(char** a, int n UNUSED) {
  long long port = num(a[0]);
  kv_int("port", port);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    kv_str("stage", "socket");
    kv_result(0);
    return;
  }
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_ANY);
  int rc = bind(fd, (struct sockaddr*)&sa, sizeof sa);
  kv_str("stage", "bind");
  kv_result(rc == 0);
  close(fd);
}

// ---------------------------------------------------------------------------
// Credential and namespace steps. Raw syscalls: glibc's wrappers would broadcast the
// change to all threads, which hides what the single kernel call itself allows.

static void id_result(long rc) {
  kv_result(rc == 0);
  report_ids();
}

static void st_setuid(char** a, int n UNUSED) {
  id_result(syscall(SYS_setuid, (long)num(a[0])));
}
static void st_setgid(char** a, int n UNUSED) {
  id_result(syscall(SYS_setgid, (long)num(a[0])));
}

static void st_seteuid(char** a, int n UNUSED) {
  id_result(syscall(SYS_setresuid, -1L, (long)num(a[0]), -1L));
}

static void st_setresuid(char** a, int n UNUSED) {
  id_result(syscall(SYS_setresuid, (long)num(a[0]), (long)num(a[1]), (long)num(a[2])));
}

static void st_unshare(char** a, int n UNUSED) {
  int rc = unshare(ns_flags(a[0]));
  kv_str("flags", a[0]);
  kv_result(rc == 0);
}

static void st_syscall(char** a, int n) {
  long args[6] = {0};
  for (int i = 1; i < n; i++)
    args[i - 1] = (long)num(a[i]);
  long nr = (long)num(a[0]);
  long ret = syscall(nr, args[0], args[1], args[2], args[3], args[4], args[5]);
  kv_int("nr", nr);
  kv_int("ret", ret);
  kv_result(ret != -1);
}

// Like "syscall", with a SIGSYS handler installed first: SCMP_ACT_TRAP delivers SIGSYS with
// si_code SYS_SECCOMP and lets the process live, which tells it apart from the KILL actions.
static volatile sig_atomic_t g_sys_caught, g_sys_code, g_sys_nr, g_sys_data;

static void on_sigsys(int sig UNUSED, siginfo_t* si, void* ctx UNUSED) {
  g_sys_caught = 1;
  g_sys_code = si->si_code;
  g_sys_nr = si->si_syscall;
  g_sys_data = si->si_errno;  // SECCOMP_RET_DATA of the filter's answer
}

static void st_syscall_trap(char** a, int n) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sigsys;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSYS, &sa, NULL);
  g_sys_caught = 0;
  long args[6] = {0};
  for (int i = 1; i < n; i++)
    args[i - 1] = (long)num(a[i]);
  long nr = (long)num(a[0]);
  errno = 0;
  long ret = syscall(nr, args[0], args[1], args[2], args[3], args[4], args[5]);
  int e = errno;
  signal(SIGSYS, SIG_DFL);
  kv_int("nr", nr);
  kv_bool("trapped", g_sys_caught);
  if (g_sys_caught) {
    kv_int("si_code", g_sys_code);
    kv_int("si_syscall", g_sys_nr);
  }
  errno = e;
  kv_int("ret", ret);
  kv_result(ret != -1);
}

static void st_personality(char** a, int n UNUSED) {
  unsigned long persona = (unsigned long)num(a[0]);
  long ret = syscall(SYS_personality, persona);
  kv_int("arg", (long long)persona);
  kv_int("ret", ret);
  kv_result(ret != -1);
}

static void st_init_module(char** a UNUSED, int n UNUSED) {
  long ret = syscall(SYS_finit_module, -1L, "", 0L);
  kv_int("ret", ret);
  kv_result(ret == 0);
}

// ---------------------------------------------------------------------------
// Process steps.

static void st_kill(char** a, int n UNUSED) {
  pid_t pid = (pid_t)num(a[0]);
  int sig = signal_number(a[1]);
  int rc = kill(pid, sig);
  kv_int("pid", pid);
  kv_int("sig", sig);
  kv_result(rc == 0);
}

static void st_getpid(char** a UNUSED, int n UNUSED) {
  kv_int("pid", getpid());
  kv_int("ppid", getppid());
}

// getpid through the 32-bit syscall table (int 0x80) from this 64-bit program: a filter
// written for one ABI must not be bypassable through another.
static void st_syscall32(char** a UNUSED, int n UNUSED) {
#if defined(__x86_64__)
  long r = 20; /* __NR_getpid in the i386 table */
  __asm__ volatile("int $0x80" : "+a"(r) : : "memory");
  kv_result(r > 0);
  kv_int("ret", r);
#else
  kv_result(0);
  kv_str("error", "not x86_64");
#endif
}

// getpid through the x32 table (the syscall number with bit 30 set): a native-only filter must
// stop it; without a filter the kernel answers (x32 enabled) or refuses with ENOSYS.
static void st_syscall_x32(char** a UNUSED, int n UNUSED) {
#if defined(__x86_64__)
  long r = syscall(39L | 0x40000000L); /* __NR_getpid | __X32_SYSCALL_BIT */
  kv_result(r > 0);
  kv_int("ret", r);
  if (r < 0) kv_int("errno", errno);
#else
  kv_result(0);
  kv_str("error", "not x86_64");
#endif
}

// The session: its id against our pid, and whether a controlling terminal can be opened.
static void st_session(char** a UNUSED, int n UNUSED) {
  kv_int("pid", getpid());
  kv_int("sid", getsid(0));
  kv_int("pgid", getpgid(0));
  int fd = open("/dev/tty", O_RDWR | O_NOCTTY);
  kv_bool("ctty", fd >= 0);
  if (fd < 0) kv_int("ttyErrno", errno);
  if (fd >= 0) close(fd);
  kv_result(1);
}

// The session keyring: its serial and description, and whether a "user" key named a[0] (one
// the runtime's caller put in its own session keyring) can be found from here.
static void st_keyring(char** a, int n UNUSED) {
  long ses =
      syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* KEY_SPEC_SESSION_KEYRING */, 0);
  kv_int("session", ses < 0 ? -errno : ses);
  char desc[128] = "";
  if (ses >= 0 && syscall(SYS_keyctl, 6 /* KEYCTL_DESCRIBE */, ses, desc, sizeof desc - 1) < 0)
    desc[0] = '\0';
  desc[sizeof desc - 1] = '\0';
  kv_str("desc", desc);
  long key = syscall(SYS_keyctl, 10 /* KEYCTL_SEARCH */, -3, "user", a[0], 0);
  kv_bool("found", key >= 0);
  if (key < 0) kv_int("searchErrno", errno);
  kv_result(ses >= 0);
}

static void st_ps(char** a UNUSED, int n UNUSED) {
  IntVec pids = {0};
  int rc = list_numbers("/proc", 0, &pids);
  kv_result(rc == 0);
  j_key("pids");
  if (rc == 0) {
    j_intvec(&pids);
  } else {
    j_null();
  }
  free(pids.v);
}

static void st_ptrace(char** a, int n UNUSED) {
  pid_t pid = (pid_t)num(a[0]);
  long rc = ptrace(PTRACE_ATTACH, pid, NULL, NULL);
  kv_int("pid", pid);
  kv_result(rc == 0);
  if (rc != 0) return;
  int status;
  waitpid(pid, &status, __WALL);  // the tracee must be stopped before it can be detached
  ptrace(PTRACE_DETACH, pid, NULL, NULL);
}

static void st_proc_exe(char** a, int n UNUSED) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "/proc/%s/exe", a[0]);
  kv_str("mode", a[1]);
  open_step(path, exe_mode(a[1]));
}

static void st_signal(char** a, int n UNUSED) {
  int sig = signal_number(a[0]);
  int rc = raise(sig);
  kv_int("sig", sig);  // only printed if the process survived its own signal
  kv_result(rc == 0);
}

static void st_exit(char** a, int n UNUSED) {
  long long code = num(a[0]);
  kv_int("code", code);
  line_end();
  _exit((int)code);
}

static void st_echo(char** a, int n UNUSED) {
  kv_str("text", a[0]);
}

// sd_notify(3) by hand: one datagram to $NOTIFY_SOCKET, as a service tells systemd it is ready.
static void st_sd_notify(char** a, int n UNUSED) {
  const char* path = getenv("NOTIFY_SOCKET");
  kv_str("socket", path ? path : "");
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (!path || strlen(path) >= sizeof addr.sun_path) {
    errno = EINVAL;
    kv_result(0);
    return;
  }
  strcpy(addr.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int ok = fd >= 0 && sendto(fd, a[0], strlen(a[0]), 0, (struct sockaddr*)&addr, sizeof addr) >= 0;
  kv_result(ok);
  if (fd >= 0) close(fd);
}

// Nothing is printed on success: the new program's output follows instead.
static void st_exec(char** a, int n UNUSED) {
  execv(a[0], a);
  path_result(a[0], 0);
}

// ---------------------------------------------------------------------------
// Resource steps.

static void st_nofile(char** a, int n UNUSED) {
  long long want = num(a[0]);
  const char* path = "/dev/null";
  int flags = O_RDONLY | O_CLOEXEC;
  if (access(path, F_OK) != 0) {
    path = "/";  // no /dev/null in a bare rootfs: an O_PATH fd still counts against the limit
    flags = O_PATH | O_CLOEXEC;
  }
  int* fds = malloc(((size_t)want + 1) * sizeof *fds);
  long long opened = 0;
  int err = 0;
  while (fds && opened < want) {
    int fd = open(path, flags);
    if (fd < 0) {
      err = errno;
      break;
    }
    fds[opened++] = fd;
  }
  kv_str("path", path);
  kv_int("requested", want);
  kv_int("opened", opened);
  errno = fds ? err : ENOMEM;
  kv_result(fds && opened == want);
  for (long long i = 0; i < opened; i++)
    close(fds[i]);
  free(fds);
}

static void st_alloc(char** a, int n) {
  long long mib = num(a[0]);
  int touch = n > 1;
  size_t bytes = (size_t)mib << 20;
  void* p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  int ok = p != MAP_FAILED;
  int e = errno;
  long page = sysconf(_SC_PAGESIZE);
  // Touching faults every page in, which is what makes a memory limit bite.
  for (size_t off = 0; ok && touch && off < bytes; off += (size_t)page) {
    ((volatile char*)p)[off] = 1;
  }
  kv_int("mib", mib);
  kv_bool("touch", touch);
  errno = e;
  kv_result(ok);
  if (ok) munmap(p, bytes);
}

static double now(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

// Burns CPU rather than sleeping, so CPU quotas and RLIMIT_CPU have something to act on.
static void st_spin(char** a, int n UNUSED) {
  double limit = secs(a[0]);
  double wall0 = now(CLOCK_MONOTONIC), cpu0 = now(CLOCK_PROCESS_CPUTIME_ID);
  volatile unsigned long sink = 0;
  while (now(CLOCK_MONOTONIC) - wall0 < limit) {
    for (unsigned long i = 0; i < 1000000; i++)
      sink += i;
  }
  kv_bool("done", 1);
  kv_dbl("wall", now(CLOCK_MONOTONIC) - wall0);
  kv_dbl("cpu", now(CLOCK_PROCESS_CPUTIME_ID) - cpu0);
}

static void st_sleep(char** a, int n UNUSED) {
  double d = secs(a[0]);
  struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
  kv_dbl("seconds", d);
  kv_bool("ok", 1);
}

// ---------------------------------------------------------------------------
// Escape attempts.

static int errno_of(int rc) {
  return rc == 0 ? 0 : errno;
}

// The classic chroot escape: chroot into a subdirectory while the cwd stays outside it,
// then walk ".." up to the real root. A pivot_root'ed container with the old root
// unmounted must leave root_entries unchanged.
static void st_chroot_escape(char** a UNUSED, int n UNUSED) {
  char dir[64];
  snprintf(dir, sizeof dir, "nyx-escape.%d", (int)getpid());
  int mk = mkdir(dir, 0700) == 0 || errno == EEXIST ? 0 : errno;
  if (mk != 0 && chdir("/tmp") == 0) mk = mkdir(dir, 0700) == 0 || errno == EEXIST ? 0 : errno;
  int cr = errno_of(chroot(dir));
  for (int i = 0; i < 64; i++) {
    if (chdir("..") != 0) break;
  }
  int cr2 = errno_of(chroot("."));
  kv_str("dir", dir);
  kv_int("mkdir_errno", mk);
  kv_int("chroot_errno", cr);
  kv_int("chroot2_errno", cr2);
  kv_bool("ok", cr == 0 && cr2 == 0);
  kv_cwd("cwd");
  kv_names("root_entries", "/");
}

static void st_fdwalk(char** a UNUSED, int n UNUSED) {
  IntVec fds = {0};
  int rc = list_numbers("/proc/self/fd", 1, &fds);
  kv_result(rc == 0);
  j_key("fds");
  if (rc != 0) {
    j_null();
    return;
  }
  j_open('[');
  for (size_t i = 0; i < fds.n; i++) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%lld", fds.v[i]);
    j_open('{');
    kv_int("fd", fds.v[i]);
    kv_readlink("target", path);
    j_close('}');
  }
  j_close(']');
  free(fds.v);
}

// A directory fd leaked into the container lets chdir() land outside its root.
static void st_cwd_escape(char** a, int n UNUSED) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%lld", num(a[0]));
  path_result(path, chdir(path) == 0);
  kv_cwd("cwd");
  kv_names("entries", ".");
}

// ---------------------------------------------------------------------------
// Dispatch.

// Spec letters, one per argument: s string, n integer, u non-negative integer,
// d seconds, g signal, D socket domain, T socket type, U namespace list,
// m proc-exe mode, t the word "touch". Letters after '|' are optional; a trailing '*'
// makes the step take every remaining argument, '+' included (exec).
static const struct step {
  const char* name;
  const char* spec;
  void (*fn)(char** a, int n);
} kSteps[] = {
    {"report", "", st_report},
    {"status", "", st_status},
    {"sched", "", st_sched},
    {"read", "s", st_read},
    {"cat", "s", st_cat},
    {"write", "s|s", st_write},
    {"openw", "s", st_openw},
    {"openrw", "s", st_openrw},
    {"stat", "s", st_stat},
    {"ls", "s", st_ls},
    {"readlink", "s", st_readlink},
    {"mkdir", "s", st_mkdir},
    {"rmdir", "s", st_rmdir},
    {"unlink", "s", st_unlink},
    {"symlink", "ss", st_symlink},
    {"chdir", "s", st_chdir},
    {"chroot", "s", st_chroot},
    {"mount", "sss|n", st_mount},
    {"umount", "s|n", st_umount},
    {"sethostname", "s", st_sethostname},
    {"socket", "DT|n", st_socket},
    {"bind-tcp", "u", st_bind_tcp},
    {"setuid", "n", st_setuid},
    {"setgid", "n", st_setgid},
    {"setresuid", "nnn", st_setresuid},
    {"seteuid", "n", st_seteuid},
    {"unshare", "U", st_unshare},
    {"syscall", "n|nnnnnn", st_syscall},
    {"syscall-trap", "n|nnnnnn", st_syscall_trap},
    {"personality", "n", st_personality},
    {"kill", "ng", st_kill},
    {"getpid", "", st_getpid},
    {"session", "", st_session},
    {"keyring", "s", st_keyring},
    {"ps", "", st_ps},
    {"syscall32", "", st_syscall32},
    {"syscall-x32", "", st_syscall_x32},
    {"nofile", "u", st_nofile},
    {"alloc", "u|t", st_alloc},
    {"spin", "d", st_spin},
    {"sleep", "d", st_sleep},
    {"exit", "n", st_exit},
    {"signal", "g", st_signal},
    {"echo", "s", st_echo},
    {"sd-notify", "s", st_sd_notify},
    {"exec", "s*", st_exec},
    {"chroot-escape", "", st_chroot_escape},
    {"fdwalk", "", st_fdwalk},
    {"proc-exe", "sm", st_proc_exe},
    {"ptrace", "n", st_ptrace},
    {"init-module", "", st_init_module},
    {"cwd-escape", "u", st_cwd_escape},
};

static int arg_ok(char kind, const char* s) {
  long long v;
  double d;
  switch (kind) {
    case 's':
      return 1;
    case 'n':
      return parse_num(s, &v);
    case 'u':
      return parse_num(s, &v) && v >= 0 && v <= INT_MAX;
    case 'd':
      return parse_secs(s, &d);
    case 'g':
      return signal_number(s) >= 0;
    case 'D':
      return socket_domain(s) >= 0;
    case 'T':
      return socket_type(s) >= 0;
    case 'U':
      return ns_flags(s) >= 0;
    case 'm':
      return exe_mode(s) >= 0;
    case 't':
      return strcmp(s, "touch") == 0;
  }
  return 0;
}

static int args_ok(const char* spec, char** a, int n) {
  int i = 0, optional = 0;
  for (const char* p = spec; *p; p++) {
    if (*p == '|') {
      optional = 1;
    } else if (*p == '*') {
      return 1;
    } else if (i >= n) {
      return optional;
    } else if (!arg_ok(*p, a[i++])) {
      return 0;
    }
  }
  return i == n;
}

static const struct step* find_step(const char* name) {
  for (size_t i = 0; i < sizeof kSteps / sizeof kSteps[0]; i++) {
    if (strcmp(kSteps[i].name, name) == 0) return &kSteps[i];
  }
  return NULL;
}

typedef struct {
  const struct step* st;
  char** args;
  int n;
} Segment;

static int usage(const char* message, const char* arg, const char* spec) {
  line_begin("usage");
  kv_bool("ok", 0);
  kv_str("error", "usage");
  kv_str("message", message);
  kv_str("arg", arg);
  kv_str("spec", spec);
  line_end();
  return -1;
}

// Splits argv at lone "+" arguments and validates every step before any of them runs.
static int parse(int argc, char** argv, Segment* segs) {
  int count = 0;
  if (argc < 2) return usage("usage: nyx-probe STEP [ARGS...] [+ STEP [ARGS...]]...", NULL, NULL);
  for (int i = 1; i < argc;) {
    const struct step* st = find_step(argv[i]);
    if (!st) return usage("unknown step", argv[i], NULL);
    int start = ++i;
    int rest = strchr(st->spec, '*') != NULL;
    while (i < argc && (rest || strcmp(argv[i], "+"))) {
      i++;
    }
    if (!args_ok(st->spec, argv + start, i - start)) {
      return usage("bad arguments", st->name, st->spec);
    }
    segs[count++] = (Segment){st, argv + start, i - start};
    if (i < argc) i++;  // skip the "+"
    if (i == argc && i > start && !rest && !strcmp(argv[i - 1], "+")) {
      return usage("trailing +", st->name, NULL);
    }
  }
  return count;
}

int main(int argc, char** argv) {
  g_argv0 = argv[0];
  Segment* segs = calloc((size_t)argc, sizeof *segs);
  if (!segs) return 70;
  int count = parse(argc, argv, segs);
  if (count < 0) return 2;
  for (int i = 0; i < count; i++) {
    line_begin(segs[i].st->name);
    segs[i].st->fn(segs[i].args, segs[i].n);
    line_end();
  }
  free(segs);
  return 0;
}
