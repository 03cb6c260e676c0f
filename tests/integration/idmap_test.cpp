// Idmapped bind mounts (runtime-spec 1.2: the idmap and ridmap options, mounts[].uidMappings
// and gidMappings): what the harness sees of the owners, and what lands on the host.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "tests/integration/harness.hpp"

namespace nyx::test {
namespace {

constexpr std::uint32_t kHostBase = 200000;

json mapping(std::uint32_t container, std::uint32_t host, std::uint32_t size) {
  return json::array({{{"containerID", container}, {"hostID", host}, {"size", size}}});
}

// A runc-style container in a user namespace mapping 0..65535 to kHostBase.., with `dir`
// bound at /mnt with `options` (and `extra` fields merged into the mount).
json userns_config(const std::string& dir, const json& options,
                   const json& extra = json::object()) {
  json cfg = runc_like_config({"/bin/nyx-probe", "status"});
  cfg["linux"]["namespaces"].push_back({{"type", "user"}});
  cfg["linux"]["uidMappings"] = mapping(0, kHostBase, 65536);
  cfg["linux"]["gidMappings"] = mapping(0, kHostBase, 65536);
  json m = {{"destination", "/mnt"}, {"type", "bind"}, {"source", dir}, {"options", options}};
  m.update(extra);
  cfg["mounts"].push_back(m);
  return cfg;
}

// A directory only root may enter (so the idmapped mount, not the mode bits, decides what the
// container can do) holding root's file and one of uid 5, gid 6.
std::string owned_files(const Sandbox& sb) {
  std::string dir = sb.dir + "/idmapped";
  ::mkdir(dir.c_str(), 0755);
  std::ofstream(dir + "/root-file") << "x";
  std::ofstream(dir + "/user-file") << "y";
  EXPECT_EQ(::chown((dir + "/user-file").c_str(), 5, 6), 0);
  // The sandbox directory may be private to root: let the container's root reach this one.
  ::chmod(sb.dir.c_str(), 0755);
  return dir;
}

// Kernels before 6.3 cannot idmap tmpfs, where a fresh root keeps /tmp: a host-shape skip.
bool fs_cannot_idmap(const Result& r) {
  return r.status == 1 && r.err.find("does not support idmapped mounts") != std::string::npos;
}

std::pair<int, int> owner_seen(const std::vector<json>& lines, const std::string& path) {
  for (const auto& l : lines) {
    if (l.value("step", "") == "stat" && l.value("path", "") == path) {
      return {l.value("uid", -1), l.value("gid", -1)};
    }
  }
  return {-2, -2};
}

// "idmap" alone maps through the container's own mappings: the host's root file shows as the
// container root's, and what the container's root creates is the host root's on disk.
TEST(Idmap, ThroughTheContainersMappings) {
  Sandbox sb;
  std::string dir = owned_files(sb);
  Result r;
  auto lines = sb.probe(userns_config(dir, {"bind", "idmap"}),
                        {"stat", "/mnt/root-file", "+", "stat", "/mnt/user-file", "+", "write",
                         "/mnt/made-inside", "z"},
                        &r);
  if (fs_cannot_idmap(r)) GTEST_SKIP() << r.err;
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(owner_seen(lines, "/mnt/root-file"), std::make_pair(0, 0)) << r.out;
  EXPECT_EQ(owner_seen(lines, "/mnt/user-file"), std::make_pair(5, 6)) << r.out;
  struct stat st {};
  ASSERT_EQ(::stat((dir + "/made-inside").c_str(), &st), 0) << r.out;
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(st.st_gid, 0u);
}

// Without idmap the same files belong to nobody inside (the control for the test above).
TEST(Idmap, PlainBindShowsUnmappedOwners) {
  Sandbox sb;
  std::string dir = owned_files(sb);
  Result r;
  auto lines = sb.probe(userns_config(dir, {"bind"}), {"stat", "/mnt/root-file"}, &r);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(owner_seen(lines, "/mnt/root-file"), std::make_pair(65534, 65534)) << r.out;
}

// The mount's own mappings, written as the container's are (containerID hostID size): disk
// uid 0..9 become host kHostBase+3.., which the container sees as 3...
TEST(Idmap, ThroughTheMountsOwnMappings) {
  Sandbox sb;
  std::string dir = owned_files(sb);
  json extra = {{"uidMappings", mapping(0, kHostBase + 3, 10)},
                {"gidMappings", mapping(0, kHostBase + 4, 10)}};
  Result r;
  auto lines = sb.probe(userns_config(dir, {"bind", "idmap"}, extra),
                        {"stat", "/mnt/root-file", "+", "stat", "/mnt/user-file"}, &r);
  if (fs_cannot_idmap(r)) GTEST_SKIP() << r.err;
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(owner_seen(lines, "/mnt/root-file"), std::make_pair(3, 4)) << r.out;
  EXPECT_EQ(owner_seen(lines, "/mnt/user-file"), std::make_pair(8, 10)) << r.out;
}

// What cannot be honoured is refused at create, naming the field: never a plain bind instead.
TEST(Idmap, RefusedWhereItCannotApply) {
  Sandbox sb;
  std::string dir = owned_files(sb);
  struct Case {
    json cfg;
    std::string says;
  };
  json tmpfs = userns_config(dir, {"bind"});
  tmpfs["mounts"].back() = {
      {"destination", "/mnt"}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"idmap"}}};
  json no_userns = runc_like_config({"/bin/nyx-probe", "status"});
  no_userns["mounts"].push_back(
      {{"destination", "/mnt"}, {"type", "bind"}, {"source", dir}, {"options", {"bind", "idmap"}}});
  std::vector<Case> cases = {
      {tmpfs, ".options: only a bind mount can be idmapped"},
      {userns_config(dir, {"bind", "idmap=uids=0-1-10;gids=0-1-10"}), "crun's own spelling"},
      {no_userns, ".uidMappings: an idmapped mount needs both uid and gid mappings"},
  };
  for (const auto& c : cases) {
    sb.write_config(c.cfg);
    std::string id = sb.id("idmap-refused");
    Result r = sb.nyx({"run", "--bundle", sb.bundle, id});
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_NE(r.err.find("mounts[" + std::to_string(c.cfg["mounts"].size() - 1) + "]"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_TRUE(sb.state(id).is_null());
  }
}

// `features` says so, where engines look before they send idmapped mounts (containerd asks
// linux.mountExtensions.idmap.enabled for a user-namespace pod's volumes).
TEST(Idmap, FeaturesSayIt) {
  Sandbox sb;
  Result r = sb.nyx({"features"});
  ASSERT_EQ(r.status, 0) << r.err;
  json f = json::parse(r.out);
  EXPECT_EQ(f["linux"]["mountExtensions"]["idmap"]["enabled"], true) << f["linux"];
  const json& opts = f["mountOptions"];
  EXPECT_NE(std::find(opts.begin(), opts.end(), "idmap"), opts.end()) << opts;
  EXPECT_NE(std::find(opts.begin(), opts.end(), "ridmap"), opts.end()) << opts;
}

}  // namespace
}  // namespace nyx::test
