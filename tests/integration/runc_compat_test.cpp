// What runc's own suite checks and nyx does the same way (issue 16): exec's terminal and flags,
// ps, kill 0, list's JSON, startContainer hooks under `run`, hook environments, refused sysctls.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/integration/harness.hpp"

namespace nyx::test {
namespace {

void write_script(const std::string& path, const std::string& body) {
  std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
  chmod(path.c_str(), 0755);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A detached container that sleeps, started through `create` + `start`.
std::string started(Sandbox& sb, json cfg, const std::string& tag) {
  sb.write_config(cfg);
  std::string id = sb.id(tag);
  EXPECT_EQ(sb.nyx({"run", "-d", "--bundle", sb.bundle, id}).status, 0);
  return id;
}

// An engine's --console-socket: takes the pty master nyx sends and keeps it open.
class ConsoleSocket {
 public:
  explicit ConsoleSocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 4);
    thread_ = std::thread([this] {
      int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) return;
      char data[64];
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
      iovec iov{data, sizeof data};
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      if (::recvmsg(conn, &msg, MSG_CMSG_CLOEXEC) > 0 && CMSG_FIRSTHDR(&msg) != nullptr) {
        std::memcpy(&master_, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof master_);
      }
      ::close(conn);
    });
  }
  ~ConsoleSocket() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
    if (master_ >= 0) ::close(master_);
    ::unlink(path_.c_str());
  }
  ConsoleSocket(const ConsoleSocket&) = delete;
  ConsoleSocket& operator=(const ConsoleSocket&) = delete;

 private:
  std::string path_;
  int fd_ = -1;
  int master_ = -1;
  std::thread thread_;
};

// `exec` gets a terminal only with -t, whatever config.json's process says (runc).
TEST(RuncCompat, ExecWithoutDashTHasNoTerminal) {
  Sandbox sb;
  json cfg = runc_like_config({"/bin/nyx-probe", "sleep", "30"});
  cfg["process"]["terminal"] = true;
  sb.write_config(cfg);
  std::string id = sb.id("tty");
  ConsoleSocket console(sb.dir + "/console.sock");
  ASSERT_EQ(
      sb.nyx({"run", "-d", "--console-socket", sb.dir + "/console.sock", "--bundle", sb.bundle, id})
          .status,
      0);
  // The stored process has a terminal: exec must not inherit it.
  Result r = sb.nyx({"exec", id, "/bin/nyx-probe", "session"});
  ASSERT_EQ(r.status, 0) << r.err;
  json in = json_lines(r.out).at(0);
  EXPECT_EQ(in["ctty"], false);
  EXPECT_EQ(r.out.find('\r'), std::string::npos);
  // --detach without a terminal needs no console socket.
  EXPECT_EQ(sb.nyx({"exec", "-d", id, "/bin/nyx-probe", "sleep", "1"}).status, 0);
  sb.nyx({"delete", "--force", id});
}

TEST(RuncCompat, ExecAdditionalGidsRepeatable) {
  Sandbox sb;
  std::string id = started(sb, runc_like_config({"/bin/nyx-probe", "sleep", "30"}), "gids");
  Result r = sb.nyx({"exec", "--user", "1000:1000", "--additional-gids", "100", "-g", "65534", id,
                     "/bin/nyx-probe", "report"});
  ASSERT_EQ(r.status, 0) << r.err;
  json in = step(json_lines(r.out), "report");
  EXPECT_EQ(in["groups"], json({100, 65534})) << in;
  sb.nyx({"delete", "--force", id});
}

