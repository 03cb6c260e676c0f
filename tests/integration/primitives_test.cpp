// The per-primitive record (SPEC §4, docs/state.md) against what the harness sees from inside,
// for the strict profile, and single primitives ablated with --ablate.
#include <gtest/gtest.h>
#include <linux/keyctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <functional>

#include "tests/integration/harness.hpp"

namespace nyx::test {
namespace {

std::string host_ns(const std::string& name) {
  char buf[PATH_MAX] = {};
  ssize_t n = readlink(("/proc/self/ns/" + name).c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
}

bool contains(const json& list, const std::string& s) {
  return std::find(list.begin(), list.end(), json(s)) != list.end();
}

// Runs the probe with `cfg` and `flags`; returns {probe lines, final record}.
std::pair<std::vector<json>, json> probe_and_record(const Sandbox& sb, json cfg,
                                                    const std::vector<std::string>& args,
                                                    const std::vector<std::string>& flags = {}) {
  std::string report = sb.dir + "/report.json";
  unlink(report.c_str());
  std::vector<std::string> f = {"--report", report};
  f.insert(f.end(), flags.begin(), flags.end());
  Result res;
  auto lines = sb.probe(std::move(cfg), args, &res, f);
  EXPECT_EQ(res.status, 0) << res.err;
  Result cat = run({"cat", report});
  return {lines, cat.status == 0 ? json::parse(cat.out) : json()};
}

TEST(Primitives, StrictRecordMatchesInside) {
  Sandbox sb;
  json cfg = strict_config({}, {"--memory", "1024", "--timeout", "10"});
  auto [lines, rec] = probe_and_record(
      sb, cfg,
      {"report", "+", "write", "/etc/nyx-x", "+", "write", "/tmp/nyx-x", "+", "setuid", "0"});
  json h = rec["hardening"], p = h["primitives"], in = step(lines, "report");
  ASSERT_TRUE(in.is_object());
  EXPECT_EQ(h["level"], "full");

  // The nine primitives, in the order of the hardening sequence.
  // Key order as written in the file (json sorts keys; ordered_json keeps them).
  std::vector<std::string> order;
  auto ordered = nlohmann::ordered_json::parse(run({"cat", sb.dir + "/report.json"}).out);
  for (auto& [k, v] : ordered["hardening"]["primitives"].items())
    order.push_back(k);
  std::vector<std::string> nine = {"no_new_privs", "rlimit_cpu",   "rlimit_nofile",
                                   "rlimit_as",    "namespaces",   "mounts",
                                   "root",         "capabilities", "seccomp"};
  std::vector<std::string> seen;
  for (const auto& k : order)
    if (std::find(nine.begin(), nine.end(), k) != nine.end()) seen.push_back(k);
  EXPECT_EQ(seen, nine);

  EXPECT_EQ(p["no_new_privs"]["status"], "applied");
  EXPECT_EQ(in["no_new_privs"], 1);

  // RLIMIT_CPU = max(2 x timeout, 2), RLIMIT_NOFILE 256, RLIMIT_AS = max(8 x memory, 4 GiB).
  EXPECT_EQ(p["rlimit_cpu"]["value"], 20);
  EXPECT_EQ(in["limits"]["cpu"]["soft"], 20);
  EXPECT_EQ(p["rlimit_nofile"]["value"], 256);
  EXPECT_EQ(in["limits"]["nofile"]["soft"], 256);
  EXPECT_EQ(p["rlimit_as"]["value"], 8ULL << 30);
  EXPECT_EQ(in["limits"]["as"]["soft"], 8ULL << 30);

  json types = p["namespaces"]["types"];
  EXPECT_EQ(p["namespaces"]["status"], "applied");
  for (const char* t : {"user", "pid", "mount", "ipc", "uts", "network"})
    EXPECT_TRUE(contains(types, t)) << t << " in " << types;
  for (const char* ns : {"user", "pid", "mnt", "ipc", "uts", "net"})
    EXPECT_NE(in["ns"][ns], host_ns(ns)) << ns;
  EXPECT_EQ(in["pid"], 1);
  EXPECT_NE(in["uid_map"].get<std::string>().find("0"), std::string::npos);
  EXPECT_EQ(in["uid_map"].get<std::string>().find("4294967295"), std::string::npos)
      << "container root is not host root";

  EXPECT_EQ(p["mounts"]["status"], "applied");
  EXPECT_EQ(p["mounts"]["count"], cfg["mounts"].size());
  EXPECT_TRUE(contains(in["mounts"], "/tmp"));
  EXPECT_TRUE(contains(in["mounts"], "/proc"));

  EXPECT_EQ(p["root"]["status"], "applied");
  EXPECT_EQ(p["root"]["method"], "pivot_root");
  EXPECT_EQ(p["root"]["readonly"], true);
  EXPECT_EQ(step(lines, "write")["error"], "EROFS");  // the first write: /etc
  EXPECT_EQ(lines.at(2)["ok"], true);                 // /tmp is a tmpfs

  EXPECT_EQ(p["capabilities"]["status"], "applied");
  EXPECT_EQ(in["cap_eff"], "0000000000000000");
  EXPECT_EQ(in["cap_bnd"], "0000000000000000");

  EXPECT_EQ(p["seccomp"]["status"], "applied");
  EXPECT_EQ(in["seccomp"], 2);
  EXPECT_EQ(step(lines, "setuid")["errno"], EPERM);  // the setuid family is not in base
}

// Each ablation turns its primitive off, is recorded as skipped + ablated with the mask in the
// state, and really is off inside; the level counts only what was still requested.
TEST(Primitives, AblationsAreRecordedAndTakeEffect) {
  Sandbox sb;
  json cfg = strict_config({});
  auto [lines, rec] =
      probe_and_record(sb, cfg, {"report"}, {"--ablate", "nnp,userns,pidns,rlimits"});
  json h = rec["hardening"], p = h["primitives"], in = step(lines, "report");
  EXPECT_EQ(h["ablation"], json({"no_new_privs", "rlimits", "userns", "pidns"}));
  EXPECT_EQ(h["level"], "full");
  EXPECT_EQ(p["no_new_privs"]["status"], "skipped");
  EXPECT_EQ(p["no_new_privs"]["ablated"], true);
  EXPECT_EQ(in["no_new_privs"], 0);
  for (const char* r : {"rlimit_cpu", "rlimit_nofile", "rlimit_as"}) {
    EXPECT_EQ(p[r]["status"], "skipped") << r;
    EXPECT_EQ(p[r]["ablated"], true) << r;
  }
  EXPECT_NE(in["limits"]["nofile"]["soft"], 256);
  EXPECT_EQ(p["namespaces"]["status"], "applied");  // mount, ipc, uts, network still held
  std::vector<std::string> ablated_types = p["namespaces"]["ablatedTypes"];
  std::sort(ablated_types.begin(), ablated_types.end());
  EXPECT_EQ(ablated_types, std::vector<std::string>({"pid", "user"}));
  EXPECT_FALSE(contains(p["namespaces"]["types"], "user"));
  EXPECT_EQ(in["ns"]["user"], host_ns("user"));
  EXPECT_EQ(in["ns"]["pid"], host_ns("pid"));
  EXPECT_NE(in["ns"]["net"], host_ns("net"));
  EXPECT_NE(in["pid"], 1);
  EXPECT_EQ(p["seccomp"]["status"], "applied");

  std::tie(lines, rec) =
      probe_and_record(sb, cfg, {"report", "+", "chroot", "/tmp"}, {"--ablate", "seccomp,caps"});
  h = rec["hardening"];
  p = h["primitives"];
  in = step(lines, "report");
  EXPECT_EQ(h["ablation"], json({"capabilities", "seccomp"}));
  for (const char* prim : {"seccomp", "capabilities"}) {
    EXPECT_EQ(p[prim]["status"], "skipped") << prim;
    EXPECT_EQ(p[prim]["ablated"], true) << prim;
  }
  EXPECT_EQ(in["seccomp"], 0);
  EXPECT_NE(in["cap_eff"], "0000000000000000");
  EXPECT_EQ(step(lines, "chroot")["ok"], true);  // with caps and without seccomp, chroot works
  EXPECT_EQ(h["level"], "full");

  // Without its mounts the strict container has no tmpfs /tmp on its read-only root.
  std::tie(lines, rec) = probe_and_record(sb, cfg, {"write", "/tmp/nyx-x"}, {"--ablate", "mounts"});
  p = rec["hardening"]["primitives"];
  EXPECT_EQ(p["mounts"]["status"], "skipped");
  EXPECT_EQ(p["mounts"]["ablated"], true);
  EXPECT_EQ(step(lines, "write")["error"], "EROFS");
}

// seccomp-socket and seccomp-setuid add exactly their family back to the allowlist.
TEST(Primitives, SeccompFamilyAblations) {
  Sandbox sb;
  json cfg = strict_config({});
  std::vector<std::string> steps = {"socket", "inet", "stream",      "+", "setuid",
                                    "0",      "+",    "init-module", "+", "report"};
  auto [lines, rec] = probe_and_record(sb, cfg, steps, {"--ablate", "seccomp-socket"});
  json sc = rec["hardening"]["primitives"]["seccomp"];
  EXPECT_EQ(rec["hardening"]["ablation"], json({"seccomp-socket"}));
  EXPECT_EQ(sc["status"], "applied");
  EXPECT_EQ(sc["ablated"], true);
  EXPECT_EQ(sc["ablatedFamilies"], json({"seccomp-socket"}));
  EXPECT_EQ(step(lines, "socket")["ok"], true);
  EXPECT_EQ(step(lines, "setuid")["errno"], EPERM);
  EXPECT_EQ(step(lines, "init-module")["errno"], EPERM);
  EXPECT_EQ(step(lines, "report")["seccomp"], 2);

  std::tie(lines, rec) = probe_and_record(sb, cfg, steps, {"--ablate", "seccomp-setuid"});
  sc = rec["hardening"]["primitives"]["seccomp"];
  EXPECT_EQ(sc["ablatedFamilies"], json({"seccomp-setuid"}));
  EXPECT_EQ(step(lines, "socket")["errno"], EPERM);
  EXPECT_EQ(step(lines, "setuid")["ok"], true);  // already uid 0: allowed once the filter lets it
  EXPECT_EQ(step(lines, "init-module")["errno"], EPERM);
}

// session: the init leads a session of its own (so it holds no terminal of the caller's);
// ablated, it stays in the runtime's session.
TEST(Primitives, SessionIsNewAndAblatable) {
  Sandbox sb;
  json cfg = strict_config({});
  auto [lines, rec] = probe_and_record(sb, cfg, {"session"}, {});
  json in = step(lines, "session");
  EXPECT_EQ(in["sid"], in["pid"]) << in;
  EXPECT_EQ(in["ctty"], false) << in;
  EXPECT_EQ(rec["hardening"]["primitives"]["session"]["status"], "applied");

  std::tie(lines, rec) = probe_and_record(sb, cfg, {"session"}, {"--ablate", "session"});
  in = step(lines, "session");
  EXPECT_NE(in["sid"], in["pid"]) << in;
  json s = rec["hardening"]["primitives"]["session"];
  EXPECT_EQ(s["status"], "skipped");
  EXPECT_EQ(s["ablated"], true);
  EXPECT_EQ(rec["hardening"]["ablation"], json({"session"}));
}

// Runs `fn` in a child process whose session keyring is a new one holding the user key `desc`
// (as a login session caches a credential there); returns what `fn` returned.
json with_session_key(const std::string& desc, const std::function<json()>& fn) {
  int p[2];
  if (pipe(p) != 0) return json();
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    json out;
    if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "nyx-it-caller") < 0 ||
        syscall(SYS_add_key, "user", desc.c_str(), "secret", 6, KEY_SPEC_SESSION_KEYRING) < 0) {
      out = {{"error", errno}};
    } else {
      out = fn();
    }
    std::string text = out.dump();
    ssize_t n = write(p[1], text.data(), text.size());
    _exit(n == static_cast<ssize_t>(text.size()) ? 0 : 1);
  }
  close(p[1]);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = read(p[0], buf, sizeof buf)) > 0;)
    text.append(buf, static_cast<std::size_t>(n));
  close(p[0]);
  waitpid(pid, nullptr, 0);
  return text.empty() ? json() : json::parse(text);
}

