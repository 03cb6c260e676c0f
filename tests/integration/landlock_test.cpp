// Landlock (SPEC §4 row 14, issue 19): the strict profile's derived ruleset seen from inside by
// the probe, explicit rules after the runtime-spec draft, exec into a restricted container, and
// the record (ABI, handled rights, rule count, digest).
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include "tests/integration/harness.hpp"

namespace nyx::test {
namespace {

int kernel_abi() {
  long v = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, 1U);
  return v < 0 ? 0 : static_cast<int>(v);
}

bool contains(const json& list, const std::string& s) {
  return std::find(list.begin(), list.end(), json(s)) != list.end();
}

// A private rootfs with a world-writable host directory bound at /mnt/host behind the runtime's
// back: not a mount of the config, so not a place the harness may write.
class HostDirInRootfs {
 public:
  explicit HostDirInRootfs(const Sandbox& sb)
      : rootfs(sb.dir + "/rootfs-ll"), host(sb.dir + "/host-dir"), target(rootfs + "/mnt/host") {
    make_rootfs(rootfs);
    ::mkdir(host.c_str(), 0777);
    ::chmod(host.c_str(), 0777);
    ::mkdir((rootfs + "/mnt").c_str(), 0755);
    ::mkdir(target.c_str(), 0755);
    mounted = ::mount(host.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) == 0;
  }
  ~HostDirInRootfs() {
    if (mounted) ::umount2(target.c_str(), MNT_DETACH);
  }
  std::string rootfs, host, target;
  bool mounted = false;
};

json report_of(const std::string& path) {
  Result cat = run({"cat", path});
  return cat.status == 0 ? json::parse(cat.out) : json();
}

TEST(Landlock, StrictProfileConfinesWritesToTheWritableMounts) {
  if (kernel_abi() == 0) GTEST_SKIP() << "this kernel has no Landlock";
  Sandbox sb;
  HostDirInRootfs h(sb);
  ASSERT_TRUE(h.mounted);
  json cfg = strict_config({});
  cfg["root"]["path"] = h.rootfs;
  std::string report = sb.dir + "/ll.json";
  Result res;
  auto lines = sb.probe(cfg,
                        {"write", "/mnt/host/x", "planted", "+", "write", "/tmp/x", "ok", "+",
                         "write", "/dev/null", "", "+", "exec", "/bin/nyx-probe", "echo", "exec"},
                        &res, {"--report", report});
  ASSERT_EQ(res.status, 0) << res.err;
  json outside = step(lines, "write");
  EXPECT_EQ(outside["ok"], false) << outside;
  EXPECT_EQ(outside["error"], "EACCES") << outside;
  EXPECT_FALSE(path_exists(h.host + "/x"));
  EXPECT_EQ(lines.size(), 4u) << res.out;
  if (lines.size() == 4) {
    EXPECT_EQ(lines[1]["ok"], true) << lines[1];  // /tmp: a writable mount of the config
    EXPECT_EQ(lines[2]["ok"], true) << lines[2];  // /dev: the device nodes
    EXPECT_EQ(lines[3]["step"], "echo");          // exec under the ruleset: execute allowed
  }

  json rec = report_of(report);
  json ll = rec["hardening"]["primitives"]["landlock"];
  EXPECT_EQ(ll["status"], "applied") << ll;
  EXPECT_EQ(ll["abi"], kernel_abi());
  EXPECT_EQ(ll["derived"], json({"fs", "net"}));
  EXPECT_TRUE(contains(ll["handledAccessFS"], "write_file")) << ll;
  EXPECT_TRUE(contains(ll["handledAccessFS"], "execute")) << ll;
  if (kernel_abi() >= 4) {
    EXPECT_EQ(ll["handledAccessNetwork"], json({"bind_tcp", "connect_tcp"}));
  }
  // "/", seven writable mounts of the strict profile (proc, dev, dev/pts, dev/shm, dev/mqueue,
  // tmp), and the executable.
  EXPECT_GE(ll["rules"].get<int>(), 7) << ll;
  EXPECT_EQ(rec["hardening"]["level"], "full");
  std::string digest = rec["hardening"]["digests"].value("landlock", "");
  EXPECT_EQ(digest.rfind("sha256:", 0), 0u) << digest;
  EXPECT_EQ(digest.size(), 7u + 64u);

  // Ablated, the same write lands on the host: Landlock alone stood in the way.
  lines = sb.probe(cfg, {"write", "/mnt/host/x", "planted"}, &res,
                   {"--report", report, "--ablate", "landlock"});
  EXPECT_EQ(step(lines, "write")["ok"], true) << res.out << res.err;
  EXPECT_TRUE(path_exists(h.host + "/x"));
  rec = report_of(report);
  EXPECT_EQ(rec["hardening"]["primitives"]["landlock"]["status"], "skipped");
  EXPECT_EQ(rec["hardening"]["primitives"]["landlock"]["ablated"], true);
  EXPECT_FALSE(rec["hardening"].value("digests", json::object()).contains("landlock"));
}

// process.landlock, shaped after the runtime-spec draft: a read-only tree plus one writable
// directory, and TCP bind on one port only (ABI >= 4).
TEST(Landlock, ExplicitRulesAfterTheRuntimeSpecDraft) {
  if (kernel_abi() < 4) GTEST_SKIP() << "needs Landlock ABI 4 (TCP rules), have " << kernel_abi();
  Sandbox sb;
  json cfg = strict_config({}, {"--allow", "net"});
  cfg["annotations"].erase("org.nyx.landlock");
  cfg["process"]["landlock"] = {
      {"ruleset",
       {{"handledAccessFS", {"execute", "read_file", "read_dir", "write_file", "make_reg"}},
        {"handledAccessNetwork", {"bind_tcp"}}}},
      {"rules",
       {{"pathBeneath",
         {{{"allowedAccess", {"execute", "read_file", "read_dir"}}, {"paths", {"/"}}},
          {{"allowedAccess", {"write_file", "make_reg"}}, {"paths", {"/tmp", "/no/such/dir"}}}}},
        {"netPort", {{{"allowedAccess", {"bind_tcp"}}, {"ports", {18080}}}}}}},
  };
  std::string report = sb.dir + "/ll.json";
  Result res;
  auto lines = sb.probe(cfg,
                        {"write", "/tmp/x", "ok", "+", "write", "/dev/shm/x", "no", "+", "bind-tcp",
                         "18080", "+", "bind-tcp", "18081"},
                        &res, {"--report", report});
  ASSERT_EQ(res.status, 0) << res.err;
  ASSERT_EQ(lines.size(), 4u) << res.out;
  EXPECT_EQ(lines[0]["ok"], true) << lines[0];
  EXPECT_EQ(lines[1]["error"], "EACCES") << lines[1];
  EXPECT_EQ(lines[2]["ok"], true) << lines[2];
  EXPECT_EQ(lines[3]["error"], "EACCES") << lines[3];
  json ll = report_of(report)["hardening"]["primitives"]["landlock"];
  EXPECT_EQ(ll["status"], "applied") << ll;
  EXPECT_FALSE(ll.contains("derived"));
  EXPECT_EQ(ll["handledAccessNetwork"], json({"bind_tcp"}));
  EXPECT_EQ(ll["rulesSkipped"], 1);  // /no/such/dir, best effort
  EXPECT_EQ(ll["rules"], 4);         // "/", "/tmp", port 18080, the executable

  // disableBestEffort: the missing path fails the primitive instead.
  cfg["process"]["landlock"]["disableBestEffort"] = true;
  lines = sb.probe(cfg, {"echo", "ran"}, &res, {"--report", report});
  ll = report_of(report)["hardening"]["primitives"]["landlock"];
  EXPECT_EQ(ll["status"], "failed") << ll;
  EXPECT_EQ(ll["error"], "ENOENT") << ll;
}

TEST(Landlock, BadRulesAreRefusedWithTheirPath) {
  Sandbox sb;
  json cfg = strict_config({});
  cfg["process"]["landlock"] = {
      {"ruleset", {{"handledAccessFS", {"read_file"}}}},
      {"rules", {{"pathBeneath", {{{"allowedAccess", {"write_file"}}, {"paths", {"/tmp"}}}}}}}};
  sb.write_config(cfg);
  Result r = sb.nyx({"create", "--bundle", sb.bundle, sb.id("bad")});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("process.landlock.rules.pathBeneath[0].allowedAccess: \"write_file\" is not "
                       "in ruleset.handledAccessFS"),
            std::string::npos)
      << r.err;
  cfg["process"]["landlock"] = {{"ruleset", {{"handledAccessFS", {"fly"}}}}};
  sb.write_config(cfg);
  r = sb.nyx({"create", "--bundle", sb.bundle, sb.id("bad")});
  EXPECT_NE(r.err.find("unknown Landlock access right \"fly\""), std::string::npos) << r.err;
  cfg["process"].erase("landlock");
  cfg["annotations"]["org.nyx.landlock"] = "fs,everything";
  sb.write_config(cfg);
  r = sb.nyx({"create", "--bundle", sb.bundle, sb.id("bad")});
  EXPECT_NE(r.err.find("annotations.org.nyx.landlock: unknown word \"everything\""),
            std::string::npos)
      << r.err;
}