// --ignore-paused: the process joins the frozen container and runs once it is thawed.
TEST(RuncCompat, ExecIgnorePausedWaitsForResume) {
  Sandbox sb;
  std::string id = started(sb, runc_like_config({"/bin/nyx-probe", "sleep", "30"}), "paused");
  ASSERT_EQ(sb.nyx({"pause", id}).status, 0);
  Result refused = sb.nyx({"exec", id, "/bin/nyx-probe", "echo", "x"});
  EXPECT_NE(refused.status, 0);
  EXPECT_NE(refused.err.find("cannot exec in a paused container"), std::string::npos);
  pid_t resumer = fork();
  if (resumer == 0) {
    ::usleep(300 * 1000);
    execv(nyx_bin().c_str(),
          const_cast<char* const*>(std::vector<const char*>{
              nyx_bin().c_str(), "--root", sb.root.c_str(), "resume", id.c_str(), nullptr}
                                       .data()));
    _exit(127);
  }
  Result r = sb.nyx({"exec", "--ignore-paused", id, "/bin/nyx-probe", "echo", "ok"});
  int status = 0;
  waitpid(resumer, &status, 0);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("\"ok\""), std::string::npos);
  sb.nyx({"delete", "--force", id});
}

TEST(RuncCompat, PsShowsTheContainersProcesses) {
  Sandbox sb;
  std::string id = started(sb, runc_like_config({"/bin/nyx-probe", "sleep", "30"}), "ps");
  std::string pid = std::to_string(sb.state(id)["pid"].get<int>());
  Result r = sb.nyx({"ps", id});
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<std::string> lines;
  std::stringstream ss(r.out);
  for (std::string l; std::getline(ss, l);)
    lines.push_back(l);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(lines[0].find("UID"), 0u);
  EXPECT_NE(lines[1].find(" " + pid + " "), std::string::npos) << r.out;
  r = sb.nyx({"ps", id, "-e", "-x"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("STAT"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(pid), std::string::npos) << r.out;
  r = sb.nyx({"ps", "-f", "json", id});
  EXPECT_EQ(json::parse(r.out), json({std::stoi(pid)}));
  sb.nyx({"delete", "--force", id});
}

TEST(RuncCompat, KillZeroAsksWhetherItLives) {
  Sandbox sb;
  std::string id = started(sb, runc_like_config({"/bin/nyx-probe", "sleep", "30"}), "k0");
  EXPECT_EQ(sb.nyx({"kill", id, "0"}).status, 0);
  EXPECT_EQ(sb.nyx({"kill", "-a", id, "0"}).status, 0);
  EXPECT_EQ(sb.state(id)["status"], "running");
  sb.nyx({"delete", "--force", id});
}

// runc's key order and an owner.
TEST(RuncCompat, ListJsonInRuncsOrder) {
  Sandbox sb;
  sb.write_config(runc_like_config({"/bin/nyx-probe", "sleep", "30"}));
  std::string id = sb.id("lj");
  ASSERT_EQ(sb.nyx({"create", "--bundle", sb.bundle, id}).status, 0);
  Result r = sb.nyx({"list", "-f", "json"});
  std::string out = r.out;
  std::vector<std::size_t> at;
  for (const char* key : {"\"ociVersion\":", "\"id\":", "\"pid\":", "\"status\":", "\"bundle\":",
                          "\"rootfs\":", "\"created\":", "\"owner\":"}) {
    at.push_back(out.find(key));
    EXPECT_NE(at.back(), std::string::npos) << key << " in " << out;
  }
  EXPECT_TRUE(std::is_sorted(at.begin(), at.end())) << out;
  EXPECT_EQ(json::parse(out)[0]["owner"], "root");
  sb.nyx({"delete", "--force", id});
}

// `run` runs startContainer hooks as `start` does; a failing one fails the run.
TEST(RuncCompat, RunRunsStartContainerHooksAndFailsWithThem) {
  Sandbox sb;
  std::string rootfs = sb.dir + "/rootfs";
  make_rootfs(rootfs);
  write_script(rootfs + "/mark.sh", "echo started > /tmp/mark");
  write_script(rootfs + "/fail.sh", "exit 3");
  json cfg = runc_like_config({"/bin/sh", "-c", "cat /tmp/mark"});
  cfg["root"]["path"] = rootfs;
  cfg["mounts"].push_back({{"destination", "/tmp"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
  cfg["hooks"]["startContainer"] = {{{"path", "/mark.sh"}}};
  sb.write_config(cfg);
  Result r = sb.nyx({"run", "--bundle", sb.bundle, sb.id("hk")});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "started\n");

  cfg["hooks"]["startContainer"] = {{{"path", "/fail.sh"}}};
  sb.write_config(cfg);
  r = sb.nyx({"run", "--bundle", sb.bundle, sb.id("hkf")});
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(run({"ls", "-A", sb.root}).out, "");
}

// A hook without "env" gets the runtime's environment; one with it, exactly that.
TEST(RuncCompat, HooksInheritTheEnvironmentUnlessTheyHaveTheirOwn) {
  Sandbox sb;
  std::string hook = sb.dir + "/env.sh";
  write_script(hook, "env > \"$1\"");
  json cfg = runc_like_config({"/bin/nyx-probe", "echo", "x"});
  cfg["hooks"]["prestart"] = {
      {{"path", hook}, {"args", {hook, sb.dir + "/inherited"}}},
      {{"path", hook}, {"args", {hook, sb.dir + "/own"}}, {"env", {"ONLY=this"}}}};
  sb.write_config(cfg);
  std::vector<std::string> argv = {"env", "NYX_HOOK_TEST=1"};
  for (auto& a : sb.nyx_argv({"run", "--bundle", sb.bundle, sb.id("env")}))
    argv.push_back(a);
  Result r = run(argv);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(slurp(sb.dir + "/inherited").find("NYX_HOOK_TEST=1"), std::string::npos);
  std::string own = slurp(sb.dir + "/own");
  EXPECT_NE(own.find("ONLY=this"), std::string::npos);
  EXPECT_EQ(own.find("NYX_HOOK_TEST"), std::string::npos);
}

TEST(RuncCompat, HostnameSysctlsConflictWithTheHostnameField) {
  Sandbox sb;
  json cfg = runc_like_config({"/bin/nyx-probe", "echo", "x"});
  cfg["linux"]["sysctl"] = {{"kernel.hostname", "other"}};
  sb.write_config(cfg);
  Result r = sb.nyx({"run", "--bundle", sb.bundle, sb.id("sys")});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("linux.sysctl.kernel.hostname"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("conflicts with the OCI \"hostname\" field"), std::string::npos) << r.err;
}

// HOME from the container's /etc/passwd when the process has none; "/" for an unknown user.
TEST(RuncCompat, HomeComesFromTheContainersPasswd) {
  Sandbox sb;
  json cfg = runc_like_config({"/bin/sh", "-c", "echo $HOME"});
  cfg["process"]["env"] = {"PATH=/bin"};
  sb.write_config(cfg);
  Result r = sb.nyx({"run", "--bundle", sb.bundle, sb.id("home")});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "/root\n");
  cfg["process"]["user"] = {{"uid", 4242}, {"gid", 4242}};
  sb.write_config(cfg);
  r = sb.nyx({"run", "--bundle", sb.bundle, sb.id("home")});
  EXPECT_EQ(r.out, "/\n");
}

// The cwd is entered before the user switch (a directory only root may enter still works, as
// with runc), and a missing one is made.
TEST(RuncCompat, CwdEnteredBeforeTheUserSwitchAndMadeWhenMissing) {
  Sandbox sb;
  std::string rootfs = sb.dir + "/rootfs";
  make_rootfs(rootfs);
  ::mkdir((rootfs + "/private").c_str(), 0700);
  json cfg = runc_like_config({"/bin/sh", "-c", "pwd"});
  cfg["root"]["path"] = rootfs;
  cfg["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
  cfg["process"]["cwd"] = "/private";
  sb.write_config(cfg);
  Result r = sb.nyx({"run", "--bundle", sb.bundle, sb.id("cwd")});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "/private\n");
  cfg["process"]["cwd"] = "/does/not/exist";
  sb.write_config(cfg);
  r = sb.nyx({"run", "--bundle", sb.bundle, sb.id("cwd")});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "/does/not/exist\n");
}

// A read-only /dev still gets its nodes and links (/dev/null, /dev/ptmx), then is read-only.
TEST(RuncCompat, ReadOnlyDevGetsItsNodesFirst) {
  Sandbox sb;
  json cfg = runc_like_config(
      {"/bin/sh", "-c", "echo x > /dev/null && test -e /dev/ptmx && touch /dev/new; echo $?"});
  for (auto& m : cfg["mounts"]) {
    if (m["destination"] == "/dev") m["options"].push_back("ro");
  }
  sb.write_config(cfg);
  Result r = sb.nyx({"run", "--bundle", sb.bundle, sb.id("rodev")});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "1\n");  // the nodes work, and nothing new can be made
}

TEST(RuncCompat, UnbindableRootPropagation) {
  Sandbox sb;
  json cfg = runc_like_config({"/bin/sh", "-c", "awk '$5 == \"/\"' /proc/self/mountinfo"});
  cfg["linux"]["rootfsPropagation"] = "unbindable";
  sb.write_config(cfg);
  Result r = sb.nyx({"run", "--bundle", sb.bundle, sb.id("unb")});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("unbindable"), std::string::npos) << r.out;
}

