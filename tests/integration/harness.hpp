// Helpers for integration tests: run the real nyx-runtime binary on real bundles as root, and
// read what the probe harness saw from inside.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nyx::test {

using nlohmann::json;

std::string nyx_bin();
std::string probe_bin();

struct Result {
  int status = -1;  // exit code, 128+N for signal N
  std::string out;
  std::string err;
  bool timed_out = false;
};

// Runs argv with `input` on stdin; kills it after `timeout_s`.
Result run(const std::vector<std::string>& argv, const std::string& input = "", int timeout_s = 60);

// A busybox rootfs with the probe at /bin/nyx-probe, made once per test binary and shared
// read-only; tests that change a rootfs make their own with make_rootfs.
const std::string& shared_rootfs();
void make_rootfs(const std::string& dir);

// A private --root and bundle directory; deletes (force) every container left in its root and
// removes its directories.
class Sandbox {
 public:
  Sandbox();
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  std::string dir;     // temporary directory holding everything
  std::string root;    // --root
  std::string bundle;  // bundle directory (config.json; root.path points at the shared rootfs)

  // Container IDs name cgroups, which are machine-wide: make them unique per test process.
  std::string id(const std::string& name) const;

  // The runtime's command line for `args`, with this sandbox's --root.
  std::vector<std::string> nyx_argv(const std::vector<std::string>& args) const;
  // nyx-runtime under a host that forbids system calls: `deny` is "seccomp=EPERM,..."
  // (nyx-errno-wrap rules).
  Result nyx_denied(const std::string& deny, const std::vector<std::string>& args) const;
  Result nyx(const std::vector<std::string>& args, const std::string& input = "",
             int timeout_s = 60) const;
  void write_config(const json& cfg) const;
  json state(const std::string& id) const;
  // Runs `args` (probe steps) in a container with `cfg` and returns the JSON lines it printed.
  std::vector<json> probe(json cfg, const std::vector<std::string>& args, Result* res = nullptr,
                          const std::vector<std::string>& run_flags = {}) const;
};

// A config like `runc spec` (pid, mount, ipc, uts, network namespaces; /proc, /dev, /dev/pts,
// /dev/shm, /sys; masked and read-only paths; no user namespace) running `args`.
json runc_like_config(const std::vector<std::string>& args);
// The strict profile as `nyx-runtime spec` writes it, running `args`.
json strict_config(const std::vector<std::string>& args,
                   const std::vector<std::string>& spec_flags = {});

// Every state (`state ID` in JSON) and --report file the tests saw through run(), kept to be
// validated against docs/state.schema.json when the test binary ends (state_schema.cpp); the
// escape matrix asks at its end.
void remember_state(const json& state);
void remember_states_of(const std::vector<std::string>& argv, const Result& r);
// Runs scripts/validate-states.py over the remembered states (and forgets them): "" when every
// one is valid, else what is wrong.
std::string validate_remembered_states();

std::vector<json> json_lines(const std::string& text);
// The first line whose "step" is `step`; a null json when there is none.
json step(const std::vector<json>& lines, const std::string& name);

// Mount points from /proc/self/mountinfo that start with `prefix`.
std::vector<std::string> mounts_under(const std::string& prefix);
bool path_exists(const std::string& path);
// Every entry of a directory, hidden ones too (not "." and ".."); empty when it does not exist.
std::vector<std::string> dir_entries(const std::string& dir);
// argv for execv: pointers into `args`, null-terminated.
std::vector<char*> c_argv(const std::vector<std::string>& args);

}  // namespace nyx::test
