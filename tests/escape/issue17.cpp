// The classes of issue 17 that runc closes and nyx did not (measured at 835dffc), written before
// the runtime side: terminal injection through the caller's controlling terminal (primitive
// `session`), the caller's session keyring (primitive `keyring`), and `exec` keeping the
// container's mode and ablation mask. The runtime binary during `exec` is in cve.cpp
// (exec-joiner-exe, exe-reexec-exec), with the rest of the CVE-2019-5736 family.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "tests/escape/matrix.hpp"

namespace nyx::escape {

namespace {

const std::string kProbe = "/bin/nyx-probe";
const std::string kPayload = "/bin/nyx-escape-payload";

std::string runtime_error(const test::Result& res) {
  std::string line = res.err.substr(0, res.err.find('\n'));
  std::size_t colon = line.find(": ");
  return colon == std::string::npos ? line : line.substr(colon + 2);
}

std::string errno_name(long err) {
  if (err == 0) return "ok";
  const char* n = strerrorname_np(static_cast<int>(err));
  return n != nullptr ? n : std::to_string(err);
}

long count(const json& j, const std::string& key) {
  return j.is_object() && j.contains(key) && j[key].is_number() ? j[key].get<long>() : 0;
}

// ---- terminal injection (bubblewrap CVE-2017-5226, flatpak CVE-2019-10063) ------------------

// A pty pair of the matrix's own: the runtime's caller gets the slave as controlling terminal
// (wrap.cpp, mode session); what TIOCSTI pushes lands in the slave's input queue.
class Pty {
 public:
  Pty() {
    master_ = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master_ < 0 || grantpt(master_) != 0 || unlockpt(master_) != 0) return;
    char name[64];
    if (ptsname_r(master_, name, sizeof name) == 0) slave_ = name;
  }
  ~Pty() {
    if (master_ >= 0) close(master_);
  }
  Pty(const Pty&) = delete;
  Pty& operator=(const Pty&) = delete;
  bool ok() const { return !slave_.empty(); }
  const std::string& slave() const { return slave_; }