// rootfsPropagation "shared" with the rootfs on a private mount (a tmpfs /tmp, as in a fresh
// build root): the new root is a bind of that mount, private like it, unless the propagation is
// set on the new root too (runtime-tools' linux_rootfs_propagation "shared").
TEST(RuncCompat, SharedRootPropagationOnAPrivateMount) {
  Sandbox sb;
  std::string fs = sb.dir + "/private-fs";
  ASSERT_EQ(::mkdir(fs.c_str(), 0755), 0);
  ASSERT_EQ(::mount("tmpfs", fs.c_str(), "tmpfs", 0, "mode=0755"), 0) << std::strerror(errno);
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{fs};
  ASSERT_EQ(::mount(nullptr, fs.c_str(), nullptr, MS_PRIVATE, nullptr), 0);
  make_rootfs(fs + "/rootfs");
  json cfg = runc_like_config({"/bin/sh", "-c", "awk '$5 == \"/\"' /proc/self/mountinfo"});
  cfg["root"]["path"] = fs + "/rootfs";
  cfg["linux"]["rootfsPropagation"] = "shared";
  sb.write_config(cfg);
  Result r = sb.nyx({"run", "--bundle", sb.bundle, sb.id("shr")});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find(" shared:"), std::string::npos) << r.out;
}

