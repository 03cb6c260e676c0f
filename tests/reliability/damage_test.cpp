// A running container's state file truncated, overwritten with garbage or deleted (and, worst
// case, its second record too): `state` says what is wrong, `list` lists everything else and
// this one as damaged, and `delete --force` still kills its processes and removes its cgroups.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/reliability/tools.hpp"

namespace nyx::test {
namespace {

struct Damage {
  const char* name;
  void (*apply)(const std::string& dir);
  const char* says;  // in `state`'s error
};

void truncate_state(const std::string& d) {
  close(open((d + "/state.json").c_str(), O_WRONLY | O_TRUNC));
}
void garbage_state(const std::string& d) {
  std::string junk(
      "\x7f"
      "ELF\0\0{\"id\":",
      12);
  int fd = open((d + "/state.json").c_str(), O_WRONLY | O_TRUNC);
  EXPECT_EQ(write(fd, junk.data(), junk.size()), static_cast<ssize_t>(junk.size()));
  close(fd);
}
void half_state(const std::string& d) {
  // The first half of a valid file: what a non-atomic writer would leave.
  int fd = open((d + "/state.json").c_str(), O_RDWR);
  off_t size = lseek(fd, 0, SEEK_END);
  EXPECT_EQ(ftruncate(fd, size / 2), 0);
  close(fd);
}
void delete_state(const std::string& d) {
  unlink((d + "/state.json").c_str());
}
void delete_both(const std::string& d) {
  unlink((d + "/state.json").c_str());
  unlink((d + "/recovery.json").c_str());
}

const Damage kDamages[] = {
    {"truncated", truncate_state, "state file is empty (truncated)"},
    {"garbage", garbage_state, "state file is corrupt"},
    {"half", half_state, "state file is corrupt"},
    {"deleted", delete_state, "state file is missing"},
    {"both-records-deleted", delete_both, "state file is missing"},
};

TEST(StateDamage, StateListAndDeleteForceStillWork) {
  for (const Damage& dmg : kDamages) {
    SCOPED_TRACE(dmg.name);
    Sandbox sb;
    std::string id = sb.id(std::string("dmg-") + dmg.name);
    std::string other = sb.id(std::string("ok-") + dmg.name);
    std::string marker = "damage-" + id;
    std::string other_marker = "damage-" + other;
    // The victim forks so that a process other than the init must be found too.
    sb.write_config(marked_config({"/bin/sh", "-c", "sleep 1000 & exec sleep 1000"}, marker));
    ASSERT_EQ(sb.nyx({"run", "--detach", "--bundle", sb.bundle, id}).status, 0);
    sb.write_config(marked_config({"/bin/sleep", "1000"}, other_marker));
    ASSERT_EQ(sb.nyx({"run", "--detach", "--bundle", sb.bundle, other}).status, 0);
    ASSERT_TRUE(eventually([&] { return marked_processes(marker, id).size() >= 2; }, 10000));

    dmg.apply(sb.root + "/" + id);

    Result st = sb.nyx({"state", id});
    EXPECT_EQ(st.status, 1);
    EXPECT_NE(st.err.find("container \"" + id + "\": " + dmg.says), std::string::npos) << st.err;
    if (std::string(dmg.name) != "both-records-deleted") {
      EXPECT_NE(st.err.find("is still running"), std::string::npos) << st.err;
    }

    Result ls = sb.nyx({"list", "--format", "json"});
    EXPECT_EQ(ls.status, 0) << ls.err;
    json all = json::parse(ls.out, nullptr, false);
    ASSERT_TRUE(all.is_array()) << ls.out;
    std::map<std::string, std::string> status;
    for (const auto& e : all)
      status[e.value("id", "")] = e.value("status", "");
    EXPECT_EQ(status[id], "damaged") << ls.out;
    EXPECT_EQ(status[other], "running") << ls.out;
    EXPECT_EQ(status.size(), 2u) << ls.out;
    EXPECT_EQ(sb.nyx({"list"}).status, 0);

    Result del = sb.nyx({"delete", "--force", id});
    EXPECT_EQ(del.status, 0) << del.err;
    reap_children();
    EXPECT_EQ(marked_processes(marker, id), std::vector<pid_t>{});
    EXPECT_EQ(cgroup_dirs_named(id), std::vector<std::string>{});
    EXPECT_EQ(mounts_under(sb.dir), std::vector<std::string>{});
    // Only the other container's directory, and the state index (state_index.hpp) while there
    // is a container: nothing of this one.
    std::vector<std::string> left = dir_entries(sb.root);
    std::erase(left, ".index");
    EXPECT_EQ(left, std::vector<std::string>{other});
    // The other container was not touched.
    EXPECT_EQ(sb.state(other).value("status", ""), "running");
    EXPECT_EQ(sb.nyx({"delete", "--force", other}).status, 0);
    EXPECT_EQ(leftovers(sb, other, other_marker), "");
  }
}

}  // namespace
}  // namespace nyx::test