// exec joins the container's Landlock rules: derived from the same mounts, so the exec'd process
// writes /tmp and nothing else.
TEST(Landlock, ExecIsConfinedLikeTheInit) {
  if (kernel_abi() == 0) GTEST_SKIP() << "this kernel has no Landlock";
  Sandbox sb;
  HostDirInRootfs h(sb);
  ASSERT_TRUE(h.mounted);
  json cfg = strict_config({"/bin/nyx-probe", "sleep", "30"});
  cfg["root"]["path"] = h.rootfs;
  sb.write_config(cfg);
  std::string id = sb.id("llexec");
  Result r = sb.nyx({"run", "--detach", "--bundle", sb.bundle, id});
  ASSERT_EQ(r.status, 0) << r.err;
  r = sb.nyx(
      {"exec", id, "/bin/nyx-probe", "write", "/mnt/host/y", "x", "+", "write", "/tmp/y", "x"});
  auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out << r.err;
  EXPECT_EQ(lines[0]["error"], "EACCES") << lines[0];
  EXPECT_EQ(lines[1]["ok"], true) << lines[1];
  EXPECT_FALSE(path_exists(h.host + "/y"));
  json st = sb.state(id);
  EXPECT_EQ(st["hardening"]["execs"][0]["primitives"]["landlock"]["status"], "applied");
  sb.nyx({"delete", "--force", id});
}

}  // namespace
}  // namespace nyx::test
