// linux.devices in a container with a user namespace: its root cannot mknod, so the runtime
// makes the nodes (the config's numbers, mode and owner) and the init binds them (crun's
// owner-device). Checked from inside: the node, its owner through the mapping, that it works.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "tests/integration/harness.hpp"

namespace nyx::test {
namespace {

json userns_with_device(const json& device) {
  json cfg = runc_like_config({"/bin/nyx-probe", "status"});
  cfg["linux"]["namespaces"].push_back({{"type", "user"}});
  json map = json::array({{{"containerID", 0}, {"hostID", 200000}, {"size", 65536}}});
  cfg["linux"]["uidMappings"] = map;
  cfg["linux"]["gidMappings"] = map;
  cfg["linux"]["devices"] = json::array({device});
  return cfg;
}

json find_step(const std::vector<json>& lines, const std::string& name, const std::string& path) {
  for (const auto& l : lines) {
    if (l.value("step", "") == name && l.value("path", "") == path) return l;
  }
  return json();
}

TEST(UsernsDevices, MadeByTheRuntimeWithTheConfigsNumbersAndOwner) {
  Sandbox sb;
  // /dev/null's numbers under another name: no host node of that name exists to bind.
  json dev = {{"path", "/dev/nyx-null"}, {"type", "c"}, {"major", 1}, {"minor", 3},
              {"fileMode", 0646},        {"uid", 10},   {"gid", 11}};
  Result r;
  auto lines = sb.probe(userns_with_device(dev),
                        {"stat", "/dev/nyx-null", "+", "write", "/dev/nyx-null", "x", "+", "stat",
                         "/dev/.nyx-devices"},
                        &r);
  ASSERT_EQ(r.status, 0) << r.err;
  json st = find_step(lines, "stat", "/dev/nyx-null");
  ASSERT_TRUE(st.is_object()) << r.out;
  EXPECT_EQ(st.value("type", ""), "chr") << st.dump();
  EXPECT_EQ(st.value("rdev_major", -1), 1);
  EXPECT_EQ(st.value("rdev_minor", -1), 3);
  EXPECT_EQ(st.value("mode", ""), "0646");
  EXPECT_EQ(st.value("uid", -1), 10);
  EXPECT_EQ(st.value("gid", -1), 11);
  // The node works (not a nodev mount; others may write), and the runtime's staging
  // directory is gone.
  EXPECT_EQ(find_step(lines, "write", "/dev/nyx-null").value("ok", false), true) << r.out;
  EXPECT_EQ(find_step(lines, "stat", "/dev/.nyx-devices").value("ok", true), false) << r.out;
}

TEST(UsernsDevices, AnOwnerOutsideTheMappingIsRefused) {
  Sandbox sb;
  json dev = {{"path", "/dev/nyx-null"}, {"type", "c"}, {"major", 1}, {"minor", 3}, {"uid", 70000}};
  sb.write_config(userns_with_device(dev));
  std::string id = sb.id("dev-unmapped");
  Result r = sb.nyx({"run", "--bundle", sb.bundle, id});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("linux.devices[0].uid: 70000 is not mapped in linux.uidMappings"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(sb.state(id).is_null());
}

// A /dev bound in from the host, which the container's root may not write: no room for the
// runtime's staging directory, so the host's node of that path is bound, as runc does.
TEST(UsernsDevices, HostDevBoundInGetsTheHostsNode) {
  Sandbox sb;
  json dev = {{"path", "/dev/full"}, {"type", "c"}, {"major", 1}, {"minor", 7}};
  json cfg = userns_with_device(dev);
  for (auto& m : cfg["mounts"]) {
    if (m["destination"] == "/dev") {
      m = {{"destination", "/dev"},
           {"type", "bind"},
           {"source", "/dev"},
           {"options", {"rbind", "nosuid"}}};
    }
  }
  Result r;
  auto lines = sb.probe(cfg, {"stat", "/dev/full", "+", "stat", "/dev/.nyx-devices"}, &r);
  ASSERT_EQ(r.status, 0) << r.err;
  json st = find_step(lines, "stat", "/dev/full");
  EXPECT_EQ(st.value("type", ""), "chr") << r.out;
  EXPECT_EQ(st.value("rdev_minor", -1), 7) << r.out;
  EXPECT_EQ(find_step(lines, "stat", "/dev/.nyx-devices").value("ok", true), false) << r.out;
  struct stat host {};
  EXPECT_NE(::stat("/dev/.nyx-devices", &host), 0);  // nothing made on the host
}

}  // namespace
}  // namespace nyx::test
