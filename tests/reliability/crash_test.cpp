// SIGKILL of the runtime at seeded random moments during create, run, start and delete: after
// `delete --force`, nothing of the container may be left on the host, and the ID is usable
// again. An init that was never committed (create or run killed) must die on its own.
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <random>

#include <gtest/gtest.h>

#include "tests/reliability/tools.hpp"

namespace nyx::test {
namespace {

constexpr int kTrials = 25;

unsigned seed() {
  const char* s = std::getenv("NYX_RELIABILITY_SEED");
  return s != nullptr ? static_cast<unsigned>(std::strtoul(s, nullptr, 10)) : 20261129u;
}

enum class Phase { Create, Run, Start, Delete };

const char* name_of(Phase p) {
  switch (p) {
    case Phase::Create:
      return "create";
    case Phase::Run:
      return "run";
    case Phase::Start:
      return "start";
    case Phase::Delete:
      break;
  }
  return "delete";
}

class CrashTrials : public ::testing::TestWithParam<Phase> {
 protected:
  Sandbox sb;

  // Brings the container to where the killed command starts from.
  void prepare(Phase p, const std::string& id) const {
    if (p == Phase::Start || p == Phase::Delete) {
      Result r = sb.nyx({"create", "--bundle", sb.bundle, id});
      ASSERT_EQ(r.status, 0) << r.err;
    }
    if (p == Phase::Delete) {
      Result r = sb.nyx({"start", id});
      ASSERT_EQ(r.status, 0) << r.err;
    }
  }

  std::vector<std::string> victim(Phase p, const std::string& id) const {
    switch (p) {
      case Phase::Create:
        return sb.nyx_argv({"create", "--bundle", sb.bundle, id});
      case Phase::Run:
        return sb.nyx_argv({"run", "--bundle", sb.bundle, id});
      case Phase::Start:
        return sb.nyx_argv({"start", id});
      case Phase::Delete:
        break;
    }
    return sb.nyx_argv({"delete", "--force", id});
  }

