// runtime-spec 1.1 process attributes: process.ioPriority, process.scheduler and
// linux.personality, as the harness sees them; bad values refused naming the field.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/integration/harness.hpp"

namespace nyx::test {
namespace {

json sched_step(const std::vector<json>& lines) {
  for (const auto& l : lines) {
    if (l.value("step", "") == "sched") return l;
  }
  return json();
}

TEST(ProcessAttributes, AppliedAsTheHarnessSeesThem) {
  Sandbox sb;
  json cfg = runc_like_config({});
  cfg["process"]["ioPriority"] = {{"class", "IOPRIO_CLASS_IDLE"}, {"priority", 0}};
  // Not a realtime policy: under CONFIG_RT_GROUP_SCHED that needs a realtime budget in the
  // container's cpu cgroup (linux.resources.cpu.realtimeRuntime), which is the host's shape.
  cfg["process"]["scheduler"] = {{"policy", "SCHED_IDLE"}, {"flags", {"SCHED_FLAG_RESET_ON_FORK"}}};
  cfg["linux"]["personality"] = {{"domain", "LINUX32"}};
  Result r;
  json s = sched_step(sb.probe(cfg, {"sched"}, &r));
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_TRUE(s.is_object()) << r.out;
  EXPECT_EQ(s.value("ioprio_class", -1), 3) << s.dump();
  EXPECT_EQ(s.value("policy", -1), 5) << s.dump();  // SCHED_IDLE
  EXPECT_EQ(s.value("reset_on_fork", false), true) << s.dump();
  EXPECT_EQ(s.value("personality", -1), 0x0008) << s.dump();  // PER_LINUX32

  // SCHED_BATCH with a nice value, best-effort I/O at level 6, the LINUX domain.
  cfg["process"]["ioPriority"] = {{"class", "IOPRIO_CLASS_BE"}, {"priority", 6}};
  cfg["process"]["scheduler"] = {{"policy", "SCHED_BATCH"}, {"nice", 5}};
  cfg["linux"]["personality"] = {{"domain", "LINUX"}};
  s = sched_step(sb.probe(cfg, {"sched"}, &r));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(s.value("ioprio_class", -1), 2) << s.dump();
  EXPECT_EQ(s.value("ioprio_level", -1), 6) << s.dump();
  EXPECT_EQ(s.value("policy", -1), 3) << s.dump();  // SCHED_BATCH
  EXPECT_EQ(s.value("nice", -100), 5) << s.dump();
  EXPECT_EQ(s.value("personality", -1), 0) << s.dump();
}

// exec'd processes get their own process object's attributes.
TEST(ProcessAttributes, ExecTakesItsOwn) {
  Sandbox sb;
  sb.write_config(runc_like_config({"/bin/nyx-probe", "sleep", "30"}));
  std::string id = sb.id("attrs-exec");
  ASSERT_EQ(sb.nyx({"run", "-d", "--bundle", sb.bundle, id}).status, 0);
  json proc = runc_like_config({"/bin/nyx-probe", "sched"})["process"];
  proc["ioPriority"] = {{"class", "IOPRIO_CLASS_BE"}, {"priority", 1}};
  std::string file = sb.dir + "/process.json";
  { std::ofstream(file) << proc.dump(); }
  Result r = sb.nyx({"exec", "--process", file, id});
  EXPECT_EQ(r.status, 0) << r.err;
  json s = sched_step(json_lines(r.out));
  EXPECT_EQ(s.value("ioprio_class", -1), 2) << r.out;
  EXPECT_EQ(s.value("ioprio_level", -1), 1) << r.out;
  sb.nyx({"delete", "--force", id});
}

TEST(ProcessAttributes, BadValuesAreRefusedNamingTheField) {
  Sandbox sb;
  struct Case {
    const char* where;
    json value;
    std::string says;
  };
  std::vector<Case> cases = {
      {"ioPriority", {{"class", "IOPRIO_CLASS_NONE"}}, "process.ioPriority.class: unknown"},
      {"ioPriority",
       {{"class", "IOPRIO_CLASS_BE"}, {"priority", 8}},
       "process.ioPriority.priority: out of range"},
      {"scheduler", {{"policy", "SCHED_ISO"}}, "process.scheduler.policy: unknown or unsupported"},
      {"scheduler", {{"policy", "SCHED_OTHER"}, {"nice", 40}}, "process.scheduler.nice"},
      {"personality", {{"domain", "LINUX64"}}, "linux.personality.domain: unknown"},
  };
  for (const auto& c : cases) {
    json cfg = runc_like_config({"/bin/true"});
    if (std::string(c.where) == "personality") {
      cfg["linux"][c.where] = c.value;
    } else {
      cfg["process"][c.where] = c.value;
    }
    sb.write_config(cfg);
    std::string id = sb.id("attrs-bad");
    Result r = sb.nyx({"run", "--bundle", sb.bundle, id});
    EXPECT_EQ(r.status, 1) << c.says;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_TRUE(sb.state(id).is_null());
  }
}

}  // namespace
}  // namespace nyx::test
