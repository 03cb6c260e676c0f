// The create/start/state/kill/delete/run lifecycle on real containers.
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>

#include "tests/integration/harness.hpp"

namespace nyx::test {
namespace {

TEST(Lifecycle, CreateStartStateDelete) {
  Sandbox sb;
  const std::string c1 = sb.id("c1"), dup = sb.id("dup"), nope = sb.id("nope"), l1 = sb.id("l1"),
                    l2 = sb.id("l2"), k = sb.id("k");
  sb.write_config(runc_like_config({"/bin/nyx-probe", "sleep", "30"}));
  Result r = sb.nyx({"create", "--bundle", sb.bundle, c1});
  ASSERT_EQ(r.status, 0) << r.err;
  json st = sb.state(c1);
  ASSERT_TRUE(st.is_object());
  EXPECT_EQ(st["status"], "created");
  EXPECT_GT(st["pid"].get<int>(), 0);
  EXPECT_EQ(st["id"], c1);
  EXPECT_EQ(st["hardening"]["level"], "full");
  EXPECT_EQ(st["hardening"]["primitives"]["no_new_privs"]["status"], "applied");
  EXPECT_EQ(st["hardening"]["primitives"]["root"]["method"], "pivot_root");
  EXPECT_FALSE(st.contains("nyx"));

  r = sb.nyx({"start", c1});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(sb.state(c1)["status"], "running");

  r = sb.nyx({"kill", c1, "KILL"});
  ASSERT_EQ(r.status, 0) << r.err;
  for (int i = 0; i < 100 && sb.state(c1)["status"] != "stopped"; ++i)
    usleep(20000);
  EXPECT_EQ(sb.state(c1)["status"], "stopped");

  r = sb.nyx({"delete", c1});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_FALSE(path_exists(sb.root + "/" + c1));
  EXPECT_TRUE(mounts_under(sb.dir).empty());
  EXPECT_TRUE(mounts_under(shared_rootfs()).empty());
}

TEST(Lifecycle, RunExitCodes) {
  Sandbox sb;
  const std::string c1 = sb.id("c1"), dup = sb.id("dup"), nope = sb.id("nope"), l1 = sb.id("l1"),
                    l2 = sb.id("l2"), k = sb.id("k");
  json cfg = runc_like_config({});
  auto code = [&](std::vector<std::string> args, std::vector<std::string> flags = {}) {
    Result r;
    sb.probe(cfg, args, &r, flags);
    return r.status;
  };
  EXPECT_EQ(code({"exit", "0"}), 0);
  EXPECT_EQ(code({"exit", "3"}), 3);
  EXPECT_EQ(code({"sleep", "30"}, {"--timeout", "0.5"}), 124);
  // The init of a pid namespace cannot be killed from inside: without one, it can.
  cfg["linux"]["namespaces"] = {{{"type", "mount"}}, {{"type", "ipc"}}, {{"type", "uts"}}};
  EXPECT_EQ(code({"signal", "KILL"}), 128 + 9);
  EXPECT_TRUE(sb.nyx({"list", "-q"}).out.empty());
}

TEST(Lifecycle, RunBundleGeneratesIdAndReport) {
  Sandbox sb;
  const std::string c1 = sb.id("c1"), dup = sb.id("dup"), nope = sb.id("nope"), l1 = sb.id("l1"),
                    l2 = sb.id("l2"), k = sb.id("k");
  sb.write_config(runc_like_config({"/bin/nyx-probe", "echo", "hi"}));
  std::string report = sb.dir + "/report.json";
  Result r = sb.nyx({"run", "--report", report, sb.bundle});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("\"text\":\"hi\""), std::string::npos);
  Result cat = run({"cat", report});
  json rep = json::parse(cat.out);
  EXPECT_EQ(rep["status"], "stopped");
  EXPECT_EQ(rep["exit"]["code"], 0);
  EXPECT_EQ(rep["exit"]["timedOut"], false);
  EXPECT_EQ(rep["id"].get<std::string>().rfind("bundle-", 0), 0u);
  EXPECT_EQ(rep["hardening"]["level"], "full");
}

TEST(Lifecycle, DuplicateAndMissingIds) {
  Sandbox sb;
  const std::string c1 = sb.id("c1"), dup = sb.id("dup"), nope = sb.id("nope"), l1 = sb.id("l1"),
                    l2 = sb.id("l2"), k = sb.id("k");
  sb.write_config(runc_like_config({"/bin/nyx-probe", "sleep", "30"}));
  ASSERT_EQ(sb.nyx({"create", "--bundle", sb.bundle, dup}).status, 0);
  Result r = sb.nyx({"create", "--bundle", sb.bundle, dup});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("container \"" + dup + "\": already exists"), std::string::npos) << r.err;
  EXPECT_EQ(sb.state(dup)["status"], "created");
  r = sb.nyx({"state", nope});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("does not exist"), std::string::npos);
  EXPECT_EQ(sb.nyx({"delete", "--force", nope}).status, 0);
  EXPECT_EQ(sb.nyx({"delete", "--force", dup}).status, 0);
  EXPECT_FALSE(path_exists(sb.root + "/" + dup));
}