 private:
  int master_ = -1;
  std::string slave_;
};

json tty_config(Env& env, const Cell& c) {
  if (c.config.rfind("runc-like", 0) == 0) return env.root_config();
  json cfg = env.strict();
  if (c.config.find("-seccomp") != std::string::npos) cfg["linux"].erase("seccomp");
  return cfg;
}

// Which of the three injections reached the caller's terminal.
std::string injected(const std::string& queue) {
  std::string out;
  const char* names[] = {"fd 0", "/dev/tty", "TIOCSTI|1<<32"};
  for (int i = 0; i < 3; ++i) {
    if (queue.find("NYXSTI" + std::to_string(i)) != std::string::npos) {
      out += (out.empty() ? "" : ", ") + std::string(names[i]);
    }
  }
  return out;
}

Observation tty_verdict(const json& sti, const json& queue, const json& state) {
  std::string got = injected(queue.value("data", ""));
  std::string ev = "TIOCSTI via fd 0 " + errno_name(count(sti, "fd0")) + ", via /dev/tty " +
                   errno_name(count(sti, "devtty")) + ", with 1<<32 " +
                   errno_name(count(sti, "highbits")) + ", TIOCLINUX " +
                   errno_name(count(sti, "tioclinux"));
  if (!got.empty())
    return escaped("typed into the caller's terminal via " + got + "; " + ev, state);
  return blocked("caller's input queue empty; " + ev, state);
}

Observation fx_tiocsti(Env& env, const Cell& c) {
  Pty pty;
  if (!pty.ok()) return error("cannot open a pty");
  bool detach = c.config.find("--detach") != std::string::npos;
  Launch l;
  l.config = tty_config(env, c);
  l.ablate = c.ablate;
  l.flags = c.flags;
  if (!detach) {
    l.args = {kPayload, "tiocsti", "0"};
    l.wrapper = self_wrapper({"session", pty.slave()});
    Ran r = env.launch(l);
    json sti = probe_step(r, "tiocsti"), queue = probe_step(r, "tty-queue");
    if (sti.is_null() || queue.is_null()) return no_output(r);
    return tty_verdict(sti, queue, r.state);
  }
  // --detach: the runtime returns at once (the caller's shell is back at its prompt); the
  // harness injects 0.3 s later. The wrapper waits for the container, then drains the queue.
  l.id = env.new_id("tty");
  std::string pid_file = env.sb.dir + "/" + l.id + ".tty-pid";
  l.args = {kPayload, "tiocsti", "0.3"};
  l.wrapper = self_wrapper({"session", pty.slave(), pid_file, "5"});
  l.flags.insert(l.flags.end(), {"--detach", "--pid-file", pid_file});
  Ran r = env.launch(l);
  json state = state_of(env, l.id);
  remove_container(env, l.id);
  unlink(pid_file.c_str());
  json sti = probe_step(r, "tiocsti"), queue = probe_step(r, "tty-queue");
  if (queue.is_null()) return no_output(r);
  if (sti.is_null()) {
    // The harness's stdout is the runtime's, which the wrapper captured until it exited.
    return error("the detached harness printed nothing: " + runtime_error(r.res), state);
  }
  return tty_verdict(sti, queue, state);
}

// ---- the caller's session keyring ---------------------------------------------------------

// The runtime's caller joins a session keyring of its own and adds a user key to it (as a login
// session caches credentials); the harness searches its session keyring for that key.
Observation fx_keyring(Env& env, const Cell& c) {
  std::string desc = "nyx-escape-" + std::to_string(getpid());
  Launch l;
  l.config =
      c.config.rfind("runc-like", 0) == 0 ? env.root_config() : env.strict({"--allow", "keyring"});
  l.args = {kPayload, "keyring", desc};
  l.ablate = c.ablate;
  l.flags = c.flags;
  l.wrapper = self_wrapper({"keyring", desc, env.secret});
  Ran r = env.launch(l);
  json k = probe_step(r, "keyring");
  if (k.is_null()) return no_output(r);
  std::string ses =
      "session keyring " + k["session"].dump() + " \"" + k.value("session_desc", "") + "\"";
  if (k.value("found", false) && k.value("data", "") == env.secret) {
    return escaped("read the caller's key from " + ses, r.state);
  }
  if (k.value("found", false)) {
    return escaped(
        "found the caller's key (read " + errno_name(count(k, "read_errno")) + ") in " + ses,
        r.state);
  }
  return blocked("key not found (" + errno_name(count(k, "search_errno")) + "); " + ses, r.state);
}

// ---- exec keeps the container's mode and ablation mask --------------------------------------

// `run --detach --enforce --ablate caps` under the strict profile, then `exec`: the exec record
// (state hardening.execs) must say enforce and [caps], and the exec'd process must really run
// with the capability sets ablated (the user namespace's full set, not the profile's empty one).
Observation fx_exec_mode(Env& env, const Cell& c) {
  Launch l;
  l.config = env.strict();
  l.args = {kProbe, "sleep", "5"};
  l.ablate = c.ablate;
  l.flags = c.flags;
  Detached d = run_detached(env, l);
  if (!d.started()) return error("the container did not start: " + runtime_error(d.res));
  test::Result e = nyx_exec(env, {d.id, kProbe, "status"});
  json state = state_of(env, d.id);
  remove_container(env, d.id);
  json s = test::step(test::json_lines(e.out), "status");
  if (s.is_null()) return error("exec: " + runtime_error(e), state);
  if (!state.is_object()) return error("no state", state);
  const json& execs = state["hardening"].value("execs", json::array());
  if (!execs.is_array() || execs.empty()) return escaped("no exec record in the state", state);
  const json& rec = execs.back();
  std::string mode = rec.value("mode", "?");
  std::string mask = rec.value("ablation", json::array()).dump();
  std::string caps = s.value("CapEff", "?");
  std::string ev = "exec record mode " + mode + ", ablation " + mask + "; exec'd CapEff " + caps;
  // The container's own mask, as its record names it (canonical names: "caps" reads
  // "capabilities"); the state check has compared it with the cell's --ablate list.
  json want = state["hardening"].value("ablation", json::array());
  bool kept = mode == "enforce" && !want.empty() && rec.value("ablation", json::array()) == want &&
              caps != "0000000000000000";
  if (!kept) return escaped("exec ran without the container's mode or mask: " + ev, state);
  return blocked(ev, state);
}

// ---- clone(CLONE_NEWUSER) past the strict filter ----------------------------------------------

// Issue 17: the strict filter must deny clone/clone3 with namespace flags unless the
// `namespaces` group is allowed (Docker's default profile has the same argument rule).
Observation fx_clone_ns(Env& env, const Cell& c) {
  Launch l;
  l.config = env.strict();
  l.args = {kPayload, "clone-ns"};
  l.ablate = c.ablate;
  l.flags = c.flags;
  Ran r = env.launch(l);
  json s = probe_step(r, "clone-ns");
  if (s.is_null()) return no_output(r);
  std::string ev = "clone(CLONE_NEWUSER) " + errno_name(count(s, "clone")) +
                   ", clone3(CLONE_NEWUSER) " + errno_name(count(s, "clone3"));
  if (count(s, "clone") == 0 || count(s, "clone3") == 0) return escaped(ev, r.state);
  return blocked(ev, r.state);
}

Cell make(const std::string& fixture, const std::string& primitive, const std::string& config,
          const std::string& ablate, Verdict expect, Observation (*fn)(Env&, const Cell&)) {
  Cell c;
  c.fixture = fixture;
  c.primitive = primitive;
  c.config = config;
  c.ablate = ablate;
  c.expect = expect;
  c.run = fn;
  return c;
}

}  // namespace

std::vector<Cell> issue17_cells() {
  constexpr Verdict B = Verdict::Blocked;
  constexpr Verdict E = Verdict::Escaped;
  std::vector<Cell> out = {
      make("terminal-injection", "session", "strict -seccomp", "", B, fx_tiocsti),
      make("terminal-injection", "session", "strict -seccomp", "session", E, fx_tiocsti),
      make("terminal-injection", "session", "strict -seccomp, --detach", "", B, fx_tiocsti),
      make("terminal-injection", "session", "strict -seccomp, --detach", "session", E, fx_tiocsti),
      make("terminal-injection", "session", "runc-like root", "", B, fx_tiocsti),
      make("tiocsti-highbits", "seccomp", "strict", "session", B, fx_tiocsti),
      make("tiocsti-highbits", "seccomp", "strict", "session,seccomp", E, fx_tiocsti),
      make("session-keyring", "keyring", "strict +keyring", "", B, fx_keyring),
      make("session-keyring", "keyring", "strict +keyring", "keyring", E, fx_keyring),
      make("session-keyring", "keyring", "runc-like root", "", B, fx_keyring),
  };
  out.push_back(make("clone-newuser", "seccomp", "strict", "", B, fx_clone_ns));
  out.push_back(make("clone-newuser", "seccomp", "strict", "seccomp", E, fx_clone_ns));
  Cell mode = make("exec-hardening", "exec", "strict", "caps", B, fx_exec_mode);
  mode.flags = {"--enforce"};
  out.push_back(mode);
  return out;
}

}  // namespace nyx::escape
