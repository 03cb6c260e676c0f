/* nyx-errno-wrap RULE... -- COMMAND [ARG...]
 *
 * Runs COMMAND under a seccomp filter that makes the named system calls fail, the way a kernel
 * without them (or a container engine's profile) would: RULE is NAME=ERRNO or NAME:ARG0=ERRNO
 * (only calls whose first argument is ARG0), ERRNO a number or ENOSYS, EPERM, EINVAL, EACCES.
 * The tests reproduce causes with it ("seccomp missing", "Landlock missing") on a kernel that
 * has both. No no_new_privs: the command keeps the privileges it would have had.
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int errno_of(const char* s) {
  if (strcmp(s, "ENOSYS") == 0) return ENOSYS;
  if (strcmp(s, "EPERM") == 0) return EPERM;
  if (strcmp(s, "EINVAL") == 0) return EINVAL;
  if (strcmp(s, "EACCES") == 0) return EACCES;
  if (strcmp(s, "EOPNOTSUPP") == 0) return EOPNOTSUPP;
  return atoi(s);
}

int main(int argc, char** argv) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == NULL || seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) != 0) return 125;
  int i = 1;
  for (; i < argc && strcmp(argv[i], "--") != 0; ++i) {
    char rule[256];
    snprintf(rule, sizeof rule, "%s", argv[i]);
    char* eq = strchr(rule, '=');
    if (eq == NULL) {
      fprintf(stderr, "nyx-errno-wrap: bad rule %s\n", argv[i]);
      return 125;
    }
    *eq = '\0';
    char* colon = strchr(rule, ':');
    if (colon != NULL) *colon = '\0';
    int nr = seccomp_syscall_resolve_name(rule);
    if (nr == __NR_SCMP_ERROR) {
      fprintf(stderr, "nyx-errno-wrap: unknown system call %s\n", rule);
      return 125;
    }
    int rc = colon != NULL
                 ? seccomp_rule_add(ctx, SCMP_ACT_ERRNO(errno_of(eq + 1)), nr, 1,
                                    SCMP_A0(SCMP_CMP_EQ, strtoull(colon + 1, NULL, 0)))
                 : seccomp_rule_add(ctx, SCMP_ACT_ERRNO(errno_of(eq + 1)), nr, 0);
    if (rc != 0) return 125;
  }
  if (i + 1 >= argc) {
    fprintf(stderr, "usage: nyx-errno-wrap RULE... -- COMMAND [ARG...]\n");
    return 125;
  }
  if (seccomp_load(ctx) != 0) return 125;
  execvp(argv[i + 1], argv + i + 1);
  perror("nyx-errno-wrap: exec");
  return 127;
}
