// docs/state.md's table of primitives is generated from the primitive table: this test renders
// it and compares; NYX_UPDATE_SNAPSHOTS=1 rewrites the section instead.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/primitive_ops.hpp"
#include "runtime/primitives.hpp"

namespace nyx {
namespace {

constexpr std::string_view kBegin = "<!-- primitives table: generated";
constexpr std::string_view kEnd = "<!-- end of primitives table -->";

std::string_view stage_name(Stage s) {
  switch (s) {
    case Stage::Process:
      return "process";
    case Stage::Isolation:
      return "isolation";
    case Stage::Identity:
      return "identity";
    case Stage::Confine:
      return "confine";
  }
  return "";
}

std::string ablation_names(const PrimitiveInfo& info) {
  std::string out = "`" + std::string(info.name) + "`";
  if (!info.group.empty() && info.group != info.name) out += ", `" + std::string(info.group) + "`";
  if (!info.alias.empty()) out += ", `" + std::string(info.alias) + "`";
  for (std::string_view f : info.ops->finer_ablations)
    out += ", `" + std::string(f) + "`";
  return out;
}

std::string render() {
  std::string t =
      "| # | primitive | stage | requested when | extra fields | `--ablate` |\n"
      "|---|-----------|-------|----------------|--------------|------------|\n";
  int n = 0;
  for (const PrimitiveInfo& info : kPrimitives) {
    t += "| " + std::to_string(++n) + " | `" + std::string(info.name) + "`" +
         (info.baseline ? " (baseline)" : "") + " | " + std::string(stage_name(info.stage)) +
         " | " + std::string(info.ops->requested_when) + " | " + std::string(info.ops->fields) +
         " | " + ablation_names(info) + " |\n";
  }
  return t;
}

TEST(Docs, StateMdListsThePrimitiveTable) {
  std::string path = std::string(NYX_SOURCE_DIR) + "/docs/state.md";
  std::stringstream ss;
  ss << std::ifstream(path).rdbuf();
  std::string doc = ss.str();
  std::size_t begin = doc.find(kBegin);
  ASSERT_NE(begin, std::string::npos) << path << " lacks the generated table's marker";
  begin = doc.find('\n', doc.find("-->", begin)) + 1;
  std::size_t end = doc.find(kEnd, begin);
  ASSERT_NE(end, std::string::npos);
  std::string want = render();
  const char* update = std::getenv("NYX_UPDATE_SNAPSHOTS");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(path) << doc.substr(0, begin) + want + doc.substr(end);
    GTEST_SKIP() << "rewrote the table in " << path;
  }
  EXPECT_EQ(doc.substr(begin, end - begin), want);
}

std::string slurp(const std::string& path) {
  std::stringstream ss;
  ss << std::ifstream(path).rdbuf();
  return ss.str();
}

// The schema's list of primitive names, as the table has them, wrapped as the file is.
std::string render_schema_names(std::size_t indent) {
  std::string out = "[";
  std::string line;
  for (const PrimitiveInfo& info : kPrimitives) {
    std::string item = "\"" + std::string(info.name) + "\"";
    bool last = &info == &kPrimitives.back();
    item += last ? "]" : ",";
    if (!line.empty() && indent + 1 + line.size() + 1 + item.size() > 100) {
      out += line + "\n" + std::string(indent + 1, ' ');
      line.clear();
    }
    line += (line.empty() ? "" : " ") + item;
  }
  return out + line;
}

// docs/state.schema.json names every primitive, so that a validator refuses a record with a
// name that is not in the table: generated too, so a new primitive stays a one-row change.
TEST(Docs, StateSchemaNamesThePrimitives) {
  std::string path = std::string(NYX_SOURCE_DIR) + "/docs/state.schema.json";
  std::string doc = slurp(path);
  constexpr std::string_view kKey = "\"propertyNames\": {";
  std::size_t key = doc.find(kKey, doc.find("\"primitives\": {\n"));
  ASSERT_NE(key, std::string::npos) << path;
  std::size_t begin = doc.find('[', key);
  std::size_t end = doc.find(']', begin) + 1;
  std::size_t indent = begin - doc.rfind('\n', begin) - 1;
  std::string want = render_schema_names(indent);
  const char* update = std::getenv("NYX_UPDATE_SNAPSHOTS");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(path) << doc.substr(0, begin) + want + doc.substr(end);
    GTEST_SKIP() << "rewrote the primitive names in " << path;
  }
  EXPECT_EQ(doc.substr(begin, end - begin), want);
  EXPECT_TRUE(nlohmann::json::accept(doc)) << path << " is not valid JSON";
}

}  // namespace
}  // namespace nyx
