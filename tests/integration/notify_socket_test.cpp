// systemd's NOTIFY_SOCKET given to the runtime: the container gets a socket of its own at that
// path, and READY=1 reaches the caller's socket with the init as MAINPID (runc, crun).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tests/integration/harness.hpp"

namespace nyx::test {
namespace {

// The caller's end: what a service manager listens on.
class Manager {
 public:
  explicit Manager(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    path.copy(a.sun_path, sizeof a.sun_path - 1);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << std::strerror(errno);
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Manager() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  // The next message, waiting up to 10 s; "" when none came.
  std::string next() const { return receive(0); }
  // A message already queued, without waiting; "" when there is none.
  std::string queued() const { return receive(MSG_DONTWAIT); }

 private:
  std::string receive(int flags) const {
    char buf[512];
    ssize_t n = ::recv(fd_, buf, sizeof buf, flags);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
  }
  std::string path_;
  int fd_ = -1;
};

std::vector<std::string> with_notify(const Sandbox& sb, const std::string& socket,
                                     const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"env", "NOTIFY_SOCKET=" + socket};
  for (auto& a : sb.nyx_argv(args))
    argv.push_back(a);
  return argv;
}

// A service that says READY=1 half a second after it starts, then runs on.
json ready_later_config() {
  return runc_like_config(
      {"/bin/sh", "-c", "sleep 0.5; /bin/nyx-probe sd-notify READY=1; exec sleep 30"});
}

// READY=1, then MAINPID with the container's init, both queued already when the command that
// started it returned: it waited for them.
void expect_ready_queued(const Sandbox& sb, const Manager& m, const std::string& id) {
  EXPECT_EQ(m.queued(), "READY=1");
  EXPECT_EQ(m.queued(), "MAINPID=" + std::to_string(sb.state(id).value("pid", 0)));
}

// Nothing of a container is left under --root once it is deleted, and no private directory of a
// create (`.new.*`) either.
void expect_root_empty(const Sandbox& sb) {
  EXPECT_TRUE(dir_entries(sb.root).empty()) << "left: " << dir_entries(sb.root)[0];
}

TEST(NotifySocket, RunGivesTheContainerASocketAndPassesReadyOn) {
  Sandbox sb;
  std::string host = sb.dir + "/manager.sock";
  Manager m(host);
  json cfg = runc_like_config(
      {"/bin/sh", "-c",
       "echo \"env=$NOTIFY_SOCKET\"; grep -c \" " + host + " \" /proc/self/mountinfo; ls " + host +
           "; /bin/nyx-probe sd-notify READY=1 + sd-notify STATUS=working"});
  // Not root in the container: the socket is there for any user of it.
  cfg["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
  sb.write_config(cfg);
  Result r = run(with_notify(sb, host, {"run", "--bundle", sb.bundle, sb.id("ntf")}));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("env=" + host + "/notify\n1\nnotify\n"), std::string::npos) << r.out;
  std::vector<json> lines = json_lines(r.out);
  json sent = step(lines, "sd-notify");
  EXPECT_EQ(sent.value("ok", false), true) << r.out;
  EXPECT_EQ(m.next(), "READY=1");
  std::string pid = m.next();
  EXPECT_EQ(pid.rfind("MAINPID=", 0), 0u) << pid;
  EXPECT_GT(std::atoi(pid.c_str() + 8), 1) << pid;
  // After READY=1 the foreground run goes on passing messages: STATUS=, WATCHDOG=1.
  EXPECT_EQ(m.next(), "STATUS=working");
  EXPECT_EQ(r.err, "");
  expect_root_empty(sb);
}

TEST(NotifySocket, StartReturnsOnceTheServiceIsReady) {
  Sandbox sb;
  std::string host = sb.dir + "/manager.sock";
  Manager m(host);
  sb.write_config(ready_later_config());
  std::string id = sb.id("ntstart");
  ASSERT_EQ(run(with_notify(sb, host, {"create", "--bundle", sb.bundle, id})).status, 0);
  Result r = run(with_notify(sb, host, {"start", id}));
  ASSERT_EQ(r.status, 0) << r.err;
  expect_ready_queued(sb, m, id);
  EXPECT_EQ(sb.state(id).value("status", ""), "running");
  EXPECT_EQ(sb.nyx({"delete", "--force", id}).status, 0);
  expect_root_empty(sb);
}

TEST(NotifySocket, RunDetachedReturnsOnceReadyAndStartReturnsWhenTheInitExits) {
  Sandbox sb;
  std::string host = sb.dir + "/manager.sock";
  Manager m(host);
  sb.write_config(ready_later_config());
  std::string id = sb.id("ntdet");
  Result r = run(with_notify(sb, host, {"run", "-d", "--bundle", sb.bundle, id}));
  ASSERT_EQ(r.status, 0) << r.err;
  expect_ready_queued(sb, m, id);
  EXPECT_EQ(sb.nyx({"delete", "--force", id}).status, 0);

  // A service that never says READY=1 does not hold start once it is gone.
  sb.write_config(runc_like_config({"/bin/sh", "-c", "sleep 0.3"}));
  id = sb.id("ntexit");
  ASSERT_EQ(run(with_notify(sb, host, {"create", "--bundle", sb.bundle, id})).status, 0);
  r = run(with_notify(sb, host, {"start", id}), "", 20);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(m.queued(), "");
  EXPECT_EQ(sb.nyx({"delete", "--force", id}).status, 0);
  expect_root_empty(sb);
}

// A NOTIFY_SOCKET that cannot be given to a container (abstract, relative) is said once and not
// passed on; the container runs. A refused create leaves no private directory behind.
TEST(NotifySocket, UnusableSocketIsAWarningAndRefusedCreateLeavesNothing) {
  Sandbox sb;
  sb.write_config(runc_like_config({"/bin/sh", "-c", "echo \"env=$NOTIFY_SOCKET\""}));
  Result r = run(with_notify(sb, "@abstract", {"run", "--bundle", sb.bundle, sb.id("ntabs")}));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "env=\n");
  EXPECT_EQ(r.err,
            "nyx-runtime: warning: NOTIFY_SOCKET \"@abstract\": not an absolute path: not passed "
            "on to the container\n");

  json cfg = runc_like_config({"/bin/true"});
  cfg["mounts"].push_back({{"destination", "/mnt"}, {"type", "bind"}, {"source", "/nonexistent"}});
  sb.write_config(cfg);
  r = run(
      with_notify(sb, sb.dir + "/manager.sock", {"create", "--bundle", sb.bundle, sb.id("ntbad")}));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("/nonexistent"), std::string::npos) << r.err;
  expect_root_empty(sb);
}

}  // namespace
}  // namespace nyx::test
