// Many containers in one --root at once, with `list` polled all along; same-ID create races;
// racing `delete --force` and `state` on one container.
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "tests/reliability/tools.hpp"

namespace nyx::test {
namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// Runs fn(i) for i in [0, n) on `width` threads.
void parallel(int n, int width, const std::function<void(int)>& fn) {
  std::atomic<int> next{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < width; ++w) {
    threads.emplace_back([&] {
      for (int i = next++; i < n; i = next++)
        fn(i);
    });
  }
  for (auto& t : threads)
    t.join();
}

TEST(Concurrency, TwoHundredContainersEightAtATimeWhileListing) {
  Sandbox sb;
  std::string marker = "conc-" + sb.id("many");
  constexpr int kContainers = 200;
  std::mutex mu;
  std::vector<std::string> failures;
  std::atomic<bool> done{false};
  std::atomic<int> listings{0};
  std::atomic<std::size_t> most_listed{0};
  std::thread poller([&] {
    while (!done) {
      Result r = sb.nyx({"list", "--format", "json"});
      json all = json::parse(r.out, nullptr, false);
      std::string bad;
      if (r.status != 0) bad = "list failed: " + r.err;
      if (bad.empty() && (all.is_discarded() || !all.is_array())) bad = "not JSON: " + r.out;
      std::set<std::string> seen;
      for (const auto& e : bad.empty() ? all : json::array()) {
        std::string id = e.value("id", "");
        std::string status = e.value("status", "");
        if (!seen.insert(id).second) bad = "duplicate " + id + " in " + r.out;
        if (status != "creating" && status != "created" && status != "running" &&
            status != "stopped") {
          bad = "entry " + e.dump();
        }
      }
      most_listed = std::max(most_listed.load(), seen.size());
      ++listings;
      if (!bad.empty()) {
        std::lock_guard<std::mutex> lock(mu);
        failures.push_back(bad);
      }
    }
  });
  // A bundle per container whose harness prints the container's ID: a mix-up shows.
  std::vector<std::string> bundles(kContainers);
  for (int i = 0; i < kContainers; ++i) {
    std::string id = sb.id("many" + std::to_string(i));
    bundles[i] = sb.dir + "/b" + std::to_string(i);
    mkdir(bundles[i].c_str(), 0755);
    json cfg = marked_config({"/bin/echo", id}, marker);
    cfg["root"]["path"] = shared_rootfs();
    std::ofstream(bundles[i] + "/config.json") << cfg.dump();
  }
  parallel(kContainers, 8, [&](int i) {
    std::string id = sb.id("many" + std::to_string(i));
    Result r = sb.nyx({"run", "--bundle", bundles[i], id});
    if (r.status != 0 || r.out != id + "\n") {
      std::lock_guard<std::mutex> lock(mu);
      failures.push_back(id + ": exit " + std::to_string(r.status) + " out \"" + r.out +
                         "\": " + r.err);
    }
  });
  done = true;
  poller.join();
  for (const auto& f : failures)
    ADD_FAILURE() << f;
  EXPECT_GT(listings.load(), 0);
  std::cout << "[ reliability ] " << kContainers << " containers, " << listings.load()
            << " listings, up to " << most_listed.load() << " listed at once\n";
  EXPECT_EQ(leftovers(sb, sb.id("many"), marker), "");
}

TEST(Concurrency, SameIdCreateRaceHasExactlyOneWinner) {
  Sandbox sb;
  std::string marker = "race-" + sb.id("create");
  sb.write_config(marked_config({"/bin/sleep", "1000"}, marker));
  for (int round = 0; round < 8; ++round) {
    std::string id = sb.id("same" + std::to_string(round));
    std::vector<Result> results(8);
    parallel(8, 8, [&](int i) { results[i] = sb.nyx({"create", "--bundle", sb.bundle, id}); });
    int winners = 0;
    for (const auto& r : results) {
      if (r.status == 0) {
        ++winners;
        continue;
      }
      EXPECT_EQ(r.status, 1);
      EXPECT_TRUE(contains(r.err, "container \"" + id + "\": already exists")) << r.err;
    }
    EXPECT_EQ(winners, 1) << "round " << round;
    // The winner is intact.
    json st = sb.state(id);
    EXPECT_EQ(st.value("status", ""), "created") << st.dump();
    EXPECT_EQ(sb.nyx({"start", id}).status, 0);
    EXPECT_EQ(sb.state(id).value("status", ""), "running");
    EXPECT_EQ(sb.nyx({"delete", "--force", id}).status, 0);
    EXPECT_EQ(leftovers(sb, id, marker), "");
  }
}

TEST(Concurrency, RacingDeleteForceAndStateAllEndWithTheContainerGone) {
  Sandbox sb;
  std::string marker = "race-" + sb.id("delete");
  sb.write_config(marked_config({"/bin/sleep", "1000"}, marker));
  for (int round = 0; round < 8; ++round) {
    std::string id = sb.id("del" + std::to_string(round));
    ASSERT_EQ(sb.nyx({"run", "--detach", "--bundle", sb.bundle, id}).status, 0);
    std::vector<Result> results(12);
    parallel(12, 12, [&](int i) {
      results[i] = i % 3 == 2 ? sb.nyx({"state", id}) : sb.nyx({"delete", "--force", id});
    });
    for (int i = 0; i < 12; ++i) {
      const Result& r = results[i];
      if (i % 3 == 2) {
        // `state` sees the container or its absence, never a half-deleted one.
        if (r.status == 0) {
          EXPECT_FALSE(json::parse(r.out, nullptr, false).is_discarded()) << r.out;
        } else {
          EXPECT_TRUE(contains(r.err, "container \"" + id + "\": does not exist")) << r.err;
        }
      } else {
        EXPECT_EQ(r.status, 0) << r.err;
        EXPECT_EQ(r.err, "");
      }
    }
    EXPECT_EQ(leftovers(sb, id, marker), "");
  }
}

}  // namespace
}  // namespace nyx::test