// runc and crun drop SELinux labels on a host without SELinux; nyx runs too, and the record
// says the labels were not applied and why. --enforce refuses the container.
TEST(RuncCompat, SelinuxLabelsRecordedAsSkippedWithoutSelinux) {
  if (::access("/sys/fs/selinux/enforce", F_OK) == 0) GTEST_SKIP() << "this host has SELinux";
  Sandbox sb;
  json cfg = runc_like_config({"/bin/true"});
  cfg["linux"]["mountLabel"] = "system_u:object_r:container_file_t:s0";
  cfg["process"]["selinuxLabel"] = "system_u:system_r:container_t:s0";
  sb.write_config(cfg);
  std::string report = sb.dir + "/report.json";
  Result r = sb.nyx({"run", "--report", report, "--bundle", sb.bundle, sb.id("lbl")});
  ASSERT_EQ(r.status, 0) << r.err;
  json h = json::parse(slurp(report))["hardening"];
  json e = h["primitives"]["selinux"];
  EXPECT_EQ(e["status"], "skipped") << e.dump();
  EXPECT_EQ(e["reason"], "SELinux is not enabled on this host") << e.dump();
  EXPECT_EQ(e["cause"]["code"], "selinux_unavailable") << e.dump();
  EXPECT_FALSE(e.contains("errno")) << e.dump();
  EXPECT_EQ(e["mountLabel"], "system_u:object_r:container_file_t:s0");
  EXPECT_EQ(e["processLabel"], "system_u:system_r:container_t:s0");
  EXPECT_EQ(h["level"], "full");
  EXPECT_NE(r.err.find("linux.mountLabel: not applied: SELinux is not enabled on this host"),
            std::string::npos)
      << r.err;

  r = sb.nyx({"run", "--enforce", "--bundle", sb.bundle, sb.id("lbl-enf")});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("selinux: failed: EOPNOTSUPP"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("SELinux is not enabled on this host"), std::string::npos) << r.err;
  EXPECT_EQ(run({"ls", sb.root}).out.find("lbl-enf"), std::string::npos);  // nothing left
}

