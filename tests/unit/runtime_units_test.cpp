// Small runtime pieces that need no container: signals, mount options, ids, in-root checks.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "base/error.hpp"
#include "runtime/path_in_root.hpp"
#include "runtime/primitives/mounts.hpp"
#include "runtime/signals.hpp"
#include "runtime/state_store.hpp"

namespace nyx {
namespace {

TEST(Signals, NamesAndNumbers) {
  EXPECT_EQ(parse_signal("KILL"), SIGKILL);
  EXPECT_EQ(parse_signal("SIGTERM"), SIGTERM);
  EXPECT_EQ(parse_signal("sigusr1"), SIGUSR1);
  EXPECT_EQ(parse_signal("9"), 9);
  EXPECT_EQ(parse_signal("RTMIN+2"), SIGRTMIN + 2);
  EXPECT_THROW(parse_signal("SIGNOPE"), Error);
  EXPECT_EQ(parse_signal("0"), 0);  // kill(2)'s existence check, as runc takes it
  EXPECT_THROW(parse_signal("999"), Error);
}

TEST(MountOptions, FlagsPropagationAndData) {
  ParsedOptions o =
      parse_mount_options({"nosuid", "ro", "rbind", "rprivate", "mode=755", "size=1k"});
  EXPECT_TRUE(o.bind);
  EXPECT_TRUE(o.recursive);
  EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_NOSUID | MS_RDONLY));
  EXPECT_EQ(o.propagation, static_cast<unsigned long>(MS_PRIVATE | MS_REC));
  EXPECT_EQ(o.data, "mode=755,size=1k");
  EXPECT_EQ(parse_mount_options({"ro", "rw"}).flags, 0u);
}

// runc's recursive attributes: mount_setattr flags for every submount, not mount(2) flags of
// the top; the last of a pair wins.
TEST(MountOptions, RecursiveAttributes) {
  ParsedOptions o =
      parse_mount_options({"rbind", "rro", "rnosuid", "rnoexec", "rexec", "rnoatime"});
  EXPECT_EQ(o.flags, 0u) << "rro is not the top's MS_RDONLY";
  EXPECT_EQ(o.attr_set, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOATIME);
  EXPECT_EQ(o.attr_clr, static_cast<std::uint64_t>(MOUNT_ATTR_NOEXEC));
  ParsedOptions rw = parse_mount_options({"rro", "rrw"});
  EXPECT_EQ(rw.attr_set, 0u);
  EXPECT_EQ(rw.attr_clr, static_cast<std::uint64_t>(MOUNT_ATTR_RDONLY));
  EXPECT_EQ(parse_mount_options({"rnosymfollow"}).attr_set,
            static_cast<std::uint64_t>(MOUNT_ATTR_NOSYMFOLLOW));
  EXPECT_TRUE(parse_mount_options({"rro"}).data.empty()) << "a known option, not filesystem data";
}

TEST(StateStore, RejectsBadIds) {
  EXPECT_NO_THROW(StateStore::validate_id("hello-7f3c_1.a+b"));
  for (const char* bad : {"", "a/b", "..", "a..b", ".", "a\nb", "a b", "a\x01"}) {
    EXPECT_THROW(StateStore::validate_id(bad), Error) << bad;
  }
  EXPECT_THROW(StateStore::validate_id(std::string(2000, 'a')), Error);
}

TEST(Rootfs, RelativePaths) {
  EXPECT_EQ(relative_in_root("/dev//pts/"), "dev/pts");
  EXPECT_EQ(relative_in_root("/./a/./b"), "a/b");
  EXPECT_EQ(relative_in_root("/"), "");
}

class RootfsDir : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nyx-rootfs-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    ASSERT_EQ(::mkdir((root_ + "/etc").c_str(), 0755), 0);
  }
  void TearDown() override { std::system(("rm -rf " + root_).c_str()); }
  std::string root_;
};

TEST_F(RootfsDir, SymlinkClimbingOutIsRefused) {
  ASSERT_EQ(::symlink("../../../../etc", (root_ + "/evil").c_str()), 0);
  EXPECT_THROW(check_in_root(root_, "evil/x", "mounts[0].destination", false), Error);
}

TEST_F(RootfsDir, AbsoluteSymlinkResolvesInside) {
  ASSERT_EQ(::symlink("/etc", (root_ + "/abs").c_str()), 0);
  EXPECT_NO_THROW(check_in_root(root_, "abs/x", "mounts[0].destination", false));
  EXPECT_THROW(check_in_root(root_, "abs/x", "mounts[0].destination", true), Error);
}

// The resolved path is where missing mount points get made: a dangling absolute symlink
// points inside the rootfs, and ".." in what does not exist yet is taken by name.
TEST_F(RootfsDir, ResolvedPathHasNoSymlinks) {
  ASSERT_EQ(::symlink("/etc", (root_ + "/abs").c_str()), 0);
  ASSERT_EQ(::symlink("/var/lib/missing", (root_ + "/dangling").c_str()), 0);
  EXPECT_EQ(check_in_root(root_, "abs/x/y", "m", false), "etc/x/y");
  EXPECT_EQ(check_in_root(root_, "dangling/sub", "m", false), "var/lib/missing/sub");
  EXPECT_EQ(check_in_root(root_, "etc/new/../other", "m", false), "etc/other");
  EXPECT_EQ(check_in_root(root_, "plain/a", "m", true), "plain/a");
  EXPECT_THROW(check_in_root(root_, "new/../../x", "m", false), Error);
}

// The summary line is what `list` reads alone: written with every state, found through the
// root fd, and refused (so that the full read reports damage) once the file is cut short.
TEST_F(RootfsDir, StateSummaryRoundTripsAndDetectsTruncation) {
  StateStore store(root_);
  nlohmann::json state = {{"ociVersion", "1.0.2"},
                          {"status", "created"},
                          {"pid", 4242},
                          {"bundle", "/b"},
                          {"rootfs", "/b/rootfs"},
                          {"created", "2026-01-01T00:00:00Z"},
                          {"owner", ""},
                          {"config", {{"big", std::string(8000, 'x')}}},
                          {"nyx", {{"startTime", 99}, {"paused", true}}}};
  ContainerDir dir = store.create("c1", state);
  dir.unlock();
  int rootfd = ::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(rootfd, 0);
  std::optional<StateSummary> s = StateStore::peek_summary(rootfd, "c1");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->phase, "created");
  EXPECT_EQ(s->pid, 4242);
  EXPECT_EQ(s->bundle, "/b");
  EXPECT_EQ(s->rootfs, "/b/rootfs");
  EXPECT_EQ(s->created, "2026-01-01T00:00:00Z");
  EXPECT_EQ(s->start_time, 99u);
  EXPECT_TRUE(s->paused);
  EXPECT_EQ(dir.read_state(), state);  // the line is not part of the record

  state["status"] = "stopped";
  dir.write_state(state);
  EXPECT_EQ(StateStore::peek_summary(rootfd, "c1")->phase, "stopped");

  std::string file = root_ + "/c1/state.json";
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  ASSERT_EQ(::truncate(file.c_str(), st.st_size - 1), 0);
  EXPECT_FALSE(StateStore::peek_summary(rootfd, "c1").has_value());
  EXPECT_THROW(dir.read_summary(), Error);
  ::close(rootfd);
}

}  // namespace
}  // namespace nyx