// keyring: the harness's session keyring is a new anonymous one, so the key its caller holds
// is out of reach; --no-new-keyring (runc's flag) and --ablate keyring keep the caller's. The
// filter allows keyctl here, so the keyring is the only barrier.
TEST(Primitives, KeyringIsFreshAndAblatable) {
  Sandbox sb;
  std::string desc = "nyx-it-key-" + std::to_string(getpid());
  json cfg = strict_config({}, {"--allow", "keyring"});
  auto look = [&](const std::vector<std::string>& flags) {
    return with_session_key(desc, [&] {
      auto [lines, rec] = probe_and_record(sb, cfg, {"keyring", desc}, flags);
      return json{{"in", step(lines, "keyring")}, {"rec", rec}};
    });
  };
  json fresh = look({});
  ASSERT_TRUE(fresh.contains("in")) << fresh;
  EXPECT_EQ(fresh["in"]["found"], false) << fresh["in"];
  EXPECT_EQ(fresh["in"]["desc"].get<std::string>().rfind("keyring;", 0), 0u) << fresh["in"];
  EXPECT_NE(fresh["in"]["desc"].get<std::string>().find(";_ses"), std::string::npos)
      << "an anonymous session keyring: " << fresh["in"];
  json k = fresh["rec"]["hardening"]["primitives"]["keyring"];
  EXPECT_EQ(k["status"], "applied") << k;
  EXPECT_EQ(k["serial"], fresh["in"]["session"]) << k;

  for (const auto& flags : {std::vector<std::string>{"--no-new-keyring"},
                            std::vector<std::string>{"--ablate", "keyring"}}) {
    json kept = look(flags);
    ASSERT_TRUE(kept.contains("in")) << kept;
    EXPECT_EQ(kept["in"]["found"], true) << flags[0] << ": " << kept["in"];
    json r = kept["rec"]["hardening"];
    EXPECT_EQ(r["primitives"]["keyring"]["status"], "skipped") << r;
    EXPECT_EQ(r["primitives"]["keyring"]["ablated"], true) << r;
    EXPECT_EQ(r["ablation"], json({"keyring"})) << r;
  }
}

