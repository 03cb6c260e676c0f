// Level computation and the record's encoding.
#include <gtest/gtest.h>

#include "base/error.hpp"
#include "runtime/ablation.hpp"
#include "runtime/outcome.hpp"
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
