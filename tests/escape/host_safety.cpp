// The host-safety half of the matrix: no ablation counterpart, blocked in every cell. Each
// fixture runs under the strict profile and under a runc-like config whose container root is
// host root (the case in which a runtime mistake hurts the host most).
#include <dirent.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <thread>

#include "tests/escape/matrix.hpp"

namespace nyx::escape {

namespace {

const std::string kProbe = "/bin/nyx-probe";

json base_config(Env& env, const Cell& c) {
  return c.config == "strict" ? env.strict() : env.root_config();
}

Launch launch_for(Env& env, const Cell& c, std::vector<std::string> args) {
  Launch l;
  l.config = base_config(env, c);
  l.args = std::move(args);
  l.ablate = c.ablate;
  l.flags = c.flags;
  return l;
}

// Puts host objects at fixed fd numbers, without close-on-exec, into the runtime's caller, as
// an engine passing --preserve-fds would (and as a careless one leaks them).
std::vector<std::string> fd_wrapper(const std::string& fd3, const std::string& fd9) {
  std::string script = "exec 3<\"$1\"";
  if (!fd9.empty()) script += " 9<\"$2\"";
  return {"/bin/sh", "-c", script + "; shift 2; exec \"$@\"", "sh", fd3, fd9.empty() ? "-" : fd9};
}

std::string preserved_file(Env& env) {
  std::string path = env.host + "/preserved";
  write_text(path, "preserved\n");
  return path;
}

// fds of the fdwalk line other than stdio and those in `allowed` (fd -> expected target).
std::string foreign_fds(const json& walk, const std::map<int, std::string>& allowed) {
  std::string out;
  for (const auto& f : walk.value("fds", json::array())) {
    int fd = f["fd"];
    std::string target = f["target"].is_string() ? f["target"].get<std::string>() : "?";
    auto it = allowed.find(fd);
    if (fd <= 2 || (it != allowed.end() && it->second == target)) continue;
    out += (out.empty() ? "" : ", ") + std::to_string(fd) + " -> " + target;
  }
  return out;
}

std::string cwd_escapes(const Ran& r) {
  std::string out;
  for (const auto& l : r.lines) {
    if (l.value("step", "") == "cwd-escape" && flag(l, "ok")) {
      out += (out.empty() ? "" : ", ") + l.value("cwd", "?");
    }
  }
  return out;
}

Observation fd_verdict(const Ran& r, const std::string& foreign, const std::string& what) {
  std::string cwd = cwd_escapes(r);
  if (!foreign.empty() || !cwd.empty()) {
    std::string ev = foreign.empty() ? "" : "harness got fds " + foreign;
    if (!cwd.empty()) ev += (ev.empty() ? "" : "; ") + std::string("chdir to ") + cwd;
    return escaped(ev, r.state);
  }
  return blocked(what, r.state);
}

Observation fx_fd_leak(Env& env, const Cell& c) {
  std::string keep = preserved_file(env);
  Launch l = launch_for(env, c, {kProbe, "fdwalk", "+", "cwd-escape", "9"});
  l.wrapper = fd_wrapper(keep, env.host);
  l.flags.insert(l.flags.end(), {"--preserve-fds", "1"});
  Ran r = env.launch(l);
  json walk = probe_step(r, "fdwalk");
  if (walk.is_null()) return no_output(r);
  return fd_verdict(r, foreign_fds(walk, {{3, keep}}),
                    "only 0-2 and the preserved fd 3; host dir fd 9 unreachable");
}

// --preserve-fds names more fds than the caller has open: the missing numbers must stay
// closed, never be filled with the runtime's own fds.
Observation fx_fd_overclaim(Env& env, const Cell& c) {
  std::string keep = preserved_file(env);
  Launch l = launch_for(env, c, {kProbe, "fdwalk", "+", "cwd-escape", "4", "+", "cwd-escape", "5"});
  l.wrapper = fd_wrapper(keep, "");
  l.flags.insert(l.flags.end(), {"--preserve-fds", "3"});
  Ran r = env.launch(l);
  json walk = probe_step(r, "fdwalk");
  if (walk.is_null()) return no_output(r);
  return fd_verdict(r, foreign_fds(walk, {{3, keep}}), "fds 4 and 5 stay closed");
}

// process.cwd through /proc/self/fd/N, for every N the runtime may hold (CVE-2024-21626).
Observation fx_cwd_fd(Env& env, const Cell& c) {
  int refused_n = 0;
  Observation last = blocked("");
  for (int fd = 3; fd <= 9; ++fd) {
    Launch l = launch_for(env, c, {kProbe, "chdir", "."});
    l.config["process"]["cwd"] = "/proc/self/fd/" + std::to_string(fd);
    l.wrapper = fd_wrapper(preserved_file(env), env.host);
    Ran r = env.launch(l);
    json s = probe_step(r, "chdir");
    if (s.is_null()) {
      if (r.res.err.find("process.cwd") == std::string::npos) return no_output(r);
      ++refused_n;
      continue;
    }
    std::string cwd = text(s, "cwd");
    if (cwd.empty() || cwd[0] != '/') {
      return escaped("cwd via fd " + std::to_string(fd) + ": " + cwd, r.state);
    }
    last = blocked(std::to_string(refused_n) + "/7 refused at create, the rest inside the root",
                   r.state);
  }
  if (refused_n == 7) return refused("process.cwd outside the root, for fds 3-9");
  return last;
}

std::size_t file_hash(const std::string& path) {
  return std::hash<std::string>{}(read_text(path));
}

// Runs `exec` into the container a few times while the hunter is looking: once it runs, which
// takes a while where starts are slow (a VM under TCG), and before its hunt is over.
int exec_while_hunting(Env& env, const std::string& id) {
  int ok = 0;
  for (int waited = 0; waited < 30000; waited += 50) {
    test::Result r = env.sb.nyx({"state", id});
    if (r.status == 0 && r.out.find("\"running\"") != std::string::npos) break;
    usleep(50000);
  }
  usleep(100000);
  for (int i = 0; i < 5; ++i) {
    test::Result r = env.sb.nyx({"exec", id, kProbe, "echo", "x"});
    if (r.status == 0) ++ok;
    usleep(100000);
  }
  return ok;
}

std::string errno_text(int err) {
  const char* name = err != 0 ? strerrorname_np(err) : "ok";
  return name != nullptr ? name : std::to_string(err);
}

// CVE-2019-5736 class: while `exec` clones the runtime into the container, the harness looks
// for the runtime binary behind every /proc/PID/exe; the binary's bytes are compared after.
Observation fx_runtime_exe(Env& env, const Cell& c) {
  struct stat st {};
  if (stat(test::nyx_bin().c_str(), &st) != 0) return error("cannot stat the runtime");
  std::size_t before = file_hash(test::nyx_bin());
  Launch l = launch_for(env, c,
                        {"/bin/nyx-escape-payload", "exe-hunt", "2.5", std::to_string(st.st_dev),
                         std::to_string(st.st_ino)});
  l.id = env.new_id("exe");
  Ran r;
  std::thread run([&] { r = env.launch(l); });
  int execs = exec_while_hunting(env, l.id);
  run.join();
  json h = probe_step(r, "exe-hunt");
  if (h.is_null()) return no_output(r);
  if (file_hash(test::nyx_bin()) != before) return escaped("runtime binary changed", r.state);
  if (h["reached"] != 0 || h["write_opened"] != 0) {
    return escaped("reached the runtime binary " + h["reached"].dump() + " times", r.state);
  }
  if (execs == 0) return error("no exec succeeded while hunting", r.state);
  return blocked(std::to_string(execs) + " execs; " + h["tries"].dump() + " /proc/PID/exe opens (" +
                     h["denied"].dump() + " denied), runtime never reached; " +
                     "/proc/self/exe for write: " + errno_text(h["self_errno"]),
                 r.state);
}

bool dir_empty(const std::string& path) {
  DIR* d = opendir(path.c_str());
  if (d == nullptr) return true;
  int n = 0;
  for (dirent* e; (e = readdir(d)) != nullptr;) {
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) ++n;
  }
  closedir(d);
  return n == 0;
}

struct LinkSetup {
  std::string rootfs;  // private rootfs copy
  std::string victim;  // host directory the symlink in the rootfs points at
};

// A rootfs whose `inside` path (e.g. "proc") is a symlink to an absolute host directory.
LinkSetup link_rootfs(Env& env, const std::string& name, const std::string& inside) {
  LinkSetup s{env.rootfs_copy("rootfs-" + name), env.work + "/victim-" + name};
  mkdir(s.victim.c_str(), 0755);
  std::string link = s.rootfs + "/" + inside;
  test::run({"rm", "-rf", link});
  symlink(s.victim.c_str(), link.c_str());
  return s;
}

// The runtime's one-line error without its "nyx-runtime: " prefix.
std::string runtime_error(const test::Result& res) {
  std::string line = res.err.substr(0, res.err.find('\n'));
  std::size_t colon = line.find(": ");
  return colon == std::string::npos ? line : line.substr(colon + 2);
}

Observation host_untouched(const LinkSetup& s, const Ran& r, const std::string& ok) {
  std::vector<std::string> mounted = test::mounts_under(s.victim);
  for (auto it = mounted.rbegin(); it != mounted.rend(); ++it)
    umount2(it->c_str(), MNT_DETACH);
  if (!mounted.empty()) return escaped("mounted on the host at " + mounted[0], r.state);
  if (!dir_empty(s.victim)) return escaped("created files in host dir " + s.victim, r.state);
  if (r.lines.empty() && r.res.status != 0) return refused(runtime_error(r.res));
  return blocked(ok, r.state);
}

// A mount destination that is a symlink to a host path resolves inside the rootfs.
Observation fx_symlink_dest(Env& env, const Cell& c) {
  LinkSetup s = link_rootfs(env, "mnt", "mnt/link");
  test::run({"mkdir", "-p", s.rootfs + s.victim});  // the link's target, as seen in the rootfs
  Launch l = launch_for(env, c, {kProbe, "write", "/mnt/link/inside"});
  l.config["root"]["path"] = s.rootfs;
  l.config["mounts"].push_back({{"destination", "/mnt/link"},
                                {"type", "tmpfs"},
                                {"source", "tmpfs"},
                                {"options", {"nosuid"}}});
  Ran r = env.launch(l);
  json w = probe_step(r, "write");
  return host_untouched(s, r,
                        flag(w, "ok") ? "tmpfs mounted inside the rootfs; host dir untouched"
                                      : "write inside: " + errno_of(w) + "; host dir untouched");
}

Observation fx_proc_symlink(Env& env, const Cell& c) {
  LinkSetup s = link_rootfs(env, "proc", "proc");
  Launch l = launch_for(env, c, {kProbe, "ls", "/proc"});
  l.config["root"]["path"] = s.rootfs;
  Ran r = env.launch(l);
  return host_untouched(s, r, "host dir untouched");
}

Observation fx_dev_symlink(Env& env, const Cell& c) {
  LinkSetup s = link_rootfs(env, "dev", "dev");
  Launch l = launch_for(env, c, {kProbe, "ls", "/dev"});
  l.config["root"]["path"] = s.rootfs;
  Ran r = env.launch(l);
  return host_untouched(s, r, "host dir untouched");
}

struct Fixture {
  const char* name;
  bool require_full;
  Observation (*fn)(Env&, const Cell&);
};

const Fixture kFixtures[] = {
    {"fd-leak", true, fx_fd_leak},
    {"fd-overclaim", true, fx_fd_overclaim},
    {"cwd-via-fd", true, fx_cwd_fd},
    {"runtime-exe-write", true, fx_runtime_exe},
    {"symlink-mount-dest", false, fx_symlink_dest},
    {"proc-symlink", false, fx_proc_symlink},
    {"dev-symlink", false, fx_dev_symlink},
};

}  // namespace

std::vector<Cell> host_safety_cells() {
  std::vector<Cell> out;
  for (const Fixture& f : kFixtures) {
    for (const char* config : {"strict", "runc-like root"}) {
      Cell c;
      c.fixture = f.name;
      c.primitive = "host-safety";
      c.config = config;
      c.require_full = f.require_full;
      c.run = f.fn;
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace nyx::escape
