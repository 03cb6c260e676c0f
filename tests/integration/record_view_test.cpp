// `state --format table` (issue 19): one line per primitive with status, details and cause, for
// a live container by ID and for a saved --report with --file; colours only on a terminal.
#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/integration/harness.hpp"

namespace nyx::test {
namespace {

TEST(RecordView, TableOfAPartialRunNamesTheCause) {
  Sandbox sb;
  sb.write_config(strict_config({"/bin/nyx-probe", "echo", "ran"}));
  std::string report = sb.dir + "/partial.json";
  std::vector<std::string> argv = {NYX_ERRNO_WRAP, "seccomp=ENOSYS", "prctl:21=EINVAL",
                                   "prctl:22=EINVAL", "--"};
  for (const auto& a : sb.nyx_argv({"run", "--report", report, "--bundle", sb.bundle, sb.id("p")}))
    argv.push_back(a);
  ASSERT_EQ(run(argv).status, 0);
  Result t = sb.nyx({"state", "--format", "table", "--file", report});
  ASSERT_EQ(t.status, 0) << t.err;
  EXPECT_NE(t.out.find("level partial"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("\nseccomp        failed   EINVAL"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("cause seccomp_unsupported: "), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("\nlandlock       applied  abi="), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("sha256         seccomp  "), std::string::npos) << t.out;
  EXPECT_EQ(t.out.find("\033["), std::string::npos) << "colour without a terminal";
  // In the order of the hardening sequence.
  EXPECT_LT(t.out.find("\nno_new_privs"), t.out.find("\nnamespaces"));
  EXPECT_LT(t.out.find("\ncapabilities"), t.out.find("\nlandlock"));
  EXPECT_LT(t.out.find("\nlandlock"), t.out.find("\nseccomp"));

  // On a terminal (script(1) gives the runtime one), statuses are coloured; the terminal type
  // is said, since the test's own may be "dumb" (a CI shell) or NO_COLOR set.
  std::string cmd = "env -u NO_COLOR TERM=xterm ";
  for (const auto& a : sb.nyx_argv({"state", "--format", "table", "--file", report}))
    cmd += a + " ";
  Result tty = run({"script", "-qec", cmd, "/dev/null"});
  EXPECT_NE(tty.out.find("\033[31mfailed"), std::string::npos) << tty.out;
  EXPECT_NE(tty.out.find("\033[32mapplied"), std::string::npos) << tty.out;
}

TEST(RecordView, TableOfALiveContainerAndTheJsonDefault) {
  Sandbox sb;
  sb.write_config(strict_config({"/bin/nyx-probe", "sleep", "30"}));
  std::string id = sb.id("live");
  ASSERT_EQ(sb.nyx({"create", "--bundle", sb.bundle, id}).status, 0);
  Result t = sb.nyx({"state", "--format", "table", id});
  EXPECT_EQ(t.status, 0) << t.err;
  EXPECT_NE(t.out.find("container " + id + "  status created  level full"), std::string::npos)
      << t.out;
  Result j = sb.nyx({"state", id});
  EXPECT_EQ(json::parse(j.out)["status"], "created");
  // The JSON keeps the record's order (OCI fields first, "status" before "hardening").
  EXPECT_EQ(j.out.rfind("{\n  \"ociVersion\"", 0), 0u) << j.out;
  EXPECT_LT(j.out.find("\"status\""), j.out.find("\"hardening\""));
  Result both = sb.nyx({"state", "--file", "/dev/null", id});
  EXPECT_EQ(both.status, 1);
  sb.nyx({"delete", "--force", id});
}

}  // namespace
}  // namespace nyx::test