// An exec'd process gets a session keyring of its own too: not the caller's of `exec`, and not
// the init's.
TEST(Primitives, KeyringIsFreshForExec) {
  Sandbox sb;
  std::string desc = "nyx-it-exec-key-" + std::to_string(getpid());
  sb.write_config(strict_config({"/bin/nyx-probe", "keyring", desc, "+", "sleep", "5"},
                                {"--allow", "keyring"}));
  std::string id = sb.id("keyexec");
  Result d = sb.nyx({"run", "--detach", "--bundle", sb.bundle, id});
  ASSERT_EQ(d.status, 0) << d.err;
  json got = with_session_key(desc, [&] {
    Result e = sb.nyx({"exec", id, "/bin/nyx-probe", "keyring", desc});
    return json{{"status", e.status}, {"err", e.err}, {"in", step(json_lines(e.out), "keyring")}};
  });
  json st = sb.state(id);
  sb.nyx({"delete", "--force", id});
  ASSERT_EQ(got["status"], 0) << got;
  EXPECT_EQ(got["in"]["found"], false) << got["in"];
  json execs = st["hardening"]["execs"];
  ASSERT_TRUE(execs.is_array() && !execs.empty()) << st["hardening"];
  EXPECT_EQ(execs.back()["primitives"]["keyring"]["status"], "applied") << execs.back();
  EXPECT_EQ(execs.back()["primitives"]["keyring"]["serial"], got["in"]["session"]);
}

TEST(Primitives, UnknownAblationIsAnError) {
  Sandbox sb;
  sb.write_config(runc_like_config({"/bin/nyx-probe", "echo", "x"}));
  Result r = sb.nyx({"run", "--ablate", "pidns,teleport", "--bundle", sb.bundle, sb.id("ab")});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("teleport"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(run({"ls", "-A", sb.root}).out, "");
}

}  // namespace
}  // namespace nyx::test
