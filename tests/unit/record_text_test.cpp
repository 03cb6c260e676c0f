// RecordText, `state`'s fast path, against the reference it must equal byte for byte:
// public_state(parse(text), status).dump(2) + "\n" (cmd_state), on records as nyx writes them
// and on random ones; whatever RecordText declines must be something the reference prints
// differently from the text or cannot print.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/container.hpp"
#include "runtime/record_text.hpp"

namespace nyx {
namespace {

using json = nlohmann::json;

// The state file as write_state() writes it: the summary line, then the compact record.
std::string written(const json& state) {
  std::string body = state.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  StateSummary s = summarize(state);
  json sum = {{"ociVersion", s.oci_version},
              {"status", s.phase},
              {"pid", s.pid},
              {"bundle", s.bundle},
              {"rootfs", s.rootfs},
              {"created", s.created},
              {"owner", s.owner},
              {"startTime", s.start_time},
              {"paused", s.paused}};
  std::string line = sum.dump();
  line.pop_back();
  return "{\"summary\":" + line + ",\"bytes\":      1234},\n" + body.substr(1);
}

// cmd_state's output for the record `text`.
std::string reference(const std::string& text, const std::string& status) {
  json j = json::parse(text);
  j.erase("summary");
  return public_state(j, status).dump(2) + "\n";
}

json typical_state() {
  return json::parse(R"({
    "ociVersion": "1.0.2", "id": "web-1", "status": "created", "pid": 4242,
    "bundle": "/srv/b \"quoted\" \\ tab\t", "rootfs": "/srv/b/rootfs", "created": "2026-12-06T23:00:42.988334052Z",
    "owner": "root", "annotations": {"org.example/é": "ünïcode ✓", "a": "\u0001\u001f"},
    "hardening": {"mode": "best-effort", "level": "full", "ablation": [],
      "primitives": {"seccomp": {"status": "applied", "value": {"rules": 12}},
                     "no_new_privs": {"status": "applied"},
                     "not_a_primitive": 7,
                     "rlimit_nofile": {"value": 1024, "status": "applied", "errno": 0}},
      "hooks": [], "zzz": {"nested": [1, -2, {"b": true, "a": null}]}},
    "exit": null,
    "nyx": {"startTime": 123456789, "paused": false, "config": {"f": 1.5, "big": 123456789012345678901234}}
  })");
}

TEST(RecordText, TypicalRecordEqualsReference) {
  std::string text = written(typical_state());
  auto rec = RecordText::parse(text);
  ASSERT_TRUE(rec.has_value());
  EXPECT_EQ(rec->summary().phase, "created");
  EXPECT_EQ(rec->summary().pid, 4242);
  EXPECT_EQ(rec->summary().start_time, 123456789u);
  EXPECT_FALSE(rec->summary().paused);
  for (const char* status : {"created", "running", "stopped", "paused"})
    EXPECT_EQ(rec->render(status), reference(text, status));
}

TEST(RecordText, MissingFieldsAndEmptyObjects) {
  for (const char* text :
       {"{}\n", "{\"summary\":{},\n\"b\":{},\"c\":[]}\n",
        "{\"hardening\":{\"primitives\":{}},\"id\":\"x\"}",
        "{\"hardening\":{},\"nyx\":{\"paused\":true}}",
        "  {\"exit\" : {\"code\": 0, \"signal\": null} , \"status\":\"stopped\"}  "}) {
    auto rec = RecordText::parse(text);
    ASSERT_TRUE(rec.has_value()) << text;
    EXPECT_EQ(rec->render("running"), reference(text, "running")) << text;
  }
}

TEST(RecordText, DeclinesWhatWouldPrintDifferently) {
  for (const char* text : {
           "",                               // not JSON
           "{\"a\":1",                       // truncated
           "{\"a\":1}x",                     // trailing garbage
           "[]",                             // not an object
           "{\"b\":1,\"a\":2}",              // not sorted
           "{\"a\":1,\"a\":2}",              // duplicate key
           "{\"a\":1.5}",                    // a float in the output
           "{\"a\":-0}",                     // prints as 0
           "{\"a\":123456789012345678901}",  // past 64 bits
           "{\"a\":\"\\/\"}",                // \/ prints as /
           "{\"a\":\"\\u0041\"}",            // prints as A
           "{\"a\":\"\\u000a\"}",            // prints as \n
           "{\"a\":\"\\u001F\"}",            // upper-case hex
           "{\"a\":\"\xff\"}",               // not UTF-8
           "{\"a\\n\":1}",                   // escaped key
           "{\"status\":7}",                 // summarize() would throw
           "{\"pid\":\"1\"}",                // ditto
           "{\"nyx\":[]}",                   // ditto
           "{\"nyx\":{\"paused\":1}}",       // ditto
           "{\"hardening\":[]}",             // not a section
           "{\"hardening\":{\"primitives\":{\"seccomp\":1}}}",
       }) {
    EXPECT_FALSE(RecordText::parse(text).has_value()) << text;
  }
}

// Random records, written as nyx writes them, must print as the reference does; the ones that
// are declined must contain something the fast path cannot print as written (a float).
json random_value(std::mt19937& rng, int depth) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  static const char* kStrings[] = {"", "a", "created", "é✓", "q\"b\\s", "\t\n\x01", "/x/y", "\x7f"};
  static const char* kKeys[] = {"status",  "errno",   "error", "ablated",    "mode",
                                "level",   "z",       "A",     "primitives", "value",
                                "seccomp", "session", "0",     "é"};
  switch (depth > 3 ? pick(5) : pick(7)) {
    case 0:
      return nullptr;
    case 1:
      return pick(2) == 0;
    case 2:
      return static_cast<std::int64_t>(rng()) - (1LL << 31);
    case 3:
      return pick(8) == 0 ? json(0.25 * pick(9)) : json(static_cast<std::uint64_t>(rng()) << 20);
    case 4:
      return kStrings[pick(8)];
    case 5: {
      json a = json::array();
      for (int i = pick(4); i > 0; --i)
        a.push_back(random_value(rng, depth + 1));
      return a;
    }
    default: {
      json o = json::object();
      for (int i = pick(5); i > 0; --i)
        o[kKeys[pick(14)]] = random_value(rng, depth + 1);
      return o;
    }
  }
}

