// The state index (state_index.hpp): last record wins, forget, torn tails, compaction, and
// writers in several processes at once.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "base/fd.hpp"
#include "runtime/state_index.hpp"

namespace nyx {
namespace {

class StateIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nyx-index-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    root_.reset(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

  StateSummary summary(pid_t pid, const std::string& status = "created") {
    StateSummary s;
    s.phase = status;
    s.pid = pid;
    s.bundle = "/b \"q\"";
    return s;
  }

  std::optional<StateSummary> entry(const std::string& id, std::string* ino = nullptr) {
    std::string text;
    auto all = state_index::read(root_.get(), text);
    auto it = all.find(id);
    if (it == all.end()) return std::nullopt;
    if (ino != nullptr) *ino = std::string(it->second.identity);
    return parse_summary_text(it->second.summary);
  }

  std::string dir_;
  UniqueFd root_;
};

TEST_F(StateIndexTest, LastRecordWinsAndForgetRemoves) {
  EXPECT_FALSE(entry("a"));
  state_index::forget(root_.get(), "a");  // no index yet: nothing to do
  state_index::record(root_.get(), "a", "11", summary(1));
  state_index::record(root_.get(), "b", "12", summary(2));
  state_index::record(root_.get(), "a", "13", summary(3, "stopped"));
  std::string ino;
  auto a = entry("a", &ino);
  ASSERT_TRUE(a);
  EXPECT_EQ(ino, "13");
  EXPECT_EQ(a->pid, 3);
  EXPECT_EQ(a->phase, "stopped");
  EXPECT_EQ(a->bundle, "/b \"q\"");  // escaped in the line: read by the full parser
  state_index::forget(root_.get(), "a");
  EXPECT_FALSE(entry("a"));
  EXPECT_TRUE(entry("b"));
}

TEST_F(StateIndexTest, IncompleteTailAndGarbageAreSkipped) {
  state_index::record(root_.get(), "a", "11", summary(1));
  {
    std::ofstream out(dir_ + "/.index", std::ios::app);
    out << "\ngarbage line\n+ a notanumber {}\n- a";  // a forget still being written
  }
  EXPECT_TRUE(entry("a"));
  // The next record starts on a line of its own: the torn one cannot swallow it.
  state_index::forget(root_.get(), "a");
  EXPECT_FALSE(entry("a"));
}

TEST_F(StateIndexTest, UnknownHeaderIsNoIndex) {
  std::ofstream(dir_ + "/.index") << "nyx-index 2 base=         0\n+ a 1 {}\n";
  EXPECT_FALSE(entry("a"));
}

// Writers in several processes, each forgetting and recording its own containers many times
// (enough to compact the file several times): every last record survives, none is duplicated.
TEST_F(StateIndexTest, ConcurrentWritersAndCompaction) {
  constexpr int kProcs = 4, kIds = 25, kRounds = 40;
  std::vector<pid_t> kids;
  for (int p = 0; p < kProcs; ++p) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      UniqueFd root(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      for (int r = 0; r < kRounds; ++r) {
        for (int i = 0; i < kIds; ++i) {
          std::string id = "p" + std::to_string(p) + "-" + std::to_string(i);
          state_index::forget(root.get(), id);
          // The last round leaves every odd container forgotten.
          if (r + 1 < kRounds || i % 2 == 0)
            state_index::record(root.get(), id, std::to_string(r), summary(r * 1000 + i));
        }
      }
      ::_exit(0);
    }
    kids.push_back(pid);
  }
  for (pid_t k : kids) {
    int status = 0;
    ASSERT_EQ(::waitpid(k, &status, 0), k);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  std::string text;
  auto all = state_index::read(root_.get(), text);
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kProcs * (kIds + 1) / 2));
  for (int p = 0; p < kProcs; ++p) {
    for (int i = 0; i < kIds; ++i) {
      std::string id = "p" + std::to_string(p) + "-" + std::to_string(i);
      std::string ino;
      auto s = entry(id, &ino);
      if (i % 2 == 1) {
        EXPECT_FALSE(s) << id;
        continue;
      }
      ASSERT_TRUE(s) << id;
      EXPECT_EQ(s->pid, (kRounds - 1) * 1000 + i) << id;
      EXPECT_EQ(ino, std::to_string(kRounds - 1)) << id;
    }
  }
  // Compacted at least once (the header's base moved), and far smaller than every record.
  EXPECT_EQ(text.find("base=        28\n"), std::string::npos);
  EXPECT_LT(text.size(), 600u * 1024);
}

}  // namespace
}  // namespace nyx
