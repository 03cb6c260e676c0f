// The polling commands (issue 19): `state ID` and `state -f json ID` agree byte for byte, errors
// included, in every status and on damaged files, and `list` through the state index must equal
// `list` reading every container, also after a crash left the index behind its directories.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "tests/integration/harness.hpp"

namespace nyx::test {
namespace {

// `state ID` (the form engines poll with) and `state -f json ID`.
void expect_same_state(const Sandbox& sb, const std::vector<std::string>& globals,
                       const std::string& id) {
  std::vector<std::string> plain = globals, json_form = globals;
  plain.insert(plain.end(), {"state", id});
  json_form.insert(json_form.end(), {"state", "-f", "json", id});
  Result a = sb.nyx(plain), b = sb.nyx(json_form);
  EXPECT_EQ(a.status, b.status) << id;
  EXPECT_EQ(a.out, b.out) << id;
  EXPECT_EQ(a.err, b.err) << id;
}

TEST(Polling, StateFormsAgree) {
  Sandbox sb;
  const std::string c = sb.id("c"), p = sb.id("p");
  sb.write_config(runc_like_config({"/bin/nyx-probe", "sleep", "30"}));
  ASSERT_EQ(sb.nyx({"create", "--bundle", sb.bundle, c}).status, 0);
  ASSERT_EQ(sb.nyx({"create", "--bundle", sb.bundle, p}).status, 0);
  std::string log = sb.dir + "/log.json";
  for (const auto& globals : std::vector<std::vector<std::string>>{
           {}, {"--debug"}, {"--log", log, "--log-format", "json"}, {"--log-format=text"}}) {
    expect_same_state(sb, globals, c);           // created
    expect_same_state(sb, globals, sb.id("x"));  // does not exist
    expect_same_state(sb, globals, "../bad");    // not an ID
  }
  ASSERT_EQ(sb.nyx({"start", c}).status, 0);
  ASSERT_EQ(sb.nyx({"pause", p}).status, 0);
  expect_same_state(sb, {}, c);  // running
  expect_same_state(sb, {}, p);  // paused
  ASSERT_EQ(sb.nyx({"resume", p}).status, 0);
  ASSERT_EQ(sb.nyx({"kill", c, "KILL"}).status, 0);
  for (int i = 0; i < 100 && sb.state(c)["status"] != "stopped"; ++i)
    usleep(20000);
  expect_same_state(sb, {}, c);  // stopped
  // A state file not as nyx writes it (pretty-printed, no summary line) still prints.
  std::string file = sb.root + "/" + c + "/state.json";
  json whole = json::parse(std::ifstream(file));
  whole.erase("summary");
  std::ofstream(file) << whole.dump(4) << "\n";
  expect_same_state(sb, {}, c);
  EXPECT_EQ(sb.state(c)["status"], "stopped");
  // Truncated: the same error both ways.
  ASSERT_EQ(::truncate(file.c_str(), 40), 0);
  expect_same_state(sb, {}, c);
}

std::string list_json(const Sandbox& sb) {
  Result r = sb.nyx({"list", "-f", "json"});
  EXPECT_EQ(r.status, 0) << r.err;
  return r.out;
}

TEST(Polling, ListThroughIndexEqualsListWithout) {
  Sandbox sb;
  const std::string a = sb.id("a"), b = sb.id("b"), c = sb.id("c");
  sb.write_config(runc_like_config({"/bin/nyx-probe", "sleep", "30"}));
  for (const auto& id : {a, b, c})
    ASSERT_EQ(sb.nyx({"create", "--bundle", sb.bundle, id}).status, 0);
  ASSERT_EQ(sb.nyx({"start", b}).status, 0);
  ASSERT_EQ(sb.nyx({"pause", c}).status, 0);
  std::string index = sb.root + "/.index";
  ASSERT_TRUE(path_exists(index));
  std::string with = list_json(sb);
  std::string table = sb.nyx({"list"}).out;
  EXPECT_NE(with.find("\"paused\""), std::string::npos) << with;
  EXPECT_NE(with.find("\"running\""), std::string::npos) << with;
  std::string saved = index + ".saved";
  ASSERT_EQ(::rename(index.c_str(), saved.c_str()), 0);
  EXPECT_EQ(list_json(sb), with);
  EXPECT_EQ(sb.nyx({"list"}).out, table);
  ASSERT_EQ(::rename(saved.c_str(), index.c_str()), 0);

  // A crash between forgetting c's entry and recording it again: c is read from its directory.
  { std::ofstream(index, std::ios::app) << "\n- " << c << " -\n"; }
  EXPECT_EQ(list_json(sb), with);
  // An entry that lies about a container whose directory is another inode: not used.
  {
    std::ofstream(index, std::ios::app)
        << "\n+ " << a << " 1 {\"status\":\"stopped\",\"pid\":1,\"bundle\":\"/lie\"}\n";
  }
  EXPECT_EQ(list_json(sb), with);
  // A record still being written (no final newline) is skipped.
  { std::ofstream(index, std::ios::app) << "\n- " << b; }
  EXPECT_EQ(list_json(sb), with);
  // A directory gone without its delete forgetting the entry (killed in between): not listed.
  std::string before;
  {
    std::ifstream in(index);
    before.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_EQ(sb.nyx({"resume", c}).status, 0);
  ASSERT_EQ(sb.nyx({"delete", "--force", c}).status, 0);
  std::ofstream(index, std::ios::trunc) << before;
  std::string after = list_json(sb);
  EXPECT_EQ(after.find(c), std::string::npos) << after;
  EXPECT_NE(after.find(a), std::string::npos) << after;
}

// A delete killed after removing the last container but before the index (crash trials): the
// next `delete --force` removes what no container needs any more, .index and a compaction's
// .index.tmp alike, and leaves --root as it found it.
TEST(Polling, AnIndexLeftByAKilledDeleteGoesWithTheNextDeleteForce) {
  Sandbox sb;
  const std::string a = sb.id("a");
  sb.write_config(runc_like_config({"/bin/true"}));
  ASSERT_EQ(sb.nyx({"create", "--bundle", sb.bundle, a}).status, 0);
  std::string index = sb.root + "/.index";
  ASSERT_TRUE(path_exists(index));
  std::string saved = sb.dir + "/index.saved";
  ASSERT_EQ(::link(index.c_str(), saved.c_str()), 0);
  ASSERT_EQ(sb.nyx({"delete", "--force", a}).status, 0);
  EXPECT_FALSE(path_exists(index));
  // As a killed delete leaves it.
  ASSERT_EQ(::link(saved.c_str(), index.c_str()), 0);
  ASSERT_EQ(::link(saved.c_str(), (sb.root + "/.index.tmp").c_str()), 0);
  EXPECT_EQ(sb.nyx({"delete", "--force", a}).status, 0);
  EXPECT_FALSE(path_exists(index));
  EXPECT_FALSE(path_exists(sb.root + "/.index.tmp"));
}

}  // namespace
}  // namespace nyx::test
