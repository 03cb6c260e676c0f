// A table of hostile bundles: config.json that is not a regular file, JSON that breaks the strict
// reader's rules, values out of range. Each must be refused quickly with one line that names
// the file or the JSON path, exit status 1, and nothing made in --root or the cgroups.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <fstream>
#include <iostream>

#include <gtest/gtest.h>

#include "tests/reliability/tools.hpp"

namespace nyx::test {
namespace {

struct Case {
  std::string name;
  // Writes bundle/config.json (or whatever stands in its place).
  std::function<void(const Sandbox&, const std::string& cfg_path)> make;
  std::string expect;  // in the error line: the JSON path or what the file is
};

json base_config() {
  json cfg = marked_config({"/bin/sleep", "1000"}, "hostile");
  cfg["root"]["path"] = shared_rootfs();
  return cfg;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// A case whose config is the base with one change.
Case edit(std::string name, std::function<void(json&)> change, std::string expect) {
  return {std::move(name),
          [change](const Sandbox&, const std::string& path) {
            json cfg = base_config();
            change(cfg);
            write_text(path, cfg.dump());
          },
          std::move(expect)};
}

// A case whose config is the base's text with `from` replaced by `to` (for what a json value
// cannot hold).
Case text(std::string name, std::string from, std::string to, std::string expect) {
  return {std::move(name),
          [from, to](const Sandbox&, const std::string& path) {
            std::string t = base_config().dump();
            std::size_t at = t.find(from);
            if (at == std::string::npos) throw std::runtime_error("no " + from + " in config");
            write_text(path, t.replace(at, from.size(), to));
          },
          std::move(expect)};
}

std::vector<Case> corpus() {
  std::vector<Case> c;
  // Not a regular file.
  c.push_back({"fifo",
               [](const Sandbox&, const std::string& p) { ASSERT_EQ(mkfifo(p.c_str(), 0644), 0); },
               "is a FIFO"});
  c.push_back({"socket",
               [](const Sandbox&, const std::string& p) {
                 int fd = socket(AF_UNIX, SOCK_STREAM, 0);
                 sockaddr_un addr{};
                 addr.sun_family = AF_UNIX;
                 std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", p.c_str());
                 ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
                 close(fd);  // the socket file stays
               },
               "is a socket"});
  c.push_back({"char-device",
               [](const Sandbox&, const std::string& p) {
                 ASSERT_EQ(mknod(p.c_str(), S_IFCHR | 0644, makedev(1, 3)), 0);
               },
               "device"});
  c.push_back({"block-device",
               [](const Sandbox&, const std::string& p) {
                 ASSERT_EQ(mknod(p.c_str(), S_IFBLK | 0644, makedev(7, 0)), 0);
               },
               "device"});
  c.push_back({"directory",
               [](const Sandbox&, const std::string& p) { ASSERT_EQ(mkdir(p.c_str(), 0755), 0); },
               "is a directory"});
  c.push_back({"symlink",
               [](const Sandbox& sb, const std::string& p) {
                 std::string real = sb.dir + "/real.json";
                 write_text(real, base_config().dump());
                 ASSERT_EQ(symlink(real.c_str(), p.c_str()), 0);
               },
               "symlink"});
  c.push_back({"dangling-symlink",
               [](const Sandbox&, const std::string& p) {
                 ASSERT_EQ(symlink("/nonexistent/config.json", p.c_str()), 0);
               },
               "symlink"});
  c.push_back({"too-big",
               [](const Sandbox&, const std::string& p) {
                 int fd = open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
                 ASSERT_EQ(ftruncate(fd, 64 << 20), 0);  // sparse: cheap to make
                 close(fd);
               },
               "limit"});
  c.push_back(
      {"empty", [](const Sandbox&, const std::string& p) { write_text(p, ""); }, "config.json"});
  // The strict reader.
  c.push_back({"deep-nesting",
               [](const Sandbox&, const std::string& p) {
                 std::string t = base_config().dump();
                 t.pop_back();
                 t += ",\"deep\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
                 write_text(p, t);
               },
               "nested deeper than 64 levels"});
  c.push_back(text("nul-in-arg", "\"/bin/sleep\"", "\"/bin/sl\\u0000eep\"", "process.args[0]"));
  c.push_back(
      text("nul-in-env", "\"NYX_TRIAL=hostile\"", "\"NYX_TRIAL=ho\\u0000stile\"", "process.env"));
  c.push_back(text("nul-in-hostname", "\"hostname\":\"", "\"hostname\":\"a\\u0000", "hostname"));
  c.push_back(text("invalid-utf8", "\"/bin/sleep\"",
                   "\"/bin/sl\xff\xfe"
                   "eep\"",
                   "config.json"));
  c.push_back(text("overlong-utf8", "\"/bin/sleep\"", "\"/bin/\xc0\xafsleep\"", "config.json"));
  c.push_back(text("lone-surrogate", "\"/bin/sleep\"", "\"/bin/\\ud800sleep\"", "config.json"));
  c.push_back(text("duplicate-key", "\"ociVersion\":", "\"ociVersion\":\"1.0.2\",\"ociVersion\":",
                   "config: duplicate key \"ociVersion\""));
  c.push_back(text("duplicate-nested-key", "\"noNewPrivileges\":",
                   "\"cwd\":\"/\",\"noNewPrivileges\":", "process: duplicate key \"cwd\""));
  c.push_back(text("line-comment", "{", "{// comment\n", "config.json"));
  c.push_back(text("block-comment", "{", "{/* comment */", "config.json"));
  c.push_back(
      {"trailing-data",
       [](const Sandbox&, const std::string& p) { write_text(p, base_config().dump() + " {}"); },
       "config.json"});
  c.push_back({"two-documents",
               [](const Sandbox&, const std::string& p) {
                 write_text(p, base_config().dump() + "\n" + base_config().dump());
               },
               "config.json"});
  c.push_back({"not-an-object", [](const Sandbox&, const std::string& p) { write_text(p, "[]"); },
               "config"});
  // Out of range.
  c.push_back(edit(
      "rlimit-negative",
      [](json& j) {
        j["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", -1}, {"hard", 10}}};
      },
      "process.rlimits[0].soft"));
  c.push_back({"rlimit-past-u64",
               [](const Sandbox&, const std::string& p) {
                 json cfg = base_config();
                 cfg["process"]["rlimits"] = {
                     {{"type", "RLIMIT_NOFILE"}, {"soft", 1}, {"hard", 12345678987654321LL}}};
                 std::string t = cfg.dump();
                 t.replace(t.find("12345678987654321"), 17, "18446744073709551616");
                 write_text(p, t);
               },
               "process.rlimits[0].hard"});
  c.push_back(edit(
      "rlimit-soft-above-hard",
      [](json& j) {
        j["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 20}, {"hard", 10}}};
      },
      "process.rlimits[0]"));
  c.push_back(edit(
      "rlimit-float", [](json& j) { j["process"]["rlimits"][0]["hard"] = 1.5; },
      "process.rlimits[0].hard"));
  c.push_back(edit(
      "uid-too-big", [](json& j) { j["process"]["user"]["uid"] = 4294967296LL; },
      "process.user.uid"));
  c.push_back(edit(
      "uid-negative", [](json& j) { j["process"]["user"]["uid"] = -1; }, "process.user.uid"));
  c.push_back(edit(
      "gid-string", [](json& j) { j["process"]["user"]["gid"] = "0"; }, "process.user.gid"));
  c.push_back(edit(
      "additional-gid-too-big",
      [](json& j) {
        j["process"]["user"]["additionalGids"] = {1, 4294967296LL};
      },
      "process.user.additionalGids[1]"));
  c.push_back(edit(
      "mapping-size-zero",
      [](json& j) {
        j["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 0}}};
      },
      "linux.uidMappings[0].size"));
  c.push_back(edit(
      "mapping-size-too-big",
      [](json& j) {
        j["linux"]["gidMappings"] = {
            {{"containerID", 0}, {"hostID", 100000}, {"size", 4294967296LL}}};
      },
      "linux.gidMappings[0].size"));
  c.push_back(edit(
      "mapping-wraps",
      [](json& j) {
        j["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 4294967295LL}, {"size", 2}}};
      },
      "linux.uidMappings[0].size"));
  c.push_back(edit(
      "too-many-mappings",
      [](json& j) {
        json m = json::array();
        for (int i = 0; i < 341; ++i)
          m.push_back({{"containerID", i}, {"hostID", 100000 + i}, {"size", 1}});
        j["linux"]["uidMappings"] = m;
      },
      "linux.uidMappings"));
  c.push_back(edit(
      "memory-negative", [](json& j) { j["linux"]["resources"]["memory"]["limit"] = -5; },
      "linux.resources.memory.limit"));
  c.push_back(edit(
      "memory-float", [](json& j) { j["linux"]["resources"]["memory"]["limit"] = 1e30; },
      "linux.resources.memory.limit"));
  c.push_back(text("memory-past-i64", "\"limit\":268435456", "\"limit\":9223372036854775808",
                   "linux.resources.memory.limit"));
  c.push_back(text("number-overflow", "\"limit\":268435456", "\"limit\":1e400", "number overflow"));
  c.push_back(edit(
      "cpu-shares-too-big", [](json& j) { j["linux"]["resources"]["cpu"]["shares"] = 1LL << 40; },
      "linux.resources.cpu.shares"));
  c.push_back(edit(
      "cpu-period-zero", [](json& j) { j["linux"]["resources"]["cpu"]["period"] = 0; },
      "linux.resources.cpu.period"));
  c.push_back(edit(
      "pids-negative", [](json& j) { j["linux"]["resources"]["pids"]["limit"] = -7; },
      "linux.resources.pids.limit"));
  c.push_back(edit(
      "blkio-weight-too-big",
      [](json& j) { j["linux"]["resources"]["blockIO"]["weight"] = 100000; },
      "linux.resources.blockIO.weight"));
  c.push_back(edit(
      "swappiness-too-big", [](json& j) { j["linux"]["resources"]["memory"]["swappiness"] = 101; },
      "linux.resources.memory.swappiness"));
  c.push_back(edit(
      "unified-key-escapes",
      [](json& j) {
        j["linux"]["resources"]["unified"] = {{"../../release_agent", "x"}};
      },
      "linux.resources.unified"));
  c.push_back(edit(
      "console-size-too-big",
      [](json& j) {
        j["process"]["consoleSize"] = {{"height", 1LL << 33}, {"width", 1}};
      },
      "process.consoleSize.height"));
  c.push_back(edit(
      "oom-score-adj-too-big", [](json& j) { j["process"]["oomScoreAdj"] = 1LL << 40; },
      "process.oomScoreAdj"));
  c.push_back(edit(
      "args-wrong-type", [](json& j) { j["process"]["args"] = 5; }, "process.args"));
  c.push_back(edit(
      "args-element-wrong-type",
      [](json& j) {
        j["process"]["args"] = {"/bin/true", 5};
      },
      "process.args"));
  return c;
}

TEST(HostileInput, EveryCaseIsRefusedWithThePathAndNothingIsMade) {
  for (const Case& k : corpus()) {
    SCOPED_TRACE(k.name);
    Sandbox sb;
    std::string id = sb.id("hostile-" + k.name);
    std::string cfg = sb.bundle + "/config.json";
    k.make(sb, cfg);
    if (::testing::Test::HasFatalFailure()) return;
    double t0 = now_ms();
    Result r = sb.nyx({"create", "--bundle", sb.bundle, id}, "", 20);
    double ms = now_ms() - t0;
    EXPECT_FALSE(r.timed_out) << "blocked";
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_NE(r.err.find(k.expect), std::string::npos) << r.err;
    // One line.
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(dir_entries(sb.root), std::vector<std::string>{}) << r.err;
    EXPECT_EQ(cgroup_dirs_named(id), std::vector<std::string>{});
    std::cout << "[ hostile ] " << k.name << " (" << static_cast<int>(ms)
              << " ms): " << r.err.substr(0, 160);
    if (r.err.size() > 160) std::cout << "...\n";
  }
}

// 100 000 environment entries, then 100 000 arguments: parsed and run. The time is printed
// (docs/reliability.md quotes it), never asserted.
TEST(HostileInput, HundredThousandEnvEntriesAndArgsRun) {
  for (const char* what : {"env", "args"}) {
    Sandbox sb;
    std::string id = sb.id(std::string("big-") + what);
    json cfg = marked_config({"/bin/true"}, "big-" + id);
    for (int i = 0; i < 100000; ++i) {
      if (std::string(what) == "env") {
        cfg["process"]["env"].push_back("E" + std::to_string(i) + "=1");
      } else {
        cfg["process"]["args"].push_back("a" + std::to_string(i));
      }
    }
    sb.write_config(cfg);
    double t0 = now_ms();
    Result c = sb.nyx({"create", "--bundle", sb.bundle, id});
    double create_ms = now_ms() - t0;
    EXPECT_EQ(c.status, 0) << c.err;
    EXPECT_EQ(sb.nyx({"start", id}).status, 0);
    EXPECT_TRUE(eventually([&] { return sb.state(id).value("status", "") == "stopped"; }, 20000));
    EXPECT_EQ(sb.nyx({"delete", id}).status, 0);
    std::cout << "[ reliability ] create with 100000 " << what << " entries: " << create_ms
              << " ms\n";
    EXPECT_EQ(leftovers(sb, id, "big-" + id), "");
  }
}

}  // namespace
}  // namespace nyx::test
