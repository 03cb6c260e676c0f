// The runtime binary as containers could reach it (CVE-2019-5736, CVE-2016-9962): never run as
// a harness, exec'd processes forked in from outside the container's pid namespace, and `exec`
// running from a read-only copy of the binary where the container could write it.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "tests/integration/harness.hpp"

namespace nyx::test {
namespace {

// A rootfs of its own with scripts whose interpreter chain ends at /proc/self/exe.
std::string evil_rootfs(const Sandbox& sb) {
  std::string rootfs = sb.dir + "/rootfs-evil";
  make_rootfs(rootfs);
  std::ofstream(rootfs + "/bin/evil") << "#!/proc/self/exe\n";
  std::ofstream(rootfs + "/bin/evil2") << "#! /bin/evil --version\n";
  chmod((rootfs + "/bin/evil").c_str(), 0755);
  chmod((rootfs + "/bin/evil2").c_str(), 0755);
  return rootfs;
}

// run and exec never start the runtime's own binary inside the container, whether it is named
// directly (/proc/self/exe) or as the interpreter of a script, at any depth.
TEST(RuntimeExe, NeverRunsAsTheHarness) {
  Sandbox sb;
  std::string rootfs = evil_rootfs(sb);
  for (const char* cfgname : {"runc-like", "strict"}) {
    SCOPED_TRACE(cfgname);
    for (const char* arg0 : {"/proc/self/exe", "/bin/evil", "/bin/evil2"}) {
      SCOPED_TRACE(arg0);
      json cfg = std::string(cfgname) == "strict" ? strict_config({arg0, "--version"})
                                                  : runc_like_config({arg0, "--version"});
      cfg["root"]["path"] = rootfs;
      sb.write_config(cfg);
      Result r = sb.nyx({"run", "--bundle", sb.bundle, sb.id("self")});
      EXPECT_EQ(r.status, 1) << r.out << r.err;
      EXPECT_EQ(r.out.find("nyx-runtime"), std::string::npos) << r.out;
      EXPECT_NE(r.err.find("is the runtime's own binary"), std::string::npos) << r.err;
    }
    json cfg = std::string(cfgname) == "strict"
                   ? strict_config({"/bin/nyx-probe", "sleep", "5"})
                   : runc_like_config({"/bin/nyx-probe", "sleep", "5"});
    cfg["root"]["path"] = rootfs;
    sb.write_config(cfg);
    std::string id = sb.id("selfexec");
    ASSERT_EQ(sb.nyx({"run", "--detach", "--bundle", sb.bundle, id}).status, 0);
    for (const char* arg0 : {"/proc/self/exe", "/bin/evil", "/bin/evil2"}) {
      Result e = sb.nyx({"exec", id, arg0, "--version"});
      EXPECT_EQ(e.status, 255) << arg0 << ": " << e.out << e.err;
      EXPECT_EQ(e.out, "") << arg0;
      // /proc/self names nothing for the joining process, which is outside the container's
      // pid namespace: the direct path is not found; the interpreters are refused by name.
      if (std::string(arg0) != "/proc/self/exe") {
        EXPECT_NE(e.err.find("is the runtime's own binary"), std::string::npos) << e.err;
      }
    }
    // The same harness path, not the runtime: runs.
    Result ok = sb.nyx({"exec", id, "/bin/nyx-probe", "echo", "fine"});
    EXPECT_EQ(ok.status, 0) << ok.err;
    sb.nyx({"delete", "--force", id});
  }
}

// `exec` into a container whose credentials could write the runtime binary (no user
// namespace: its root is host root) runs from a read-only copy of the binary; into the strict
// profile's user namespace, which does not map the binary's owner, it needs none.
TEST(RuntimeExe, ExecRunsFromAReadOnlyCopyWhereTheContainerCouldWriteIt) {
  struct statvfs own {};
  ASSERT_EQ(statvfs(nyx_bin().c_str(), &own), 0);
  if ((own.f_flag & ST_RDONLY) != 0) GTEST_SKIP() << "the runtime binary is on a read-only mount";
  Sandbox sb;
  for (bool strict : {false, true}) {
    SCOPED_TRACE(strict ? "strict" : "runc-like");
    json cfg = strict ? strict_config({"/bin/nyx-probe", "sleep", "5"})
                      : runc_like_config({"/bin/nyx-probe", "sleep", "5"});
    sb.write_config(cfg);
    std::string id = sb.id(strict ? "rostrict" : "rorunc");
    ASSERT_EQ(sb.nyx({"run", "--detach", "--bundle", sb.bundle, id}).status, 0);
    // A foreground exec that lasts a moment: look at the runtime process meanwhile.
    std::vector<std::string> argv = sb.nyx_argv({"exec", id, "/bin/nyx-probe", "sleep", "1"});
    pid_t pid = fork();
    if (pid == 0) {
      execv(argv[0].c_str(), c_argv(argv).data());
      _exit(127);
    }
    bool readonly = false;
    for (int i = 0; i < 100 && !readonly; ++i) {
      usleep(10000);
      struct statvfs vfs {};
      std::string exe = "/proc/" + std::to_string(pid) + "/exe";
      readonly = statvfs(exe.c_str(), &vfs) == 0 && (vfs.f_flag & ST_RDONLY) != 0;
    }
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    EXPECT_EQ(readonly, !strict);
    sb.nyx({"delete", "--force", id});
  }
}

// The exec'd process is a child of `exec` in the container's pid namespace; the process that
// joined the namespaces never was in it: its record says where it runs, and nothing named
// nyx-runtime is left in the container.
TEST(RuntimeExe, ExecForksTheProcessIntoThePidNamespace) {
  Sandbox sb;
  sb.write_config(runc_like_config({"/bin/nyx-probe", "sleep", "5"}));
  std::string id = sb.id("forkin");
  ASSERT_EQ(sb.nyx({"run", "--detach", "--bundle", sb.bundle, id}).status, 0);
  Result e = sb.nyx({"exec", id, "/bin/nyx-probe", "getpid", "+", "ps"});
  json st = sb.state(id);
  sb.nyx({"delete", "--force", id});
  ASSERT_EQ(e.status, 0) << e.err;
  auto lines = json_lines(e.out);
  json in = step(lines, "getpid");
  ASSERT_TRUE(in.is_object()) << e.out;
  EXPECT_GT(in["pid"].get<int>(), 1);  // a pid of the container's namespace
  EXPECT_EQ(in["ppid"], 0);            // its parent, the runtime, is outside it
  json execs = st["hardening"]["execs"];
  ASSERT_EQ(execs.size(), 1u);
  EXPECT_NE(execs[0]["pid"], in["pid"]) << "the record names the host pid";
  json ps = step(lines, "ps");
  ASSERT_TRUE(ps.is_object()) << e.out;
  EXPECT_EQ(ps["pids"].size(), 2u) << ps;  // the init and this process
}

}  // namespace
}  // namespace nyx::test
