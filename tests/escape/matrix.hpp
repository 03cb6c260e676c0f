// The escape-fixture matrix (issue 4, SPEC §4 ablation and §7 security): every hardening
// primitive must stop one concrete escape under the strict profile and let it through once
// that primitive alone is ablated; the host-safety fixtures must hold in every run.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/harness.hpp"

namespace nyx::escape {

using nlohmann::json;

// Skipped: the host lacks what the fixture needs (AppArmor for profile-denied-read), so the
// cell proves nothing either way; it is reported and counted apart, never as blocked.
enum class Verdict { Blocked, Escaped, Error, Skipped };
const char* verdict_name(Verdict v);

// What a cell saw. `state` is the --report state of the run the verdict rests on (null when
// that run was refused at create, which leaves no state).
struct Observation {
  Verdict verdict = Verdict::Error;
  std::string evidence;
  json state;
  bool refused = false;  // the runtime refused the config at create: nothing ran, no state
};

Observation blocked(std::string evidence, json state = json());
Observation escaped(std::string evidence, json state = json());
Observation error(std::string evidence, json state = json());
Observation refused(std::string evidence);
Observation skipped(std::string evidence, json state = json());

struct Ran;
// The harness printed nothing the cell can judge: an error naming the exit and the runtime's
// first error line.
Observation no_output(const Ran& r);
std::string signal_text(int status);

// One container run: `run` unless `wrapper` puts a command in front of the runtime (fd games).
struct Launch {
  json config;
  std::vector<std::string> args;
  std::string ablate;
  std::vector<std::string> flags;
  std::vector<std::string> wrapper;
  int timeout_s = 30;
  std::string id;  // generated when empty
};

struct Ran {
  test::Result res;
  std::vector<json> lines;
  json state;
  std::string id;
};

// Everything the cells share: a rootfs with the probe, the payload and the fixture files, a
// host directory with the secrets, and a private --root. All of it lives under `work` (mode
// 0755 so that the container's mapped root can reach the rootfs) and goes away with Env.
class Env {
 public:
  Env();
  ~Env();
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;

  std::string work, rootfs, host, secret_path;
  const std::string secret = "NYX-ESCAPE-SECRET";
  test::Sandbox sb;

  // `nyx-runtime spec` strict config with `spec_flags`, running on `rootfs`.
  json strict(const std::vector<std::string>& spec_flags = {});
  // A runc-like config: container root is host root (no user namespace), runc's default caps.
  json root_config();
  Ran launch(const Launch& l);
  std::string new_id(const std::string& tag = "c");
  // A private copy of the rootfs for fixtures that must tamper with it.
  std::string rootfs_copy(const std::string& name);
  // IDs started since the last call, so the runner can check their cgroups are gone.
  std::vector<std::string> take_ids();

 private:
  std::vector<std::string> ids_;
  int counter_ = 0;
  std::vector<std::pair<std::vector<std::string>, json>> spec_cache_;
};

struct Cell {
  std::string fixture;
  std::string primitive;  // what the cell measures (a hardening primitive or "host-safety")
  std::string config;     // short name of the config the cell runs
  std::string ablate;     // --ablate list; empty: full hardening
  std::vector<std::string> flags;
  Verdict expect = Verdict::Blocked;
  bool require_full = true;  // the hardened state must read level "full"
  std::function<Observation(Env&, const Cell&)> run;
};

std::vector<Cell> ablation_cells();
std::vector<Cell> host_safety_cells();
// One fixture per published runtime escape that applies to nyx (docs/security.md, CVE table).
std::vector<Cell> cve_cells();
// The classes of issue 17: terminal injection, the session keyring, the runtime binary during
// `exec`, and `exec` keeping the container's mode and ablation mask.
std::vector<Cell> issue17_cells();

// `nyx-escape-matrix --wrap MODE ...` (wrap.cpp): the argv prefix that runs the matrix binary
// as MODE in front of a command, and its entry point.
std::vector<std::string> self_wrapper(const std::vector<std::string>& args);
int wrap_main(int argc, char** argv);

// A container started with `run --detach`: its init's pid, and its stdout and stderr in a file
// (a detached container keeps them after the runtime has exited).
struct Detached {
  std::string id, out_file;
  pid_t pid = -1;
  test::Result res;
  bool started() const { return pid > 0; }
};
Detached run_detached(Env& env, const Launch& l);
// Waits up to `secs` for the process to exit; true when it did.
bool wait_gone(pid_t pid, double secs);
// `state` of a container (null when the runtime has none), and `delete --force`.
json state_of(Env& env, const std::string& id);
void remove_container(Env& env, const std::string& id);
std::vector<json> lines_of(const std::string& file);
// `nyx-runtime exec` in the matrix's --root; `wrapper` goes in front of the runtime.
test::Result nyx_exec(Env& env, const std::vector<std::string>& args,
                      const std::vector<std::string>& wrapper = {}, int timeout_s = 30);

// The second process of a race: exchanges two paths (renameat2 RENAME_EXCHANGE) as fast as it
// can on a thread of its own, until destroyed.
class Flipper {
 public:
  Flipper(std::string a, std::string b);
  ~Flipper();
  Flipper(const Flipper&) = delete;
  Flipper& operator=(const Flipper&) = delete;
  long flips() const;

 private:
  struct Impl;
  Impl* impl_;
};

// Checks the state a cell produced against its ablation list; returns "" or the problem.
std::string check_state(const json& state, const Cell& cell);

// Helpers shared by the fixture files.
json probe_step(const Ran& r, const std::string& name);
// Fields of a probe line that may be missing (the line too): false / "" then.
bool flag(const json& line, const std::string& key);
std::string text(const json& line, const std::string& key);
std::string errno_of(const json& line);
std::string hostname();
std::string read_text(const std::string& path);
void write_text(const std::string& path, const std::string& text);

}  // namespace nyx::escape