TEST(Lifecycle, ListFormats) {
  Sandbox sb;
  const std::string c1 = sb.id("c1"), dup = sb.id("dup"), nope = sb.id("nope"), l1 = sb.id("l1"),
                    l2 = sb.id("l2"), k = sb.id("k");
  sb.write_config(runc_like_config({"/bin/nyx-probe", "sleep", "30"}));
  ASSERT_EQ(sb.nyx({"create", "--bundle", sb.bundle, l1}).status, 0);
  ASSERT_EQ(sb.nyx({"create", "--bundle", sb.bundle, l2}).status, 0);
  json all = json::parse(sb.nyx({"list", "--format", "json"}).out);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]["id"], l1);
  EXPECT_EQ(all[1]["status"], "created");
  std::string table = sb.nyx({"list"}).out;
  EXPECT_NE(table.find("ID"), std::string::npos);
  EXPECT_NE(table.find(l2), std::string::npos);
}

// `list` reads only each state file's summary line and asks the exec FIFO before /proc: every
// status it shows must still be the one `state` reports, field for field.
TEST(Lifecycle, ListAgreesWithStateInEveryStatus) {
  Sandbox sb;
  const std::string created = sb.id("a"), running = sb.id("b"), paused = sb.id("c"),
                    stopped = sb.id("d");
  json config = runc_like_config({"/bin/nyx-probe", "sleep", "30"});
  config["linux"]["resources"] = {{"pids", {{"limit", 64}}}};  // a cgroup, for pause
  sb.write_config(config);
  for (const auto& id : {created, running, paused})
    ASSERT_EQ(sb.nyx({"create", "--bundle", sb.bundle, id}).status, 0) << id;
  ASSERT_EQ(sb.nyx({"start", running}).status, 0);
  ASSERT_EQ(sb.nyx({"start", paused}).status, 0);
  Result r = sb.nyx({"pause", paused});
  ASSERT_EQ(r.status, 0) << r.err;
  sb.write_config(runc_like_config({"/bin/nyx-probe", "exit", "0"}));
  ASSERT_EQ(sb.nyx({"create", "--bundle", sb.bundle, stopped}).status, 0);
  ASSERT_EQ(sb.nyx({"start", stopped}).status, 0);
  for (int i = 0; i < 100 && sb.state(stopped)["status"] != "stopped"; ++i)
    usleep(20000);

  json all = json::parse(sb.nyx({"list", "--format", "json"}).out);
  ASSERT_EQ(all.size(), 4u) << all.dump();
  std::map<std::string, std::string> want = {
      {created, "created"}, {running, "running"}, {paused, "paused"}, {stopped, "stopped"}};
  for (const json& e : all) {
    const std::string id = e["id"];
    json st = sb.state(id);
    EXPECT_EQ(e["status"], want[id]) << id;
    EXPECT_EQ(e["status"], st["status"]) << id;
    EXPECT_EQ(e["pid"], want[id] == "stopped" ? json(0) : st["pid"]) << id;
    for (const char* k : {"ociVersion", "bundle", "rootfs", "created", "owner"})
      EXPECT_EQ(e[k], st[k]) << id << " " << k;
  }
  std::string table = sb.nyx({"list"}).out;
  EXPECT_NE(table.find(paused), std::string::npos);
  EXPECT_NE(table.find("paused"), std::string::npos);
  ASSERT_EQ(sb.nyx({"resume", paused}).status, 0);
  EXPECT_EQ(json::parse(sb.nyx({"list", "--format", "json"}).out)[2]["status"], "running");
  for (const auto& id : {created, running, paused, stopped})
    EXPECT_EQ(sb.nyx({"delete", "--force", id}).status, 0) << id;
}

TEST(Lifecycle, KillStoppedContainer) {
  Sandbox sb;
  const std::string c1 = sb.id("c1"), dup = sb.id("dup"), nope = sb.id("nope"), l1 = sb.id("l1"),
                    l2 = sb.id("l2"), k = sb.id("k");
  sb.write_config(runc_like_config({"/bin/nyx-probe", "exit", "0"}));
  ASSERT_EQ(sb.nyx({"create", "--bundle", sb.bundle, k}).status, 0);
  ASSERT_EQ(sb.nyx({"start", k}).status, 0);
  for (int i = 0; i < 100 && sb.state(k)["status"] != "stopped"; ++i)
    usleep(20000);
  EXPECT_EQ(sb.nyx({"kill", k, "TERM"}).status, 1);
  EXPECT_EQ(sb.nyx({"kill", "--all", k, "TERM"}).status, 0);
  EXPECT_EQ(sb.nyx({"delete", k}).status, 0);
}

}  // namespace
}  // namespace nyx::test
