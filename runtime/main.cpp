#include <sys/prctl.h>
#include <unistd.h>

#include "runtime/cli.hpp"
#include "runtime/self_exe.hpp"

int main(int argc, char** argv) {
  // The container init is a clone of this process until it execs the harness: keep it (and
  // us) non-dumpable so nothing in the container can open /proc/PID/exe, the runtime binary
  // (CVE-2019-5736), or ptrace us.
  if (::geteuid() == 0) ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  nyx::remember_argv(argv);
  return nyx::cli_main(argc, argv);
}
