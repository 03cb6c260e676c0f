// libFuzzer target: config.json text through the strict parser, the config model's validation
// and the hardening plan (mount resolution in a scratch rootfs, seccomp compilation,
// namespaces, capabilities, the child's argv/envp). Any exception other than nyx::Error, any
// sanitizer report or any crash is a bug: hostile input must end in a one-line error.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "base/error.hpp"
#include "bundle/config.hpp"
#include "runtime/plan.hpp"

namespace {

std::string scratch_rootfs;

void remove_scratch() {
  if (scratch_rootfs.empty()) return;
  std::string cmd = "rm -rf '" + scratch_rootfs + "'";
  [[maybe_unused]] int rc = std::system(cmd.c_str());
}

// Mount targets are created in the rootfs while planning: give them a private directory.
const std::string& rootfs() {
  if (scratch_rootfs.empty()) {
    // $TMPDIR: scripts/fuzz.sh points it into build-fuzz/, so a crash leaves nothing in /tmp.
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/nyx-fuzz-rootfs.XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    scratch_rootfs = tmpl;
    for (const char* d : {"/bin", "/etc", "/proc", "/dev", "/tmp"})
      ::mkdir((scratch_rootfs + d).c_str(), 0755);
    std::atexit(remove_scratch);
  }
  return scratch_rootfs;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    nyx::Config cfg = nyx::parse_config(text);
    if (!cfg.process) return 0;
    nyx::PlanInput in;
    in.cfg = &cfg;
    in.bundle = "/tmp";
    in.rootfs = rootfs();
    in.rootless = false;
    nyx::BuiltPlan plan = nyx::build_plan(in);
    (void)plan;
  } catch (const nyx::Error& e) {
    // The expected way out: one line naming the field.
    std::string_view msg = e.what();
    if (msg.empty()) std::abort();
  }
  return 0;
}
