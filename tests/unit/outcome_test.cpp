// Level computation and the record's encoding.
#include <gtest/gtest.h>

#include "base/error.hpp"
#include "bundle/config.hpp"
#include "runtime/ablation.hpp"
#include "runtime/outcome.hpp"
#include "runtime/primitive_ops.hpp"
#include "runtime/primitives.hpp"

namespace nyx {
namespace {

Outcome with(std::initializer_list<std::pair<Prim, PrimStatus>> prims) {
  Outcome o;
  for (auto [p, s] : prims) {
    o[p].requested = true;
    o[p].status = s;
    if (s == PrimStatus::Failed) o[p].err = 1;
  }
  return o;
}

TEST(Level, BaselineWhenOnlyNnpAndRlimits) {
  EXPECT_EQ(compute_level(with(
                {{Prim::NoNewPrivs, PrimStatus::Applied}, {Prim::RlimitAs, PrimStatus::Applied}})),
            Level::Baseline);
  EXPECT_EQ(compute_level(Outcome{}), Level::Baseline);
}

TEST(Level, FullPartialNone) {
  EXPECT_EQ(compute_level(with({{Prim::NoNewPrivs, PrimStatus::Applied},
                                {Prim::Namespaces, PrimStatus::Applied},
                                {Prim::Seccomp, PrimStatus::Applied}})),
            Level::Full);
  EXPECT_EQ(compute_level(with(
                {{Prim::Namespaces, PrimStatus::Applied}, {Prim::Seccomp, PrimStatus::Failed}})),
            Level::Partial);
  EXPECT_EQ(compute_level(with({{Prim::Namespaces, PrimStatus::Failed}})), Level::None);
  // A failed baseline primitive is not baseline any more.
  EXPECT_EQ(compute_level(with(
                {{Prim::NoNewPrivs, PrimStatus::Applied}, {Prim::RlimitAs, PrimStatus::Failed}})),
            Level::Partial);
}

TEST(Level, SkippedPrimitivesDoNotCount) {
  Outcome o = with({{Prim::Namespaces, PrimStatus::Applied}});
  o[Prim::Seccomp].ablated = true;  // ablated: skipped, not requested
  EXPECT_EQ(compute_level(o), Level::Full);
}

TEST(Record, EncodesEveryListedPrimitive) {
  Outcome o = with({{Prim::Namespaces, PrimStatus::Applied}, {Prim::Seccomp, PrimStatus::Failed}});
  o[Prim::Seccomp].err = 22;
  o[Prim::Capabilities].ablated = true;
  nlohmann::json j = primitives_json(o);
  for (const char* name : {"no_new_privs", "rlimit_cpu", "rlimit_nofile", "rlimit_as", "namespaces",
                           "mounts", "root", "capabilities", "seccomp"}) {
    EXPECT_TRUE(j.contains(name)) << name;
  }
  EXPECT_FALSE(j.contains("cgroups"));
  EXPECT_EQ(j["namespaces"]["status"], "applied");
  EXPECT_EQ(j["seccomp"]["status"], "failed");
  EXPECT_EQ(j["seccomp"]["errno"], 22);
  EXPECT_EQ(j["seccomp"]["error"], "EINVAL");
  EXPECT_EQ(j["capabilities"]["status"], "skipped");
  EXPECT_EQ(j["capabilities"]["ablated"], true);
  EXPECT_EQ(j["no_new_privs"]["status"], "skipped");
}

StepEntry entry(Prim p, int err, std::uint16_t what = 0, std::int64_t value = 0) {
  return StepEntry{p, err == 0 ? PrimStatus::Applied : PrimStatus::Failed, what, err, value};
}

struct MergeCase {
  bool requested;
  bool ablated;
  std::vector<int> entries;  // errnos in order; 0 = applied
  PrimStatus want;
  int want_err;
};

// Every combination of request and entries, for an always-listed primitive (seccomp) and one
// that is listed only when asked for (sysctl).
TEST(Merge, EveryStatusCombination) {
  const MergeCase cases[] = {
      {true, false, {}, PrimStatus::Skipped, 0},
      {true, false, {0}, PrimStatus::Applied, 0},
      {true, false, {EPERM}, PrimStatus::Failed, EPERM},
      {true, false, {0, EPERM}, PrimStatus::Failed, EPERM},
      {true, false, {EPERM, 0}, PrimStatus::Failed, EPERM},
      {true, false, {EINVAL, EPERM}, PrimStatus::Failed, EINVAL},  // the first errno wins
      {false, false, {0}, PrimStatus::Skipped, 0},                 // nobody asked: stays skipped
      {false, true, {}, PrimStatus::Skipped, 0},
  };
  for (Prim p : {Prim::Seccomp, Prim::Sysctl}) {
    for (const MergeCase& c : cases) {
      Outcome planned;
      planned[p].requested = c.requested;
      planned[p].ablated = c.ablated;
      std::vector<StepEntry> child;
      for (int err : c.entries)
        child.push_back(entry(p, err));
      Outcome o = merge_outcome(planned, {}, child);
      EXPECT_EQ(o[p].status, c.want) << prim_name(p) << " case " << (&c - cases);
      EXPECT_EQ(o[p].err, c.want_err) << prim_name(p) << " case " << (&c - cases);
      nlohmann::json j = primitives_json(o);
      bool listed = primitive(p).always_listed || c.requested || c.ablated;
      EXPECT_EQ(j.contains(std::string(prim_name(p))), listed) << prim_name(p);
    }
  }
}

// A failure nobody asked for (the tracking cgroup of a config without resources) is dropped.
TEST(Merge, FailuresOfUnrequestedUnlistedPrimitivesAreDropped) {
  Outcome planned;
  std::vector<ParentEvent> events = {{entry(Prim::Cgroups, EACCES), "cgroup.procs"}};
  Outcome o = merge_outcome(planned, events, {});
  EXPECT_EQ(o[Prim::Cgroups].status, PrimStatus::Skipped);
  EXPECT_FALSE(primitives_json(o).contains("cgroups"));
  planned[Prim::Cgroups].requested = true;
  o = merge_outcome(planned, events, {});
  EXPECT_EQ(o[Prim::Cgroups].status, PrimStatus::Failed);
  EXPECT_EQ(o[Prim::Cgroups].detail["failures"][0]["file"], "cgroup.procs");
}

// Parent events come before the child's entries: the first errno is what the parent saw.
TEST(Merge, ParentEventsBeforeChildEntries) {
  Outcome planned;
  planned[Prim::Namespaces].requested = true;
  planned[Prim::Namespaces].detail["types"] = {"user", "pid", "network"};
  std::vector<ParentEvent> events = {
      {entry(Prim::Namespaces, EPERM, static_cast<std::uint16_t>(NsType::User)), ""}};
  std::vector<StepEntry> child = {
      entry(Prim::Namespaces, EINVAL, static_cast<std::uint16_t>(NsType::Network)),
      entry(Prim::Namespaces, 0)};
  Outcome o = merge_outcome(planned, events, child);
  EXPECT_EQ(o[Prim::Namespaces].status, PrimStatus::Failed);
  EXPECT_EQ(o[Prim::Namespaces].err, EPERM);
  EXPECT_EQ(o[Prim::Namespaces].detail["types"], nlohmann::json({"pid"}));
  EXPECT_EQ(o[Prim::Namespaces].detail["failures"].size(), 2u);
  EXPECT_EQ(compute_level(o), Level::None);
}

// The level over every mix of requested statuses, baseline rows and the rest.
TEST(Merge, LevelOfEveryMix) {
  auto level = [](std::initializer_list<std::pair<Prim, int>> rows) {
    Outcome planned;
    std::vector<StepEntry> child;
    for (auto [p, err] : rows) {
      planned[p].requested = true;
      child.push_back(entry(p, err));
    }
    return compute_level(merge_outcome(planned, {}, child));
  };
  EXPECT_EQ(level({{Prim::NoNewPrivs, 0}, {Prim::RlimitAs, 0}}), Level::Baseline);
  EXPECT_EQ(level({{Prim::NoNewPrivs, 0}, {Prim::RlimitAs, EPERM}}), Level::Partial);
  EXPECT_EQ(level({{Prim::NoNewPrivs, EPERM}, {Prim::RlimitAs, EPERM}}), Level::None);
  EXPECT_EQ(level({{Prim::NoNewPrivs, 0}, {Prim::Seccomp, 0}}), Level::Full);
  EXPECT_EQ(level({{Prim::NoNewPrivs, 0}, {Prim::Seccomp, EINVAL}}), Level::Partial);
  EXPECT_EQ(level({{Prim::Seccomp, EINVAL}, {Prim::Mounts, EPERM}}), Level::None);
}

TEST(Ablation, ParsesKnownNamesAndRejectsOthers) {
  Ablation a = Ablation::parse("userns,seccomp-socket");
  EXPECT_TRUE(a.has("userns"));
  EXPECT_TRUE(a.has("seccomp-socket"));
  EXPECT_FALSE(a.has("seccomp"));
  EXPECT_FALSE(a.primitive(Prim::Seccomp));
  EXPECT_EQ(a.names(), (std::vector<std::string>{"userns", "seccomp-socket"}));
  EXPECT_TRUE(Ablation::parse("").empty());
  try {
    Ablation::parse("userns,nope");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown primitive \"nope\""), std::string::npos);
  }
}