bool has_float(const json& j) {
  if (j.is_number_float()) return true;
  for (const auto& v : j)
    if (v.is_structured() ? has_float(v) : v.is_number_float()) return true;
  return false;
}

TEST(RecordText, RandomRecordsEqualReference) {
  std::mt19937 rng(19);
  int printed = 0;
  for (int n = 0; n < 3000; ++n) {
    json state = typical_state();
    state["annotations"] = random_value(rng, 2);
    state["hardening"]["primitives"]["seccomp"] = json::object();
    state["hardening"]["primitives"]["seccomp"]["value"] = random_value(rng, 1);
    state["hardening"]["primitives"]["session"] = {{"status", "skipped"},
                                                   {"x", random_value(rng, 1)}};
    state["hardening"]["extra"] = random_value(rng, 1);
    if (n % 3 == 0) state.erase("exit");
    if (n % 5 == 0) state["exit"] = {{"code", 1}, {"timedOut", false}};
    if (n % 7 == 0) state["zz"] = random_value(rng, 0);
    if (n % 11 == 0) state.erase("status");
    std::string text = written(state);
    auto rec = RecordText::parse(text);
    std::string expected = reference(text, "running");
    if (rec) {
      ++printed;
      ASSERT_EQ(rec->render("running"), expected) << text;
    } else {
      json shown = state;
      shown.erase("nyx");
      EXPECT_TRUE(has_float(shown)) << "declined without a float: " << text;
    }
  }
  EXPECT_GT(printed, 1000);
}

}  // namespace
}  // namespace nyx