// /proc/self/mountinfo lists the config's mounts in the config's order, binds included
// (runtime-tools' `mounts`): kernels from 6.8 list mounts by creation, so a bind must be made
// after the mounts before it, not copied ahead of the clone.
TEST(RuncCompat, MountinfoFollowsTheConfigOrder) {
  Sandbox sb;
  json cfg = runc_like_config({"/bin/cat", "/proc/self/mountinfo"});
  std::string src = sb.dir + "/bindsrc";
  ::mkdir(src.c_str(), 0755);
  cfg["mounts"].push_back({{"destination", "/mnt/a-tmpfs"},
                           {"type", "tmpfs"},
                           {"source", "tmpfs"},
                           {"options", {"nosuid"}}});
  cfg["mounts"].push_back(
      {{"destination", "/mnt/b-bind"}, {"source", src}, {"options", {"bind", "ro"}}});
  cfg["mounts"].push_back({{"destination", "/mnt/c-tmpfs"},
                           {"type", "tmpfs"},
                           {"source", "tmpfs"},
                           {"options", {"nosuid"}}});
  sb.write_config(cfg);
  Result r = sb.nyx({"run", "--bundle", sb.bundle, sb.id("order")});
  ASSERT_EQ(r.status, 0) << r.err;
  // The line number of the mount point (mountinfo's fifth field), or -1.
  auto line_of = [&](const std::string& point) {
    std::istringstream in(r.out);
    std::string line;
    for (int n = 0; std::getline(in, line); ++n) {
      std::istringstream f(line);
      std::string field;
      for (int i = 0; i < 5; ++i)
        f >> field;
      if (field == point) return n;
    }
    return -1;
  };
  int root = line_of("/");
  int a = line_of("/mnt/a-tmpfs");
  int b = line_of("/mnt/b-bind");
  int c = line_of("/mnt/c-tmpfs");
  ASSERT_GE(root, 0) << r.out;
  ASSERT_GE(a, 0) << r.out;
  ASSERT_GE(b, 0) << r.out;
  ASSERT_GE(c, 0) << r.out;
  EXPECT_LT(root, a) << r.out;
  EXPECT_LT(a, b) << r.out;
  EXPECT_LT(b, c) << r.out;
}

// crun's --config: the config file, relative to the bundle; root.path stays relative to the
// bundle. A missing file is one line naming it.
TEST(RuncCompat, ConfigOptionNamesTheConfigFile) {
  Sandbox sb;
  json cfg = runc_like_config({"/bin/echo", "from-subdir"});
  cfg["root"]["path"] = shared_rootfs();
  ::mkdir((sb.bundle + "/conf").c_str(), 0755);
  std::ofstream(sb.bundle + "/conf/other.json") << cfg.dump();
  Result r = sb.nyx({"run", "--config", "conf/other.json", "--bundle", sb.bundle, sb.id("cfg")});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "from-subdir\n");
  r = sb.nyx({"run", "--config", "missing.json", "--bundle", sb.bundle, sb.id("cfg2")});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(sb.bundle + "/missing.json: cannot open"), std::string::npos) << r.err;
}

// A bind source under a directory only the host's root may enter: the runtime opens it, so a
// container whose root is an unprivileged host user still gets the mount (runc), and a mount
// that cannot be made is an error, never a container without it.
TEST(RuncCompat, BindSourceTheUserNamespaceCannotReach) {
  Sandbox sb;
  std::string hidden = sb.dir + "/hidden";
  ::mkdir(hidden.c_str(), 0700);
  ::mkdir((hidden + "/data").c_str(), 0755);
  std::ofstream(hidden + "/data/file") << "reachable\n";
  ::chmod((hidden + "/data/file").c_str(), 0644);
  json cfg = strict_config({"/bin/nyx-probe", "cat", "/mnt/file"});
  cfg["mounts"].push_back({{"destination", "/mnt"},
                           {"type", "bind"},
                           {"source", hidden + "/data"},
                           {"options", {"rbind", "ro"}}});
  sb.write_config(cfg);
  Result r = sb.nyx({"run", "--bundle", sb.bundle, sb.id("bind")});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("reachable"), std::string::npos) << r.out;
}

