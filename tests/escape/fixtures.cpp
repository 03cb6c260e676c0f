// The ablation half of the matrix: one fixture per primitive. Each fixture's config removes
// every barrier but its primitive (e.g. the nnp fixture allows the setuid syscalls, so that
// seccomp cannot be what stops it), so the hardened cell is blocked by that primitive and the
// cell with exactly that primitive ablated escapes.
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "tests/escape/matrix.hpp"

namespace nyx::escape {

namespace {

const std::string kProbe = "/bin/nyx-probe";
const std::string kPayload = "/bin/nyx-escape-payload";

Ran go(Env& env, const Cell& c, json cfg, std::vector<std::string> args, int timeout_s = 30) {
  Launch l;
  l.config = std::move(cfg);
  l.args = std::move(args);
  l.ablate = c.ablate;
  l.flags = c.flags;
  l.timeout_s = timeout_s;
  return env.launch(l);
}

void set_rlimit(json& cfg, const std::string& type, std::uint64_t value) {
  for (auto& r : cfg["process"]["rlimits"]) {
    if (r["type"] == type) r["soft"] = r["hard"] = value;
  }
}

// ---- no_new_privs ----------------------------------------------------------------------

Observation nnp(Env& env, const Cell& c, json cfg) {
  cfg["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
  Ran r = go(env, c, cfg, {"/bin/nyx-probe-suid", "setuid", "0"});
  json s = probe_step(r, "setuid");
  if (s.is_null()) return no_output(r);
  std::string ids = "uid " + s["uid"].dump() + ", euid " + s["euid"].dump();
  if (s["euid"] == 0) return escaped("setuid-root binary gave " + ids, r.state);
  return blocked("setuid-root binary ignored: " + ids, r.state);
}

// The setuid syscalls allowed, so that only no_new_privs stands in the way.
Observation fx_nnp(Env& env, const Cell& c) {
  return nnp(env, c, env.strict({"--allow", "setuid"}));
}

// The plain strict filter denies setuid(), but exec of a setuid binary needs no syscall of
// that family: no_new_privs is still the only barrier to euid 0.
Observation fx_nnp_default(Env& env, const Cell& c) {
  return nnp(env, c, env.strict());
}

// ---- rlimits ---------------------------------------------------------------------------

Observation fx_rlimit_cpu(Env& env, const Cell& c) {
  json cfg = env.strict();
  set_rlimit(cfg, "RLIMIT_CPU", 1);
  Ran r = go(env, c, cfg, {kPayload, "burn", "3"}, 60);
  json s = probe_step(r, "burn");
  if (flag(s, "done")) return escaped("burned " + s["cpu"].dump() + " s CPU", r.state);
  if (r.res.status > 128) return blocked(signal_text(r.res.status) + " at 1 s CPU", r.state);
  return no_output(r);
}

Observation fx_rlimit_nofile(Env& env, const Cell& c) {
  Ran r = go(env, c, env.strict(), {kProbe, "nofile", "10000"});
  json s = probe_step(r, "nofile");
  if (s.is_null()) return no_output(r);
  std::string n = "opened " + s["opened"].dump() + " of 10000 fds";
  if (s["opened"] == 10000) return escaped(n, r.state);
  return blocked(n + " (" + errno_of(s) + ")", r.state);
}

Observation fx_rlimit_as(Env& env, const Cell& c) {
  Ran r = go(env, c, env.strict(), {kPayload, "reserve", "16384"});
  json s = probe_step(r, "reserve");
  if (s.is_null()) return no_output(r);
  if (flag(s, "ok")) return escaped("16 GiB mapping succeeded", r.state);
  return blocked("16 GiB mapping failed, errno " + s["errno"].dump(), r.state);
}

// ---- namespaces ------------------------------------------------------------------------

// Container root writes a host-root-owned 0644 file bind-mounted read-write: only the user
// namespace (root mapped to an unprivileged uid) stops the owner's write permission.
Observation fx_userns(Env& env, const Cell& c) {
  std::string file = env.host + "/root-owned";
  write_text(file, "host\n");
  json cfg = env.strict();
  cfg["mounts"].push_back({{"destination", "/etc/target"},
                           {"type", "bind"},
                           {"source", file},
                           {"options", {"bind", "rw"}}});
  Ran r = go(env, c, cfg, {kProbe, "write", "/etc/target", "pwned"});
  json s = probe_step(r, "write");
  if (s.is_null()) return no_output(r);
  if (read_text(file) == "pwned") return escaped("overwrote the host-root-owned file", r.state);
  return blocked("write: " + errno_of(s), r.state);
}

// A host process running as the container root's host uid: only the pid namespace hides it
// (same uid, so kill() would be allowed).
pid_t spawn_sleeper(uid_t uid) {
  int sync[2];
  if (pipe2(sync, O_CLOEXEC) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    bool ok = setgroups(0, nullptr) == 0 && setresgid(uid, uid, uid) == 0 &&
              setresuid(uid, uid, uid) == 0;
    if (!ok || write(sync[1], "x", 1) != 1) _exit(1);
    for (;;)
      pause();
  }
  close(sync[1]);
  char c = 0;
  bool ready = pid > 0 && read(sync[0], &c, 1) == 1;
  close(sync[0]);
  if (pid > 0 && !ready) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return -1;
  }
  return pid;
}

// Reaps the sleeper; true when something else had already killed it.
bool reap_sleeper(pid_t pid) {
  int status = 0;
  for (int i = 0; i < 50; ++i) {
    if (waitpid(pid, &status, WNOHANG) == pid) return true;
    usleep(10000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return false;
}

Observation fx_pidns(Env& env, const Cell& c) {
  pid_t pid = spawn_sleeper(100000);
  if (pid < 0) return error("cannot start the host sleeper");
  std::string p = std::to_string(pid);
  Ran r = go(env, c, env.strict(), {kProbe, "kill", p, "0", "+", "kill", p, "KILL"});
  bool killed = reap_sleeper(pid);
  json s = probe_step(r, "kill");
  if (s.is_null()) return no_output(r);
  if (killed) return escaped("saw and killed host pid " + p, r.state);
  return blocked("kill(host pid): " + errno_of(s), r.state);
}

Observation fx_ipcns(Env& env, const Cell& c) {
  key_t key = static_cast<key_t>(0x4e590000 | (getpid() & 0xffff));
  int id = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0666);
  if (id < 0) return error("cannot create the host shm segment");
  Ran r = go(env, c, env.strict({"--allow", "ipc"}),
             {kProbe, "syscall", "29", std::to_string(key), "0", "0"});
  shmctl(id, IPC_RMID, nullptr);
  json s = probe_step(r, "syscall");
  if (s.is_null()) return no_output(r);
  if (s["ret"] == id) return escaped("found the host's shm segment by key", r.state);
  return blocked("shmget(host key): " + errno_of(s), r.state);
}

Observation fx_utsns(Env& env, const Cell& c) {
  Ran r = go(env, c, env.strict(), {kProbe, "report"});
  json s = probe_step(r, "report");
  if (s.is_null()) return no_output(r);
  std::string name = text(s, "hostname");
  if (name == hostname()) return escaped("sees the host's hostname", r.state);
  return blocked("sees hostname \"" + name + "\"", r.state);
}

// Serves the secret once on 127.0.0.1:port of the host's network namespace.
class Listener {
 public:
  explicit Listener(std::string secret) : secret_(std::move(secret)) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    bind(fd_, reinterpret_cast<sockaddr*>(&sa), len);
    listen(fd_, 4);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~Listener() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  int port() const { return port_; }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      int conn = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) continue;
      [[maybe_unused]] ssize_t n = write(conn, secret_.data(), secret_.size());
      close(conn);
    }
  }
  std::string secret_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

Observation fx_netns(Env& env, const Cell& c) {
  Listener l(env.secret);
  Ran r =
      go(env, c, env.strict({"--allow", "net"}), {kPayload, "connect", std::to_string(l.port())});
  json s = probe_step(r, "connect");
  if (s.is_null()) return no_output(r);
  if (s["data"] == env.secret) return escaped("read the host's loopback service", r.state);
  return blocked("connect(127.0.0.1): errno " + s["errno"].dump(), r.state);
}

Observation fx_cgroupns(Env& env, const Cell& c) {
  json cfg = env.strict();
  cfg["linux"]["namespaces"].push_back({{"type", "cgroup"}});
  Ran r = go(env, c, cfg, {kProbe, "cat", "/proc/self/cgroup"});
  json s = probe_step(r, "cat");
  if (s.is_null()) return no_output(r);
  if (text(s, "data").find("/nyx-runtime/") != std::string::npos) {
    return escaped("sees its host cgroup path /nyx-runtime/...", r.state);
  }
  return blocked("every cgroup path reads /", r.state);
}

// ---- mount namespace, mounts, root -----------------------------------------------------

std::vector<std::string> unmount_under(const std::string& dir) {
  std::vector<std::string> found = test::mounts_under(dir + "/");
  for (auto it = found.rbegin(); it != found.rend(); ++it)
    umount2(it->c_str(), MNT_DETACH);
  return found;
}

// Container root with CAP_SYS_ADMIN and the mount syscalls (no user namespace, so the mount
// is permitted in the host's namespace too): only the mount namespace keeps it off the host.
Observation fx_mntns(Env& env, const Cell& c) {
  json cfg = env.strict({"--allow", "mount"});
  json& lx = cfg["linux"];
  lx.erase("uidMappings");
  lx.erase("gidMappings");
  json ns = json::array();
  for (const auto& n : lx["namespaces"]) {
    if (n["type"] != "user") ns.push_back(n);
  }
  lx["namespaces"] = ns;
  for (auto& [set, caps] : cfg["process"]["capabilities"].items())
    caps = {"CAP_SYS_ADMIN"};
  Ran r = go(env, c, cfg, {kProbe, "mount", "none", "/tmp", "tmpfs"});
  std::vector<std::string> leaked = unmount_under(env.rootfs);
  json s = probe_step(r, "mount");
  if (s.is_null()) return no_output(r);
  if (!leaked.empty()) return escaped("mount appeared on the host at " + leaked[0], r.state);
  return blocked("mount inside: " + errno_of(s) + "; host mount table unchanged", r.state);
}

// The strict root is read-only with a tmpfs /tmp: nothing the harness writes reaches the
// rootfs on the host.
// The mounts primitive carries linux.maskedPaths: a secret in the rootfs that the config masks
// is read as empty under full hardening and in clear once the mounts are ablated.
Observation fx_mounts(Env& env, const Cell& c) {
  std::string name = "/etc/" + env.new_id("masked");
  write_text(env.rootfs + name, env.secret + "\n");
  json cfg = env.strict();
  cfg["linux"]["maskedPaths"].push_back(name);
  Ran r = go(env, c, cfg, {kProbe, "read", name});
  unlink((env.rootfs + name).c_str());
  if (r.lines.empty()) return no_output(r);
  if (text(r.lines.back(), "data") == env.secret + "\n") {
    return escaped("read the masked " + name, r.state);
  }
  return blocked("masked " + name + " reads empty", r.state);
}

Observation fx_root(Env& env, const Cell& c) {
  const std::string& s = env.secret_path;
  std::vector<std::pair<std::string, std::string>> tricks = {
      {"absolute path", s},
      {"../ walk", "../../../../../../../.." + s},
      {"/proc/1/root", "/proc/1/root" + s},
      {"/proc/self/root", "/proc/self/root" + s},
      {"/proc/self/cwd", "/proc/self/cwd" + s}};
  std::vector<std::string> args = {kProbe};
  for (const auto& t : tricks)
    args.insert(args.end(), {"read", t.second, "+"});
  args.pop_back();
  Ran r = go(env, c, env.strict(), args);
  if (r.lines.size() != tricks.size()) return no_output(r);
  std::string worked;
  for (std::size_t i = 0; i < tricks.size(); ++i) {
    if (text(r.lines[i], "data") == env.secret + "\n") {
      worked += (worked.empty() ? "" : ", ") + tricks[i].first;
    }
  }
  if (!worked.empty()) return escaped("read the host secret via " + worked, r.state);
  return blocked("all " + std::to_string(tricks.size()) + " paths: " + errno_of(r.lines[0]),
                 r.state);
}

// mkdir + chroot + chdir("..") x64 + chroot("."), then the host secret. Needs chroot(), so
// its cells ablate caps and seccomp to leave the root change as the only barrier.
Observation fx_chroot_escape(Env& env, const Cell& c) {
  Ran r = go(env, c, env.strict(), {kProbe, "chroot-escape", "+", "read", env.secret_path});
  json e = probe_step(r, "chroot-escape");
  json s = probe_step(r, "read");
  if (e.is_null() || s.is_null()) return no_output(r);
  if (text(s, "data") == env.secret + "\n") {
    return escaped("climbed out of the chroot to the host /", r.state);
  }
  if (e["chroot_errno"] != 0)
    return blocked("chroot(): errno " + e["chroot_errno"].dump(), r.state);
  return blocked("chroot() ok, \"..\" stops at the container root", r.state);
}

// ---- capabilities and seccomp ----------------------------------------------------------

Observation fx_caps(Env& env, const Cell& c) {
  Ran r = go(env, c, env.strict({"--allow", "mount,uts,net,module"}),
             {kProbe, "socket", "inet", "raw", "+", "sethostname", "nyx-caps", "+", "mount", "none",
              "/tmp", "tmpfs", "+", "init-module"});
  json raw = probe_step(r, "socket"), uts = probe_step(r, "sethostname"),
       mnt = probe_step(r, "mount"), mod = probe_step(r, "init-module");
  if (mod.is_null()) return no_output(r);
  std::string ev = "raw socket " + errno_of(raw) + ", sethostname " + errno_of(uts) + ", mount " +
                   errno_of(mnt) + ", init_module " + errno_of(mod);
  bool all = flag(raw, "ok") && flag(uts, "ok") && flag(mnt, "ok");
  bool none = !flag(raw, "ok") && !flag(uts, "ok") && !flag(mnt, "ok");
  if (flag(mod, "ok")) return error("module loading succeeded: " + ev, r.state);
  if (all) return escaped(ev, r.state);
  return none ? blocked(ev, r.state) : error("mixed: " + ev, r.state);
}

Observation fx_seccomp(Env& env, const Cell& c) {
  Ran r =
      go(env, c, env.strict(), {kProbe, "unshare", "user", "+", "syscall", "250", "0", "-3", "0"});
  json u = probe_step(r, "unshare"), k = probe_step(r, "syscall");
  if (k.is_null()) return no_output(r);
  std::string ev = "unshare(CLONE_NEWUSER) " + errno_of(u) + ", keyctl " + errno_of(k);
  if (flag(u, "ok") || flag(k, "ok")) return escaped(ev, r.state);
  return blocked(ev, r.state);
}

Observation fx_seccomp_socket(Env& env, const Cell& c) {
  Ran r = go(env, c, env.strict(), {kProbe, "socket", "inet", "stream"});
  json s = probe_step(r, "socket");
  if (s.is_null()) return no_output(r);
  if (flag(s, "ok")) return escaped("socket(AF_INET) ok", r.state);
  return blocked("socket(AF_INET): " + errno_of(s), r.state);
}

// setuid(0) as uid 0 is always permitted by the kernel: any refusal is the filter's.
Observation fx_seccomp_setuid(Env& env, const Cell& c) {
  Ran r = go(env, c, env.strict(), {kProbe, "setuid", "0"});
  json s = probe_step(r, "setuid");
  if (s.is_null()) return no_output(r);
  if (flag(s, "ok")) return escaped("setuid(0) ok", r.state);
  return blocked("setuid(0): " + errno_of(s), r.state);
}

// ---- landlock --------------------------------------------------------------------------

// A host directory bind-mounted into the rootfs by mistake (on the host, not in the config):
// the rootfs is bound recursively, so it comes along, and the read-only remount of the root
// does not reach it. It is world-writable, so the mapped root passes the permission check too:
// only Landlock, which allows writes only where the config mounts something writable, stops a
// file from landing on the host.
Observation fx_landlock(Env& env, const Cell& c) {
  std::string scratch = env.work + "/host-scratch";
  std::string rootfs = env.rootfs_copy("rootfs-scratch");
  std::string target = rootfs + "/mnt/scratch";
  ::mkdir(scratch.c_str(), 0777);
  ::chmod(scratch.c_str(), 0777);
  ::mkdir((rootfs + "/mnt").c_str(), 0755);
  ::mkdir(target.c_str(), 0755);
  std::string planted = scratch + "/" + env.new_id("planted");
  if (::mount(scratch.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0)
    return error("cannot bind the host directory into the rootfs");
  json cfg = env.strict();
  cfg["root"]["path"] = rootfs;
  std::string name = planted.substr(scratch.size());
  Ran r = go(env, c, cfg, {kProbe, "write", "/mnt/scratch" + name, "pwned"});
  ::umount2(target.c_str(), MNT_DETACH);
  bool landed = test::path_exists(planted);
  ::unlink(planted.c_str());
  json s = probe_step(r, "write");
  if (s.is_null()) return no_output(r);
  if (landed) return escaped("wrote into the host directory under the rootfs", r.state);
  return blocked("write: " + errno_of(s), r.state);
}

// ---- apparmor ---------------------------------------------------------------------------

constexpr const char* kAppArmorProfile = "nyx-escape-deny-read";
constexpr const char* kDeniedFile = "/etc/escape-denied";

bool host_has_apparmor() {
  return read_text("/sys/module/apparmor/parameters/enabled").rfind('Y', 0) == 0;
}

// Everything allowed but reading one file: nothing else of the strict profile stands in the
// way of that read (it is world-readable, under the container's root, which Landlock allows),
// so only the profile can deny it. Paths are the container's: AppArmor mediates them as the
// process sees them, from its root.
bool load_deny_profile(Env& env, std::string* err) {
  std::string file = env.work + "/" + kAppArmorProfile + ".profile";
  write_text(file, std::string("profile ") + kAppArmorProfile +
                       " flags=(attach_disconnected,mediate_deleted) {\n"
                       "  file,\n  capability,\n  network,\n  signal,\n  ptrace,\n  unix,\n"
                       "  mount,\n  umount,\n  pivot_root,\n"
                       "  deny " +
                       kDeniedFile + " r,\n}\n");
  test::Result r = test::run({"apparmor_parser", "--replace", "--skip-cache", file});
  *err = r.err.substr(0, r.err.find('\n'));
  return r.status == 0;
}

// On a host without AppArmor the cell is Skipped: it proves nothing about the profile, but the
// record must say the profile was skipped (or ablated) and why.
Observation fx_apparmor(Env& env, const Cell& c) {
  write_text(env.rootfs + kDeniedFile, env.secret + "\n");
  json cfg = env.strict();
  cfg["process"]["apparmorProfile"] = kAppArmorProfile;
  bool apparmor = host_has_apparmor();
  std::string why;
  if (apparmor && !load_deny_profile(env, &why)) return error("apparmor_parser: " + why);
  Ran r = go(env, c, cfg, {kProbe, "read", kDeniedFile});
  json s = probe_step(r, "read");
  if (s.is_null()) return no_output(r);
  json e =
      r.state.is_object() ? r.state["hardening"]["primitives"].value("apparmor", json()) : json();
  if (!apparmor) {
    bool said = c.ablate.empty() ? e.value("status", "") == "skipped" &&
                                       e.value("cause", json::object()).value("code", "") ==
                                           "apparmor_unavailable"
                                 : e.value("ablated", false);
    if (!said) return error("no AppArmor here, and the record does not say so: " + e.dump());
    return skipped("no AppArmor on this host: the record says " +
                       std::string(c.ablate.empty() ? "skipped (apparmor_unavailable)" : "ablated"),
                   r.state);
  }
  if (flag(s, "ok")) return escaped("read the file the profile denies", r.state);
  if (e.value("status", "") != "applied") {
    return error("read: " + errno_of(s) + ", but the profile is " + e.dump(), r.state);
  }
  return blocked("read: " + errno_of(s) + " under profile " + kAppArmorProfile, r.state);
}

// ---- cgroups ---------------------------------------------------------------------------

Observation fx_cgroups(Env& env, const Cell& c) {
  Ran r = go(env, c, env.strict({"--memory", "64"}), {kProbe, "alloc", "256", "touch"}, 60);
  json s = probe_step(r, "alloc");
  if (flag(s, "ok")) return escaped("touched 256 MiB", r.state);
  if (r.res.status == 128 + SIGKILL) return blocked("OOM-killed at the 64 MiB limit", r.state);
  return no_output(r);
}

struct Fixture {
  const char* name;
  const char* primitive;
  const char* ablate;
  const char* config;
  Observation (*fn)(Env&, const Cell&);
};

const Fixture kFixtures[] = {
    {"setuid-binary", "no_new_privs", "nnp", "strict +setuid, uid 1000", fx_nnp},
    {"setuid-binary", "no_new_privs", "nnp", "strict, uid 1000", fx_nnp_default},
    {"cpu-burn", "rlimit_cpu", "rlimits", "strict, RLIMIT_CPU 1", fx_rlimit_cpu},
    {"fd-flood", "rlimit_nofile", "rlimits", "strict", fx_rlimit_nofile},
    {"huge-map", "rlimit_as", "rlimits", "strict", fx_rlimit_as},
    {"host-file-write", "namespaces.user", "userns", "strict +rw bind", fx_userns},
    {"host-kill", "namespaces.pid", "pidns", "strict", fx_pidns},
    {"host-shm", "namespaces.ipc", "ipcns", "strict +ipc", fx_ipcns},
    {"host-hostname", "namespaces.uts", "utsns", "strict", fx_utsns},
    {"host-loopback", "namespaces.network", "netns", "strict +net", fx_netns},
    {"host-cgroup-path", "namespaces.cgroup", "cgroupns", "strict +cgroupns", fx_cgroupns},
    {"host-mount", "namespaces.mount", "mntns", "strict -userns +mount, CAP_SYS_ADMIN", fx_mntns},
    {"masked-secret", "mounts", "mounts", "strict +masked path", fx_mounts},
    {"host-secret", "root", "chroot", "strict", fx_root},
    {"privileged-ops", "capabilities", "caps", "strict +mount,uts,net,module", fx_caps},
    {"profile-denied-read", "apparmor", "apparmor", "strict +apparmorProfile", fx_apparmor},
    {"host-dir-under-rootfs", "landlock", "landlock", "strict +host bind in rootfs", fx_landlock},
    {"kernel-surface", "seccomp", "seccomp", "strict", fx_seccomp},
    {"socket", "seccomp", "seccomp-socket", "strict", fx_seccomp_socket},
    {"setuid", "seccomp", "seccomp-setuid", "strict", fx_seccomp_setuid},
    {"memory-hog", "cgroups", "cgroups", "strict --memory 64", fx_cgroups},
};

Cell cell(const Fixture& f, const std::string& ablate, Verdict expect) {
  Cell c;
  c.fixture = f.name;
  c.primitive = f.primitive;
  c.config = f.config;
  c.ablate = ablate;
  c.expect = expect;
  c.run = f.fn;
  return c;
}

// pivot_root against plain chroot: the same trick, with caps and seccomp out of the way.
void add_chroot_escape(std::vector<Cell>& out) {
  const Fixture f = {"chroot-escape", "root", "", "strict", fx_chroot_escape};
  out.push_back(cell(f, "", Verdict::Blocked));
  out.push_back(cell(f, "caps,seccomp", Verdict::Blocked));
  Cell no_pivot = cell(f, "caps,seccomp", Verdict::Blocked);
  no_pivot.flags = {"--no-pivot"};
  out.push_back(no_pivot);
  // Without a mount namespace the root change is a plain chroot; Landlock, which allows
  // reading under the container's root only, is a barrier of its own there.
  out.push_back(cell(f, "caps,seccomp,mntns", Verdict::Blocked));
  out.push_back(cell(f, "caps,seccomp,mntns,landlock", Verdict::Escaped));
  // Ablating the config mounts must not weaken the root change.
  out.push_back(cell(f, "caps,seccomp,mounts", Verdict::Blocked));
}

}  // namespace

std::vector<Cell> ablation_cells() {
  std::vector<Cell> out;
  for (const Fixture& f : kFixtures) {
    out.push_back(cell(f, "", Verdict::Blocked));
    out.push_back(cell(f, f.ablate, Verdict::Escaped));
  }
  add_chroot_escape(out);
  return out;
}

}  // namespace nyx::escape