// One name per primitive, the record's; the older spellings stay accepted and are recorded
// under the record's name.
TEST(Ablation, RecordNamesAndOlderSpellings) {
  Ablation a = Ablation::parse("caps,chroot,nnp");
  EXPECT_EQ(a.names(), (std::vector<std::string>{"no_new_privs", "root", "capabilities"}));
  EXPECT_TRUE(a.primitive(Prim::Capabilities));
  EXPECT_TRUE(a.primitive(Prim::Root));
  EXPECT_TRUE(a.primitive(Prim::NoNewPrivs));
  EXPECT_EQ(Ablation::parse("no_new_privs,root,capabilities").names(), a.names());
  for (const PrimitiveInfo& info : kPrimitives) {
    EXPECT_TRUE(Ablation::parse(info.name).primitive(info.id)) << info.name;
  }
}

// A group name ablates every row that shares it; a row's own name only that row.
TEST(Ablation, GroupsAndRows) {
  Ablation all = Ablation::parse("rlimits");
  for (Prim p : {Prim::RlimitCpu, Prim::RlimitNofile, Prim::RlimitAs, Prim::Rlimits})
    EXPECT_TRUE(all.primitive(p));
  Ablation cpu = Ablation::parse("rlimit_cpu");
  EXPECT_TRUE(cpu.primitive(Prim::RlimitCpu));
  EXPECT_FALSE(cpu.primitive(Prim::RlimitAs));
}

// The order of the table is the order of the sequence and of the record.
TEST(PrimitiveTable, OrderNamesAndStages) {
  for (std::size_t i = 0; i < kPrimitives.size(); ++i) {
    EXPECT_EQ(static_cast<std::size_t>(kPrimitives[i].id), i);
    if (i > 0) {
      EXPECT_LE(kPrimitives[i - 1].stage, kPrimitives[i].stage) << kPrimitives[i].name;
    }
  }
  EXPECT_EQ(prim_name(Prim::Seccomp), "seccomp");
  EXPECT_EQ(kPrimitives.back().id, Prim::Seccomp);  // loaded last (SPEC §4)
}

}  // namespace
}  // namespace nyx