  // How long the command takes when nobody kills it (the fastest of five), in ms. `run` is
  // measured with /bin/true: its harness here sleeps until killed. The fastest, not the median:
  // the first runs on a fresh machine are slowed by cold caches, and delays spread over an
  // inflated duration would mostly land after the command had finished.
  double measure(Phase p) {
    std::vector<double> took;
    for (int i = 0; i < 5; ++i) {
      std::string id = sb.id(std::string("m") + name_of(p) + std::to_string(i));
      std::string marker = id;
      std::vector<std::string> args = {"/bin/sleep", "1000"};
      if (p == Phase::Run) args = {"/bin/true"};
      sb.write_config(marked_config(args, marker));
      prepare(p, id);
      double t0 = now_ms();
      pid_t pid = spawn_marked(victim(p, id), marker);
      int status = wait_pid(pid);
      took.push_back(now_ms() - t0);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << name_of(p) << " failed";
      sb.nyx({"delete", "--force", id});
      EXPECT_EQ(leftovers(sb, id, marker), "");
    }
    return *std::min_element(took.begin(), took.end());
  }
};

TEST_P(CrashTrials, KillAtRandomMomentsThenDeleteForceLeavesNothing) {
  Phase p = GetParam();
  double duration = measure(p);
  std::mt19937 rng(seed() + static_cast<unsigned>(p));
  std::uniform_real_distribution<double> delay(0, duration * 1.2);
  int killed_midway = 0;
  for (int t = 0; t < kTrials; ++t) {
    std::string id = sb.id(std::string("k") + name_of(p) + std::to_string(t));
    std::string marker = "trial-" + id;
    sb.write_config(marked_config({"/bin/sleep", "1000"}, marker));
    prepare(p, id);
    double d = delay(rng);
    pid_t pid = spawn_marked(victim(p, id), marker);
    sleep_us(static_cast<long>(d * 1000));
    bool was_running = kill(pid, 0) == 0;
    kill(pid, SIGKILL);
    int status = wait_pid(pid);
    bool died_by_kill = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    killed_midway += died_by_kill && was_running;
    SCOPED_TRACE(std::string(name_of(p)) + " trial " + std::to_string(t) + ", killed after " +
                 std::to_string(d) + " ms of ~" + std::to_string(duration) + " ms, seed " +
                 std::to_string(seed()));

    // `list` never fails on a half-made container.
    Result ls = sb.nyx({"list", "--format", "json"});
    EXPECT_EQ(ls.status, 0) << ls.err;
    json listed = json::parse(ls.out, nullptr, false);
    ASSERT_TRUE(listed.is_array()) << ls.out;
    for (const auto& e : listed) {
      std::string st = e.value("status", "");
      EXPECT_TRUE(st == "creating" || st == "created" || st == "running" || st == "stopped")
          << e.dump();
    }

    // Nothing committed the container: its processes must go away on their own.
    if (p == Phase::Run || (p == Phase::Create && died_by_kill)) {
      json st = sb.state(id);
      std::string status_now = st.is_object() ? st.value("status", "") : "";
      if (p == Phase::Run || status_now != "created") {
        EXPECT_TRUE(eventually(
            [&] {
              reap_children();
              return marked_processes(marker, id).empty();
            },
            10000))
            << "the container outlived its killed runtime (status \"" << status_now << "\")";
      }
    }

    Result del = sb.nyx({"delete", "--force", id});
    EXPECT_EQ(del.status, 0) << del.err;
    EXPECT_EQ(leftovers(sb, id, marker), "");

    // The ID is usable again.
    sb.write_config(marked_config({"/bin/echo", "again"}, marker));
    Result again = sb.nyx({"run", "--bundle", sb.bundle, id});
    EXPECT_EQ(again.status, 0) << again.err;
    EXPECT_EQ(again.out, "again\n");
    EXPECT_EQ(leftovers(sb, id, marker), "");
  }
  std::cout << "[ reliability ] " << name_of(p) << ": " << kTrials << " trials, measured "
            << duration << " ms, " << killed_midway << " killed mid-command\n";
  // The delays spread over the command: many kills must land while it runs.
  EXPECT_GE(killed_midway, kTrials / 4);
}

INSTANTIATE_TEST_SUITE_P(Commands, CrashTrials,
                         ::testing::Values(Phase::Create, Phase::Run, Phase::Start, Phase::Delete),
                         [](const auto& info) { return std::string(name_of(info.param)); });

// The init waits at the prestart hook point for its runtime; when the runtime is killed there,
// the parent-death signal must take the init (and its whole pid namespace) down.
TEST(ParentDeath, InitDiesWhenItsRuntimeDiesBeforeStart) {
  Sandbox sb;
  std::string id = sb.id("pdeath");
  std::string marker = "trial-" + id;
  std::string ready = sb.dir + "/hook-ready";
  json cfg = marked_config({"/bin/sleep", "1000"}, marker);
  cfg["hooks"]["prestart"] = json::array(
      {{{"path", "/bin/sh"}, {"args", {"sh", "-c", "touch " + ready + "; exec sleep 5"}}}});
  sb.write_config(cfg);
  std::vector<std::string> argv = {nyx_bin(),  "--root",  sb.root, "create",
                                   "--bundle", sb.bundle, id};
  pid_t pid = spawn_marked(argv, marker);
  ASSERT_TRUE(eventually([&] { return path_exists(ready); }, 30000)) << "hook never ran";
  std::vector<pid_t> before = marked_processes(marker, id);
  before.erase(std::remove(before.begin(), before.end(), pid), before.end());
  ASSERT_FALSE(before.empty()) << "no init waiting at the hook point";
  kill(pid, SIGKILL);
  wait_pid(pid);
  EXPECT_TRUE(eventually(
      [&] {
        reap_children();
        return marked_processes(marker, id).empty();
      },
      10000))
      << "the init survived its runtime";
  Result del = sb.nyx({"delete", "--force", id});
  EXPECT_EQ(del.status, 0) << del.err;
  EXPECT_EQ(leftovers(sb, id, marker), "");
}

}  // namespace
}  // namespace nyx::test
