// process.capabilities on real containers: the five sets the harness has after execve, for root
// and non-root users, against the config and the record.
#include <gtest/gtest.h>
#include <linux/capability.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <map>

#include "tests/integration/harness.hpp"

namespace nyx::test {
namespace {

// Names and numbers straight from the kernel header, for the few capabilities used here.
const std::map<std::string, int> kCaps = {{"CAP_CHOWN", CAP_CHOWN},
                                          {"CAP_KILL", CAP_KILL},
                                          {"CAP_NET_BIND_SERVICE", CAP_NET_BIND_SERVICE},
                                          {"CAP_NET_RAW", CAP_NET_RAW},
                                          {"CAP_AUDIT_WRITE", CAP_AUDIT_WRITE}};

// A set as /proc/self/status prints it: 16 hex digits.
std::string hex(const std::vector<std::string>& names) {
  unsigned long long mask = 0;
  for (const auto& n : names)
    mask |= 1ULL << kCaps.at(n);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016llx", mask);
  return buf;
}

// Sorted by capability number, the order the record lists them in.
std::vector<std::string> by_number(std::vector<std::string> names) {
  std::sort(names.begin(), names.end(),
            [](const auto& a, const auto& b) { return kCaps.at(a) < kCaps.at(b); });
  return names;
}

struct Sets {
  std::vector<std::string> bounding, effective, permitted, inheritable, ambient;
};

json caps_json(const Sets& s) {
  return {{"bounding", s.bounding},
          {"effective", s.effective},
          {"permitted", s.permitted},
          {"inheritable", s.inheritable},
          {"ambient", s.ambient}};
}

// Runs the probe with `s` as user uid:gid and checks the five sets seen from inside and in the
// record; returns the probe's lines.
std::vector<json> check_sets(const Sandbox& sb, const Sets& s, int uid,
                             const std::vector<std::string>& more = {}) {
  json cfg = runc_like_config({});
  cfg["process"]["user"] = {{"uid", uid}, {"gid", uid}};
  cfg["process"]["capabilities"] = caps_json(s);
  std::vector<std::string> args = {"report"};
  args.insert(args.end(), more.begin(), more.end());
  std::vector<std::string> probe_args = {"/bin/nyx-probe"};
  probe_args.insert(probe_args.end(), args.begin(), args.end());
  cfg["process"]["args"] = probe_args;
  sb.write_config(cfg);
  std::string report = sb.dir + "/report.json";
  Result res = sb.nyx({"run", "--report", report, "--bundle", sb.bundle, sb.id("caps")});
  EXPECT_EQ(res.status, 0) << res.err;
  auto lines = json_lines(res.out);
  json rep = step(lines, "report");
  EXPECT_EQ(rep["euid"], uid);
  EXPECT_EQ(rep["cap_bnd"], hex(s.bounding));
  EXPECT_EQ(rep["cap_prm"], hex(s.permitted));
  EXPECT_EQ(rep["cap_eff"], hex(s.effective));
  EXPECT_EQ(rep["cap_inh"], hex(s.inheritable));
  EXPECT_EQ(rep["cap_amb"], hex(s.ambient));
  json rec = json::parse(run({"cat", report}).out)["hardening"]["primitives"]["capabilities"];
  EXPECT_EQ(rec["status"], "applied");
  EXPECT_EQ(rec["bounding"], json(by_number(s.bounding)));
  EXPECT_EQ(rec["effective"], json(by_number(s.effective)));
  EXPECT_EQ(rec["permitted"], json(by_number(s.permitted)));
  EXPECT_EQ(rec["inheritable"], json(by_number(s.inheritable)));
  EXPECT_EQ(rec["ambient"], json(by_number(s.ambient)));
  return lines;
}

// Root keeps exactly the configured sets. (With no_new_privs the kernel caps root's permitted
// set at the one before execve and makes it all effective, as with runc: so effective is given
// equal to permitted.)
TEST(Capabilities, RootSeesTheConfiguredSets) {
  Sandbox sb;
  Sets s{{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_AUDIT_WRITE"},
         {"CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"},
         {"CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"},
         {"CAP_NET_BIND_SERVICE", "CAP_NET_RAW"},
         {"CAP_NET_BIND_SERVICE"}};
  auto lines = check_sets(sb, s, 0, {"+", "socket", "inet", "raw", "+", "setuid", "1000"});
  EXPECT_EQ(step(lines, "socket")["ok"], true);      // CAP_NET_RAW held
  EXPECT_EQ(step(lines, "setuid")["errno"], EPERM);  // CAP_SETUID not
}

// A non-root harness keeps capabilities only through the ambient set (keep-caps across the
// user switch), and with ambient CAP_NET_BIND_SERVICE binds port 80 in its network namespace.
TEST(Capabilities, NonRootAmbientBindsPort80) {
  Sandbox sb;
  Sets s{{"CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"},
         {"CAP_NET_BIND_SERVICE"},
         {"CAP_NET_BIND_SERVICE"},
         {"CAP_NET_BIND_SERVICE"},
         {"CAP_NET_BIND_SERVICE"}};
  auto lines = check_sets(sb, s, 1000, {"+", "bind-tcp", "80", "+", "socket", "inet", "raw"});
  EXPECT_EQ(step(lines, "bind-tcp")["ok"], true);
  EXPECT_EQ(step(lines, "socket")["ok"], false);  // CAP_NET_RAW only in the bounding set
  EXPECT_EQ(step(lines, "socket")["errno"], EPERM);
}

// Nothing is put into the inheritable or ambient sets unless the config names it
// (CVE-2022-29162): a non-root harness given only permitted/effective loses them at execve.
TEST(Capabilities, InheritableAndAmbientNeverImplicit) {
  Sandbox sb;
  json cfg = runc_like_config({"/bin/nyx-probe", "report", "+", "bind-tcp", "80"});
  cfg["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
  cfg["process"]["capabilities"] = {{"bounding", {"CAP_NET_BIND_SERVICE", "CAP_KILL"}},
                                    {"effective", {"CAP_NET_BIND_SERVICE"}},
                                    {"permitted", {"CAP_NET_BIND_SERVICE"}}};
  Result res;
  auto lines = sb.probe(cfg, {"report", "+", "bind-tcp", "80"}, &res);
  ASSERT_EQ(res.status, 0) << res.err;
  json rep = step(lines, "report");
  EXPECT_EQ(rep["cap_inh"], hex({}));
  EXPECT_EQ(rep["cap_amb"], hex({}));
  EXPECT_EQ(rep["cap_prm"], hex({}));
  EXPECT_EQ(rep["cap_eff"], hex({}));
  EXPECT_EQ(rep["cap_bnd"], hex({"CAP_KILL", "CAP_NET_BIND_SERVICE"}));
  EXPECT_EQ(step(lines, "bind-tcp")["errno"], EACCES);

  // Root too: omitted inheritable and ambient sets stay empty.
  cfg["process"]["user"] = {{"uid", 0}, {"gid", 0}};
  lines = sb.probe(cfg, {"report"}, &res);
  ASSERT_EQ(res.status, 0) << res.err;
  rep = step(lines, "report");
  EXPECT_EQ(rep["cap_inh"], hex({}));
  EXPECT_EQ(rep["cap_amb"], hex({}));
  EXPECT_EQ(rep["cap_prm"], hex({"CAP_NET_BIND_SERVICE"}));
  EXPECT_EQ(rep["cap_eff"], hex({"CAP_NET_BIND_SERVICE"}));
}

// The strict profile's empty capability sets: container root holds nothing at all.
TEST(Capabilities, StrictProfileHoldsNone) {
  Sandbox sb;
  Result res;
  auto lines = sb.probe(strict_config({}), {"report", "+", "chroot", "/tmp"}, &res);
  ASSERT_EQ(res.status, 0) << res.err;
  json rep = step(lines, "report");
  for (const char* set : {"cap_bnd", "cap_prm", "cap_eff", "cap_inh", "cap_amb"})
    EXPECT_EQ(rep[set], hex({})) << set;
  EXPECT_EQ(step(lines, "chroot")["ok"], false);
}

}  // namespace
}  // namespace nyx::test