// exec --env overrides the container's own value of a name (the last one given wins).
TEST(RuncCompat, ExecEnvOverridesTheContainersValue) {
  Sandbox sb;
  json cfg = runc_like_config({"/bin/nyx-probe", "sleep", "30"});
  cfg["process"]["env"] = {"PATH=/bin", "HOME=/"};
  std::string id = started(sb, cfg, "env");
  Result r = sb.nyx({"exec", "--env", "HOME=/tmp", "-e", "FOO=BAR", id, "/bin/sh", "-c",
                     "echo $HOME $FOO; env | grep -c ^HOME="});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "/tmp BAR\n1\n");
  sb.nyx({"delete", "--force", id});
}

// Socket activation: LISTEN_FDS given to the runtime reaches the container with its fds.
TEST(RuncCompat, ListenFdsArePassedOn) {
  Sandbox sb;
  sb.write_config(
      runc_like_config({"/bin/sh", "-c", "echo $LISTEN_FDS $LISTEN_PID; ls /proc/self/fd"}));
  std::vector<std::string> argv = {"env", "LISTEN_FDS=1"};
  for (auto& a : sb.nyx_argv({"run", "--bundle", sb.bundle, sb.id("lfd")}))
    argv.push_back(a);
  // fd 3 open for the runtime (bash-style: 3</dev/null).
  std::vector<std::string> sh = {"sh", "-c", "exec 3</dev/null; exec \"$@\"", "sh"};
  sh.insert(sh.end(), argv.begin(), argv.end());
  Result r = run(sh);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("1 1\n", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("\n3\n"), std::string::npos) << r.out;
}

// crun's --regex: every container whose ID matches.
TEST(RuncCompat, DeleteRegex) {
  Sandbox sb;
  sb.write_config(runc_like_config({"/bin/nyx-probe", "sleep", "30"}));
  std::string a = sb.id("rxa"), b = sb.id("rxb"), keep = sb.id("other");
  for (const auto& id : {a, b, keep})
    ASSERT_EQ(sb.nyx({"create", "--bundle", sb.bundle, id}).status, 0);
  EXPECT_EQ(sb.nyx({"delete", "-f", "--regex", "rx.*"}).status, 0);
  json all = json::parse(sb.nyx({"list", "-f", "json"}).out);
  ASSERT_EQ(all.size(), 1u) << all;
  EXPECT_EQ(all[0]["id"], keep);
  sb.nyx({"delete", "-f", keep});
}

TEST(RuncCompat, TerminalWithDetachNeedsAConsoleSocket) {
  Sandbox sb;
  json cfg = runc_like_config({"/bin/true"});
  cfg["process"]["terminal"] = true;
  sb.write_config(cfg);
  Result r = sb.nyx({"run", "-d", "--bundle", sb.bundle, sb.id("tty")});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("use --console-socket"), std::string::npos) << r.err;
}

// --no-pivot: the host's procfs and sysfs are not left in the container's mount namespace
// under the moved rootfs: a fully visible procfs would let a nested user namespace mount one
// (runc's no_pivot test).
TEST(RuncCompat, NoPivotLeavesNoHostProcBehind) {
  Sandbox sb;
  json cfg = runc_like_config(
      {"unshare", "-mrpf", "sh", "-c", "mount -t proc none /proc && echo mounted"});
  for (const char* set : {"bounding", "permitted"})
    cfg["process"]["capabilities"][set].push_back("CAP_SETFCAP");
  sb.write_config(cfg);
  Result r = sb.nyx({"run", "--no-pivot", "--bundle", sb.bundle, sb.id("np")});
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(r.out.find("mounted"), std::string::npos) << r.out;
  EXPECT_NE((r.out + r.err).find("permission denied"), std::string::npos) << r.out << r.err;
}

}  // namespace
}  // namespace nyx::test
