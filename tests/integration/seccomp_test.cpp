// linux.seccomp on real containers: every action as the harness sees it from inside, argument
// rules, the strict default-deny allowlist, and what the record says about the filter.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "tests/integration/harness.hpp"

namespace nyx::test {
namespace {

std::string nr(long n) {
  return std::to_string(n);
}

// The runc-like config (default ALLOW) with `rules` as linux.seccomp.syscalls.
json with_rules(json rules, const std::string& default_action = "SCMP_ACT_ALLOW") {
  json cfg = runc_like_config({});
  cfg["linux"]["seccomp"] = {{"defaultAction", default_action},
                             {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"}},
                             {"syscalls", rules}};
  return cfg;
}

json rule(const std::vector<std::string>& names, const std::string& action) {
  return {{"names", names}, {"action", action}};
}

TEST(Seccomp, ErrnoReturnsConfiguredErrno) {
  Sandbox sb;
  json r = rule({"getppid"}, "SCMP_ACT_ERRNO");
  r["errnoRet"] = EACCES;
  Result res;
  auto lines = sb.probe(with_rules({r}), {"syscall", nr(SYS_getppid), "+", "report"}, &res);
  ASSERT_EQ(res.status, 0) << res.err;
  json call = step(lines, "syscall");
  EXPECT_EQ(call["ok"], false);
  EXPECT_EQ(call["errno"], EACCES);
  // The filter is in place (mode 2) and the rest of the harness runs normally.
  EXPECT_EQ(step(lines, "report")["seccomp"], 2);
}

// A rule's missing errnoRet means EPERM, as in runc and crun, whatever defaultErrnoRet says.
// Under a default ERRNO action the rule then differs from the default only by its errno, and
// it must still be loaded.
TEST(Seccomp, RuleErrnoWithoutErrnoRetIsEperm) {
  Sandbox sb;
  json cfg = strict_config({});
  cfg["linux"]["seccomp"]["defaultErrnoRet"] = EACCES;
  cfg["linux"]["seccomp"]["syscalls"].push_back(rule({"sethostname"}, "SCMP_ACT_ERRNO"));
  Result res;
  auto lines = sb.probe(cfg, {"sethostname", "x", "+", "init-module", "+", "echo", "alive"}, &res);
  ASSERT_EQ(res.status, 0) << res.err;
  EXPECT_EQ(step(lines, "sethostname")["errno"], EPERM);
  EXPECT_EQ(step(lines, "init-module")["errno"], EACCES);  // unlisted: the default's errno
  EXPECT_EQ(step(lines, "echo")["text"], "alive");

  // The same with a default ALLOW action carrying a defaultErrnoRet it never uses.
  json allow = with_rules({rule({"getppid"}, "SCMP_ACT_ERRNO")});
  allow["linux"]["seccomp"]["defaultErrnoRet"] = ENOSYS;
  lines = sb.probe(allow, {"syscall", nr(SYS_getppid)}, &res);
  ASSERT_EQ(res.status, 0) << res.err;
  EXPECT_EQ(step(lines, "syscall")["errno"], EPERM);
}

// KILL (= KILL_THREAD on the single-threaded harness) and KILL_PROCESS end it by SIGSYS at the
// call: the step before it printed, the one after it never ran.
TEST(Seccomp, KillActionsKillBySigsys) {
  Sandbox sb;
  for (const char* action : {"SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD"}) {
    Result res;
    auto lines =
        sb.probe(with_rules({rule({"getppid"}, action)}),
                 {"echo", "before", "+", "syscall", nr(SYS_getppid), "+", "echo", "after"}, &res);
    EXPECT_EQ(res.status, 128 + SIGSYS) << action << ": " << res.err;
    ASSERT_EQ(lines.size(), 1u) << action;
    EXPECT_EQ(lines[0]["text"], "before") << action;
  }
}

TEST(Seccomp, TrapDeliversSigsys) {
  Sandbox sb;
  Result res;
  auto lines = sb.probe(with_rules({rule({"getppid"}, "SCMP_ACT_TRAP")}),
                        {"syscall-trap", nr(SYS_getppid), "+", "echo", "after"}, &res);
  ASSERT_EQ(res.status, 0) << res.err;
  json call = step(lines, "syscall-trap");
  EXPECT_EQ(call["trapped"], true);
  EXPECT_EQ(call["si_code"], 1);  // SYS_SECCOMP
  EXPECT_EQ(call["si_syscall"], SYS_getppid);
  EXPECT_EQ(step(lines, "echo")["text"], "after");
  // Without a handler, SIGSYS ends the harness.
  sb.probe(with_rules({rule({"getppid"}, "SCMP_ACT_TRAP")}), {"syscall", nr(SYS_getppid)}, &res);
  EXPECT_EQ(res.status, 128 + SIGSYS);
}

TEST(Seccomp, LogLetsTheCallThrough) {
  Sandbox sb;
  Result res;
  auto lines = sb.probe(with_rules({rule({"getppid"}, "SCMP_ACT_LOG")}),
                        {"syscall", nr(SYS_getppid), "+", "report"}, &res);
  ASSERT_EQ(res.status, 0) << res.err;
  EXPECT_EQ(step(lines, "syscall")["ok"], true);
  EXPECT_EQ(step(lines, "syscall")["ret"], 0);  // pid 1's parent is outside the pid namespace
  EXPECT_EQ(step(lines, "report")["seccomp"], 2);
}

// Docker's personality rule: under default deny, only the listed argument values pass. Several
// comparisons of one argument in one rule mean any of them (runc and crun split them).
TEST(Seccomp, ArgumentRulesMatchOnlyTheirValues) {
  Sandbox sb;
  json cfg = strict_config({});
  auto& rules = cfg["linux"]["seccomp"]["syscalls"];
  json query = rule({"personality"}, "SCMP_ACT_ALLOW");
  query["args"] = {{{"index", 0}, {"value", 0xffffffffu}, {"op", "SCMP_CMP_EQ"}}};
  json set = rule({"personality"}, "SCMP_ACT_ALLOW");
  set["args"] = {{{"index", 0}, {"value", 8}, {"op", "SCMP_CMP_EQ"}},
                 {{"index", 0}, {"value", 0}, {"op", "SCMP_CMP_EQ"}}};
  rules.push_back(query);
  rules.push_back(set);
  Result res;
  auto lines = sb.probe(cfg,
                        {"personality", "0xffffffff", "+", "personality", "8", "+", "personality",
                         "0x40000", "+", "personality", "0"},
                        &res);
  ASSERT_EQ(res.status, 0) << res.err;
  ASSERT_EQ(lines.size(), 4u) << res.out;
  EXPECT_EQ(lines[0]["ok"], true);
  EXPECT_EQ(lines[1]["ok"], true);
  EXPECT_EQ(lines[2]["ok"], false);
  EXPECT_EQ(lines[2]["errno"], EPERM);
  EXPECT_EQ(lines[3]["ok"], true);
  EXPECT_EQ(lines[3]["ret"], 8);  // personality returns the previous persona: 8 was set

  // MASKED_EQ and GT: umask is denied when it would remove owner permissions, and close
  // when the fd number is above 1000.
  json um = rule({"umask"}, "SCMP_ACT_ERRNO");
  um["errnoRet"] = EACCES;
  um["args"] = {{{"index", 0}, {"value", 0700}, {"valueTwo", 0700}, {"op", "SCMP_CMP_MASKED_EQ"}}};
  json cl = rule({"close"}, "SCMP_ACT_ERRNO");
  cl["errnoRet"] = EBADE;
  cl["args"] = {{{"index", 0}, {"value", 1000}, {"op", "SCMP_CMP_GT"}}};
  lines = sb.probe(with_rules({um, cl}),
                   {"syscall", nr(SYS_umask), "18", "+", "syscall", nr(SYS_umask), "0x1ff", "+",
                    "syscall", nr(SYS_close), "999", "+", "syscall", nr(SYS_close), "1001"},
                   &res);
  ASSERT_EQ(res.status, 0) << res.err;
  ASSERT_EQ(lines.size(), 4u) << res.out;
  EXPECT_EQ(lines[0]["ok"], true);
  EXPECT_EQ(lines[1]["errno"], EACCES);
  EXPECT_EQ(lines[2]["errno"], EBADF);  // allowed: the kernel answers
  EXPECT_EQ(lines[3]["errno"], EBADE);
}

// The strict profile denies the terminal ioctls that reach beyond the container (TIOCSTI,
// TIOCLINUX) on the low 32 bits of the request, so setting bit 32 does not get past it (flatpak
// CVE-2019-10063); every other request, with or without high bits, reaches the kernel (ENOTTY
// on the harness's /dev/null stdin). Nested namespaces stay closed without `namespaces`.
TEST(Seccomp, StrictProfileDeniesTerminalInjectionIoctlsOnTheLow32Bits) {
  Sandbox sb;
  Result res;
  std::string ioctl = nr(SYS_ioctl);
  auto lines = sb.probe(strict_config({}),
                        {"syscall",
                         ioctl,
                         "0",
                         "0x5412",
                         "+",
                         "syscall",
                         ioctl,
                         "0",
                         "0x100005412",
                         "+",
                         "syscall",
                         ioctl,
                         "0",
                         "0xffffffff0000541c",
                         "+",
                         "syscall",
                         ioctl,
                         "0",
                         "0x541c",
                         "+",
                         "syscall",
                         ioctl,
                         "0",
                         "0x5401",
                         "+",
                         "syscall",
                         ioctl,
                         "0",
                         "0x100005401",
                         "+",
                         "syscall",
                         ioctl,
                         "0",
                         "0x5410",
                         "+",
                         "syscall",
                         nr(SYS_unshare),
                         "0x10000000"},
                        &res);
  ASSERT_EQ(res.status, 0) << res.err;
  ASSERT_EQ(lines.size(), 8u) << res.out;
  for (int i : {0, 1, 2, 3})
    EXPECT_EQ(lines[i]["errno"], EPERM) << i << ": " << lines[i];
  for (int i : {4, 5, 6})
    EXPECT_EQ(lines[i]["errno"], ENOTTY) << i << ": " << lines[i];
  EXPECT_EQ(lines[7]["errno"], EPERM) << lines[7];

  // The kernel alone (no filter) answers every one of them.
  Result plain;
  auto ok = sb.probe(runc_like_config({}), {"syscall", ioctl, "0", "0x100005412"}, &plain);
  ASSERT_EQ(ok.size(), 1u) << plain.out << plain.err;
  EXPECT_NE(ok[0]["errno"], EPERM) << ok[0];
}

// The strict profile lists only the native ABI: a syscall through the 32-bit table does not
// slip past the allowlist, it kills the caller (libseccomp's bad-architecture action).
// Whether this kernel has the i386 syscall ABI: a child makes an i386 getpid (int $0x80).
// Without IA32 emulation (CONFIG_IA32_EMULATION off, or ia32_emulation=0) the instruction
// faults with SIGSEGV in every process, filtered or not, and the i386 checks mean nothing.
bool host_has_i386_abi() {
#if defined(__x86_64__)
  pid_t pid = ::fork();
  if (pid == 0) {
    long r = 20;  // __NR_getpid in the i386 table
    __asm__ volatile("int $0x80" : "+a"(r) : : "memory");
    ::_exit(r > 0 ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
#else
  return false;
#endif
}

TEST(Seccomp, StrictProfileKillsX32Syscalls) {
  Sandbox sb;
  Result res;
  auto lines = sb.probe(strict_config({}), {"echo", "before", "+", "syscall-x32"}, &res);
  EXPECT_EQ(res.status, 128 + SIGSYS) << res.out << res.err;
  ASSERT_EQ(lines.size(), 1u) << res.out;
  EXPECT_EQ(lines[0]["step"], "echo");

  // Without a filter the kernel answers: the pid where x32 is enabled, ENOSYS where not. Either
  // way the process lives, so the kill above is the filter's doing.
  Result plain;
  auto ok = sb.probe(runc_like_config({}), {"syscall-x32"}, &plain);
  EXPECT_EQ(plain.status, 0) << plain.err;
  ASSERT_EQ(ok.size(), 1u) << plain.out;
  EXPECT_TRUE(ok[0]["ok"] == true || ok[0]["errno"] == ENOSYS) << ok[0];
}

TEST(Seccomp, StrictProfileDeniesNativeSyscallsOutsideTheList) {
  Sandbox sb;
  Result res;
  // acct is in no group: denied with EPERM, and the harness runs on.
  auto lines = sb.probe(strict_config({}), {"syscall", nr(SYS_acct), "0", "+", "exit", "3"}, &res);
  EXPECT_EQ(res.status, 3) << res.out << res.err;
  ASSERT_EQ(lines.size(), 2u) << res.out;
  EXPECT_EQ(lines[0]["errno"], EPERM);
}

TEST(Seccomp, StrictProfileKillsI386Syscalls) {
  if (!host_has_i386_abi()) {
    GTEST_SKIP() << "this kernel has no i386 syscall ABI (int $0x80 faults with SIGSEGV in every "
                    "process): nothing to filter; the x32 and native checks still run";
  }
  Sandbox sb;
  Result res;
  auto lines = sb.probe(strict_config({}), {"echo", "before", "+", "syscall32"}, &res);
  EXPECT_EQ(res.status, 128 + SIGSYS) << res.out << res.err;
  ASSERT_EQ(lines.size(), 1u) << res.out;
  EXPECT_EQ(lines[0]["step"], "echo");

  // Without a filter the same call works: the kill above is the filter's doing.
  Result plain;
  auto ok = sb.probe(runc_like_config({}), {"syscall32"}, &plain);
  EXPECT_EQ(plain.status, 0) << plain.err;
  ASSERT_EQ(ok.size(), 1u) << plain.out;
  EXPECT_EQ(ok[0]["ok"], true);
}

TEST(Seccomp, DefaultDenyBlocksUnlistedCallsHarnessRuns) {
  Sandbox sb;
  Result res;
  auto lines = sb.probe(strict_config({}),
                        {"init-module", "+", "syscall", nr(SYS_acct), "0", "+", "ptrace", "1", "+",
                         "syscall", nr(SYS_clone3), "0", "0", "+", "report", "+", "exit", "7"},
                        &res);
  EXPECT_EQ(res.status, 7) << res.err;
  ASSERT_EQ(lines.size(), 6u) << res.out;
  // clone3 answers ENOSYS, so glibc falls back to clone (the strict profile's fallback rule).
  EXPECT_EQ(lines[3]["errno"], ENOSYS);
  EXPECT_EQ(step(lines, "init-module")["errno"], EPERM);
  EXPECT_EQ(step(lines, "syscall")["errno"], EPERM);
  EXPECT_EQ(step(lines, "ptrace")["ok"], false);
  json rep = step(lines, "report");
  EXPECT_EQ(rep["seccomp"], 2);
  EXPECT_EQ(rep["no_new_privs"], 1);
}

TEST(Seccomp, StrictRunsBusyboxShell) {
  Sandbox sb;
  json cfg = strict_config({"/bin/sh", "-c",
                            "echo start; for i in 1 2 3; do echo n$i; done | wc -l; "
                            "ls / >/dev/null && cat /etc/hostname; sleep 0.01; exit 5"});
  sb.write_config(cfg);
  Result res = sb.nyx({"run", "--bundle", sb.bundle, sb.id("sh")});
  EXPECT_EQ(res.status, 5) << res.err;
  EXPECT_EQ(res.out, "start\n3\nnyx\n");
}

TEST(Seccomp, StrictRunsPythonWithHostLibs) {
  ASSERT_TRUE(path_exists("/usr/bin/python3")) << "scripts/deps.sh installs python3";
  Sandbox sb;
  json cfg = strict_config(
      {"/usr/bin/python3", "-S", "-c",
       "import os, threading, subprocess\n"
       "t = threading.Thread(target=lambda: None); t.start(); t.join()\n"
       "print(sum(range(10)), open('/proc/self/status').read().count('Seccomp:\\t2'))\n"
       "print(subprocess.run(['/bin/true']).returncode)\n"},
      {"--host-libs"});
  sb.write_config(cfg);
  Result res = sb.nyx({"run", "--bundle", sb.bundle, sb.id("py")});
  EXPECT_EQ(res.status, 0) << res.err;
  EXPECT_EQ(res.out, "45 1\n0\n");
}

TEST(Seccomp, AllowNetAddsSockets) {
  Sandbox sb;
  Result res;
  auto lines = sb.probe(
      strict_config({}),
      {"socket", "inet", "stream", "+", "socket", "unix", "dgram", "+", "bind-tcp", "8080"}, &res);
  ASSERT_EQ(res.status, 0) << res.err;
  ASSERT_EQ(lines.size(), 3u);
  for (const auto& l : lines) {
    EXPECT_EQ(l["ok"], false) << l;
    EXPECT_EQ(l["errno"], EPERM) << l;
  }
  lines = sb.probe(
      strict_config({}, {"--allow", "net"}),
      {"socket", "inet", "stream", "+", "socket", "unix", "dgram", "+", "bind-tcp", "8080"}, &res);
  ASSERT_EQ(res.status, 0) << res.err;
  ASSERT_EQ(lines.size(), 3u);
  for (const auto& l : lines)
    EXPECT_EQ(l["ok"], true) << l;
}

TEST(Seccomp, RecordReportsTheFilter) {
  Sandbox sb;
  json cfg = with_rules({rule({"getppid", "nyx_no_such_call", "getppid"}, "SCMP_ACT_ERRNO"),
                         rule({"nyx_other_unknown"}, "SCMP_ACT_ALLOW")},
                        "SCMP_ACT_LOG");
  cfg["process"]["args"] = {"/bin/nyx-probe", "syscall", nr(SYS_getppid)};
  sb.write_config(cfg);
  std::string report = sb.dir + "/report.json";
  Result res = sb.nyx({"run", "--report", report, "--bundle", sb.bundle, sb.id("rec")});
  ASSERT_EQ(res.status, 0) << res.err;
  EXPECT_EQ(json_lines(res.out).at(0)["errno"], EPERM);
  // Unknown names are skipped with one warning naming them; the known ones still load.
  EXPECT_NE(res.err.find("nyx_no_such_call"), std::string::npos) << res.err;
  EXPECT_NE(res.err.find("nyx_other_unknown"), std::string::npos) << res.err;
  json rec = json::parse(run({"cat", report}).out);
  json sc = rec["hardening"]["primitives"]["seccomp"];
  EXPECT_EQ(sc["status"], "applied");
  EXPECT_EQ(sc["defaultAction"], "SCMP_ACT_LOG");
  EXPECT_EQ(sc["rules"], 2);  // getppid twice; the unknown names load nothing
  EXPECT_EQ(sc["unknownSyscalls"], json({"nyx_no_such_call", "nyx_other_unknown"}));
  EXPECT_EQ(rec["hardening"]["level"], "full");

  // The strict allowlist: hundreds of rules, none unknown.
  sb.write_config(strict_config({"/bin/nyx-probe", "echo", "x"}));
  res = sb.nyx({"run", "--report", report, "--bundle", sb.bundle, sb.id("rec2")});
  ASSERT_EQ(res.status, 0) << res.err;
  sc = json::parse(run({"cat", report}).out)["hardening"]["primitives"]["seccomp"];
  EXPECT_EQ(sc["status"], "applied");
  EXPECT_EQ(sc["defaultAction"], "SCMP_ACT_ERRNO");
  EXPECT_GT(sc["rules"].get<int>(), 200);
  EXPECT_FALSE(sc.contains("unknownSyscalls"));
}

// Without no_new_privs the kernel wants CAP_SYS_ADMIN to load a filter: it must still load,
// for root with a reduced capability set and for a non-root user, and the sets must still end
// as configured.
TEST(Seccomp, LoadsWithoutNoNewPrivs) {
  Sandbox sb;
  json r = rule({"getppid"}, "SCMP_ACT_ERRNO");
  r["errnoRet"] = EXDEV;
  json cfg = with_rules({r});
  cfg["process"]["noNewPrivileges"] = false;
  for (int uid : {0, 1000}) {
    cfg["process"]["user"] = {{"uid", uid}, {"gid", uid}};
    std::string report = sb.dir + "/report.json";
    cfg["process"]["args"] = {"/bin/nyx-probe", "syscall", nr(SYS_getppid), "+", "report"};
    sb.write_config(cfg);
    Result res = sb.nyx({"run", "--report", report, "--bundle", sb.bundle, sb.id("nonnp")});
    ASSERT_EQ(res.status, 0) << uid << ": " << res.err;
    auto lines = json_lines(res.out);
    EXPECT_EQ(step(lines, "syscall")["errno"], EXDEV) << uid;
    json in = step(lines, "report");
    EXPECT_EQ(in["seccomp"], 2) << uid;
    EXPECT_EQ(in["no_new_privs"], 0) << uid;
    EXPECT_EQ(in["euid"], uid);
    // The runc-like sets: CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE (bits 29, 5, 10).
    EXPECT_EQ(in["cap_eff"], "0000000020000420") << uid;
    EXPECT_EQ(in["cap_bnd"], "0000000020000420") << uid;
    json h = json::parse(run({"cat", report}).out)["hardening"];
    EXPECT_EQ(h["primitives"]["seccomp"]["status"], "applied") << uid;
    EXPECT_EQ(h["primitives"]["capabilities"]["status"], "applied") << uid;
    EXPECT_EQ(h["level"], "full") << uid;
  }
}

// What the static probe needs to start and print (strace of `nyx-probe echo x`), plus what
// nyx runs after the filter: execve always, capset when noNewPrivileges is false and the
// capability sets must be dropped after the load (docs/seccomp.md). Nothing else: an allowlist
// written for the harness must never make the runtime fail.
json tight_allowlist() {
  json allow = {
      "arch_prctl", "brk",    "exit_group",      "getrandom",       "mprotect", "prlimit64",
      "readlink",   "rseq",   "set_robust_list", "set_tid_address", "write",    "clock_nanosleep",
      "nanosleep",  "execve", "capset"};
  return {{"defaultAction", "SCMP_ACT_ERRNO"},
          {"architectures", {"SCMP_ARCH_X86_64"}},
          {"syscalls", {{{"names", allow}, {"action", "SCMP_ACT_ALLOW"}}}}};
}

TEST(Seccomp, TightAllowlistRunsWithAndWithoutNoNewPrivsAsRootAndUser) {
  Sandbox sb;
  json cfg = runc_like_config({"/bin/nyx-probe", "echo", "harness"});
  cfg["linux"]["seccomp"] = tight_allowlist();
  for (bool nnp : {true, false}) {
    for (int uid : {0, 1000}) {
      SCOPED_TRACE("noNewPrivileges " + std::to_string(nnp) + ", uid " + std::to_string(uid));
      cfg["process"]["noNewPrivileges"] = nnp;
      cfg["process"]["user"] = {{"uid", uid}, {"gid", uid}};
      sb.write_config(cfg);
      Result res = sb.nyx({"run", "--enforce", "--bundle", sb.bundle, sb.id("tight")});
      EXPECT_EQ(res.status, 0) << res.err;
      EXPECT_EQ(res.err, "");
      auto lines = json_lines(res.out);
      ASSERT_EQ(lines.size(), 1u) << res.out;
      EXPECT_EQ(lines[0]["text"], "harness");
    }
  }
}

TEST(Seccomp, TightAllowlistExecJoinsAndRuns) {
  Sandbox sb;
  json cfg = runc_like_config({"/bin/nyx-probe", "sleep", "30"});
  cfg["linux"]["seccomp"] = tight_allowlist();
  for (bool nnp : {true, false}) {
    for (int uid : {0, 1000}) {
      SCOPED_TRACE("noNewPrivileges " + std::to_string(nnp) + ", uid " + std::to_string(uid));
      cfg["process"]["noNewPrivileges"] = nnp;
      cfg["process"]["user"] = {{"uid", uid}, {"gid", uid}};
      sb.write_config(cfg);
      std::string id = sb.id("tightx");
      ASSERT_EQ(sb.nyx({"run", "-d", "--enforce", "--bundle", sb.bundle, id}).status, 0);
      Result ex = sb.nyx({"exec", id, "/bin/nyx-probe", "echo", "joined"});
      EXPECT_EQ(ex.status, 0) << ex.err;
      EXPECT_EQ(ex.err, "");
      auto lines = json_lines(ex.out);
      ASSERT_EQ(lines.size(), 1u) << ex.out;
      EXPECT_EQ(lines[0]["text"], "joined");
      EXPECT_EQ(sb.nyx({"delete", "--force", id}).status, 0);
    }
  }
}

// A seccomp agent started for one test, killed (by pid) at the end.
class Agent {
 public:
  Agent(const std::string& socket, const std::string& state) {
    int out[2];
    EXPECT_EQ(::pipe(out), 0);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::execl(NYX_SECCOMP_AGENT, NYX_SECCOMP_AGENT, socket.c_str(), state.c_str(), nullptr);
      ::_exit(127);
    }
    ::close(out[1]);
    char ready[8] = {};
    EXPECT_GT(::read(out[0], ready, sizeof ready - 1), 0);
    ::close(out[0]);
  }
  ~Agent() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

 private:
  pid_t pid_ = -1;
};

json notify_config(const std::string& sh, const std::string& socket, bool nnp) {
  json cfg = runc_like_config({"/bin/sh", "-c", sh});
  cfg["process"]["noNewPrivileges"] = nnp;
  cfg["linux"]["seccomp"] = {
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"listenerPath", socket},
      {"listenerMetadata", "bar"},
      {"architectures", {"SCMP_ARCH_X86_64"}},
      {"syscalls", {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_NOTIFY"}}}}};
  return cfg;
}

// SCMP_ACT_NOTIFY: the listener reaches the agent at listenerPath with the container's state
// and the metadata; the agent's answer is what the harness sees. For run and exec, with and
// without noNewPrivileges.
TEST(Seccomp, NotifyHandsTheListenerToTheAgent) {
  Sandbox sb;
  for (bool nnp : {true, false}) {
    SCOPED_TRACE("noNewPrivileges " + std::to_string(nnp));
    std::string socket = sb.dir + "/agent.sock", state = sb.dir + "/agent-state.json";
    Agent agent(socket, state);
    sb.write_config(notify_config("mkdir /tmp/x; echo rc=$?", socket, nnp));
    std::string report = sb.dir + "/report.json";
    Result r = sb.nyx({"run", "--report", report, "--bundle", sb.bundle, sb.id("notify")});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.err.find("No medium found"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "rc=1\n");
    json sent = json::parse(run({"cat", state}).out);
    EXPECT_EQ(sent["fds"], json({"seccompFd"}));
    EXPECT_EQ(sent["metadata"], "bar");
    EXPECT_GT(sent["pid"].get<int>(), 0);
    EXPECT_EQ(sent["state"]["status"], "creating");
    json sc = json::parse(run({"cat", report}).out)["hardening"]["primitives"]["seccomp"];
    EXPECT_EQ(sc["status"], "applied");
    EXPECT_EQ(sc["notify"]["syscalls"], json({"mkdir", "mkdirat"}));
  }
  // The calls the runtime itself makes between the load and execve notified too (runc's
  // "important syscalls"): none of them may wait for an agent that has no listener yet.
  for (bool nnp : {true, false}) {
    SCOPED_TRACE("important syscalls, noNewPrivileges " + std::to_string(nnp));
    std::string socket = sb.dir + "/agent3.sock";
    Agent agent(socket, sb.dir + "/agent3.json");
    json cfg = notify_config("true", socket, nnp);
    cfg["process"]["args"] = {"/bin/true"};
    cfg["linux"]["seccomp"]["syscalls"][0]["names"] = {"execve", "openat", "open", "read", "close"};
    sb.write_config(cfg);
    Result r = sb.nyx({"run", "--bundle", sb.bundle, sb.id("important")});
    EXPECT_EQ(r.status, 0) << r.err;
  }
  // exec: the exec'd process's own listener goes to the agent.
  std::string socket = sb.dir + "/agent2.sock";
  sb.write_config(notify_config("sleep 30", socket, true));
  std::string id = sb.id("notifyx");
  {
    Agent agent(socket, sb.dir + "/init.json");
    ASSERT_EQ(sb.nyx({"run", "-d", "--bundle", sb.bundle, id}).status, 0);
  }
  Agent agent(socket, sb.dir + "/exec.json");
  Result r = sb.nyx({"exec", id, "/bin/sh", "-c", "mkdir /tmp/y; echo rc=$?"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("No medium found"), std::string::npos) << r.err;
  sb.nyx({"delete", "--force", id});
}

TEST(Seccomp, NotifyRefusals) {
  Sandbox sb;
  // No agent listening: a clear error and nothing left.
  sb.write_config(notify_config("true", sb.dir + "/nobody.sock", true));
  Result r = sb.nyx({"run", "--bundle", sb.bundle, sb.id("noagent")});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("failed to connect with seccomp agent"), std::string::npos) << r.err;
  EXPECT_EQ(run({"ls", "-A", sb.root}).out, "");
  // No listener path, or write notified: refused before anything is made.
  json cfg = notify_config("true", "", true);
  sb.write_config(cfg);
  r = sb.nyx({"run", "--bundle", sb.bundle, sb.id("nopath")});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("linux.seccomp.listenerPath"), std::string::npos) << r.err;
  cfg = notify_config("true", sb.dir + "/x.sock", true);
  cfg["linux"]["seccomp"]["syscalls"][0]["names"] = {"write"};
  sb.write_config(cfg);
  r = sb.nyx({"run", "--bundle", sb.bundle, sb.id("write")});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("SCMP_ACT_NOTIFY cannot be used for the write syscall"), std::string::npos)
      << r.err;
}

TEST(Seccomp, EnforceMakesUnknownNamesAnError) {
  Sandbox sb;
  json cfg = with_rules({rule({"getppid", "nyx_no_such_call"}, "SCMP_ACT_ERRNO")});
  cfg["process"]["args"] = {"/bin/nyx-probe", "echo", "x"};
  sb.write_config(cfg);
  for (const std::string cmd : {"create", "run"}) {
    Result res = sb.nyx({cmd, "--enforce", "--bundle", sb.bundle, sb.id("enf")});
    EXPECT_EQ(res.status, 1) << cmd;
    EXPECT_EQ(res.out, "") << cmd;
    EXPECT_NE(res.err.find("linux.seccomp.syscalls[0].names"), std::string::npos) << res.err;
    EXPECT_NE(res.err.find("nyx_no_such_call"), std::string::npos) << res.err;
    EXPECT_EQ(std::count(res.err.begin(), res.err.end(), '\n'), 1) << res.err;
    EXPECT_TRUE(sb.nyx({"list", "-q"}).out.empty()) << cmd;
    EXPECT_FALSE(path_exists(sb.root + "/" + sb.id("enf"))) << cmd;
  }
}

}  // namespace
}  // namespace nyx::test
