// OCI hooks: where each point runs, what it gets on stdin, failures and timeouts.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "tests/integration/harness.hpp"

namespace nyx::test {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_script(const std::string& path, const std::string& body) {
  std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
  chmod(path.c_str(), 0755);
}

// A hook that saves its stdin (the state) and the mount namespace it ran in.
json recording_hook(const std::string& script, const std::string& out) {
  return {{"path", script}, {"args", {script, out}}};
}

class Hooks : public ::testing::Test {
 protected:
  void SetUp() override {
    rootfs_ = sb_.dir + "/rootfs";
    make_rootfs(rootfs_);
    record_ = sb_.dir + "/record.sh";
    write_script(record_, "cat > \"$1\"; echo >> \"$1\"; readlink /proc/self/ns/mnt >> \"$1\"");
    // Inside the container (startContainer runs after pivot_root): a busybox script.
    write_script(rootfs_ + "/record.sh",
                 "cat > \"$1\"; echo; echo in-container; cat /etc/hostname >> \"$1\"");
  }

  json config(const std::vector<std::string>& args) {
    json cfg = runc_like_config(args);
    cfg["root"]["path"] = rootfs_;
    return cfg;
  }

  Sandbox sb_;
  std::string rootfs_;
  std::string record_;
};

// A createContainer hook starts in the container root (runc's hooks library test binds a file
// into ./lib): a relative path never names the host's tree.
TEST_F(Hooks, CreateContainerStartsInTheContainerRoot) {
  json cfg = config({"/bin/cat", "/hook-was-here"});
  std::string marker = "nyx-hook-cwd-" + std::to_string(getpid());
  json hook = {{"path", "/bin/sh"},
               {"args", {"/bin/sh", "-c", "pwd > ./hook-was-here && touch ./" + marker}}};
  cfg["hooks"]["createContainer"] = json::array({hook});
  sb_.write_config(cfg);
  Result r = sb_.nyx({"run", "--bundle", sb_.bundle, sb_.id("hookcwd")});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, rootfs_ + "\n");
  EXPECT_TRUE(path_exists(rootfs_ + "/" + marker));
  EXPECT_FALSE(path_exists("/" + marker));
  unlink(("/" + marker).c_str());
}

TEST_F(Hooks, EveryPointRunsWithTheState) {
  json cfg = config({"/bin/nyx-probe", "echo", "harness"});
  std::string d = sb_.dir;
  cfg["hooks"] = {{"prestart", {recording_hook(record_, d + "/prestart")}},
                  {"createRuntime", {recording_hook(record_, d + "/createRuntime")}},
                  {"createContainer", {recording_hook(record_, d + "/createContainer")}},
                  {"startContainer", {recording_hook("/record.sh", "/tmp/startContainer")}},
                  {"poststart", {recording_hook(record_, d + "/poststart")}},
                  {"poststop", {recording_hook(record_, d + "/poststop")}}};
  sb_.write_config(cfg);
  std::string id = sb_.id("hooks");
  Result r = sb_.nyx({"create", "--bundle", sb_.bundle, id});
  ASSERT_EQ(r.status, 0) << r.err;
  std::string own_mnt = run({"readlink", "/proc/self/ns/mnt"}).out;
  for (const char* point : {"prestart", "createRuntime", "createContainer"}) {
    std::string text = slurp(d + "/" + point);
    ASSERT_FALSE(text.empty()) << point;
    json st = json::parse(text.substr(0, text.find('\n')), nullptr, false);
    ASSERT_TRUE(st.is_object()) << point << ": " << text;
    EXPECT_EQ(st["id"], id);
    EXPECT_GT(st["pid"].get<int>(), 0);
    EXPECT_EQ(st["bundle"], sb_.bundle);
    std::string mnt = text.substr(text.find('\n') + 1);
    // createContainer runs in the container's mount namespace, the others in ours.
    if (std::string(point) == "createContainer") {
      EXPECT_NE(mnt, own_mnt) << point;
    } else {
      EXPECT_EQ(mnt, own_mnt) << point;
    }
  }
  json state = sb_.state(id);
  EXPECT_EQ(state["hardening"]["hooks"].size(), 3u);
  EXPECT_EQ(state["hardening"]["hooks"][2]["hook"], "createContainer");
  EXPECT_EQ(state["hardening"]["hooks"][2]["exitCode"], 0);

  r = sb_.nyx({"start", id});
  ASSERT_EQ(r.status, 0) << r.err;
  std::string inside = slurp(rootfs_ + "/tmp/startContainer");
  EXPECT_NE(inside.find("\"id\":\"" + id + "\""), std::string::npos) << inside;
  EXPECT_NE(inside.find("nyx"), std::string::npos) << "hook did not see the container's /etc";
  EXPECT_FALSE(slurp(d + "/poststart").empty());
  for (int i = 0; i < 100 && sb_.state(id)["status"] != "stopped"; ++i)
    usleep(20000);
  ASSERT_EQ(sb_.nyx({"delete", id}).status, 0);
  EXPECT_FALSE(slurp(d + "/poststop").empty());
}

TEST_F(Hooks, FailingCreateRuntimeHookAbortsAndCleansUp) {
  json cfg = config({"/bin/nyx-probe", "echo", "never"});
  std::string fail = sb_.dir + "/fail.sh";
  write_script(fail, "exit 7");
  cfg["hooks"] = {{"createRuntime", {{{"path", fail}}}}};
  sb_.write_config(cfg);
  std::string id = sb_.id("failhook");
  Result r = sb_.nyx({"run", "--bundle", sb_.bundle, id});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("createRuntime hook " + fail + ": exited with status 7"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.out.find("never"), std::string::npos);
  EXPECT_FALSE(path_exists(sb_.root + "/" + id));
  EXPECT_TRUE(mounts_under(rootfs_).empty());
}

TEST_F(Hooks, TimeoutKillsTheHook) {
  json cfg = config({"/bin/nyx-probe", "echo", "never"});
  std::string slow = sb_.dir + "/slow.sh";
  write_script(slow, "sleep 30");
  cfg["hooks"] = {{"prestart", {{{"path", slow}, {"timeout", 1}}}}};
  sb_.write_config(cfg);
  Result r = sb_.nyx({"run", "--bundle", sb_.bundle, sb_.id("slowhook")}, "", 20);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("timed out after 1s"), std::string::npos) << r.err;
}

TEST_F(Hooks, FailingPoststartHookIsAWarning) {
  json cfg = config({"/bin/nyx-probe", "echo", "ran"});
  std::string fail = sb_.dir + "/fail.sh";
  write_script(fail, "exit 3");
  cfg["hooks"] = {{"poststart", {{{"path", fail}}}}, {"poststop", {{{"path", fail}}}}};
  sb_.write_config(cfg);
  Result r = sb_.nyx({"run", "--bundle", sb_.bundle, sb_.id("warnhook")});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("ran"), std::string::npos);
  EXPECT_NE(r.err.find("warning: poststart hook"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("warning: poststop hook"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace nyx::test
