/* nyx-deny: runs a command under a seccomp filter that makes the named system calls fail, as a
 * sandboxed host does (a container engine's default profile, a CI sandbox). The tests use it to
 * see what nyx records when the host forbids a protection.
 *
 *   nyx-deny SYSCALL=ERRNO[,SYSCALL=ERRNO...] -- COMMAND [ARGS...]
 *
 * ERRNO is a number. Everything else is allowed. No no_new_privs when run as root, so that the
 * command may still load filters of its own (and gain privileges) as it would on such a host. */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int add_rule(scmp_filter_ctx ctx, char* item) {
  char* eq = strchr(item, '=');
  if (eq == NULL) return -1;
  *eq = '\0';
  int nr = seccomp_syscall_resolve_name(item);
  if (nr == __NR_SCMP_ERROR) {
    fprintf(stderr, "nyx-deny: unknown syscall %s\n", item);
    return -1;
  }
  return seccomp_rule_add(ctx, SCMP_ACT_ERRNO((unsigned)atoi(eq + 1)), nr, 0);
}

int main(int argc, char** argv) {
  if (argc < 4 || strcmp(argv[2], "--") != 0) {
    fprintf(stderr, "usage: nyx-deny SYSCALL=ERRNO[,...] -- COMMAND [ARGS...]\n");
    return 2;
  }
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == NULL) return 2;
  if (geteuid() == 0) seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  for (char* item = strtok(argv[1], ","); item != NULL; item = strtok(NULL, ",")) {
    if (add_rule(ctx, item) != 0) return 2;
  }
  int rc = seccomp_load(ctx);
  if (rc != 0) {
    fprintf(stderr, "nyx-deny: cannot load the filter: %s\n", strerror(-rc));
    return 2;
  }
  seccomp_release(ctx);
  execvp(argv[3], argv + 3);
  fprintf(stderr, "nyx-deny: %s: %s\n", argv[3], strerror(errno));
  return 127;
}
