#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "tests/escape/matrix.hpp"

namespace nyx::escape {

namespace {

constexpr unsigned kContainerRoot = 100000;  // host uid of the strict profile's container root

void must(const test::Result& r, const std::string& what) {
  if (r.status != 0) throw std::runtime_error(what + " failed: " + r.err);
}

// The setuid-root helper of the nnp fixture: the probe itself, owned by the container's root
// (mapped from host uid 100000) and mode 4755, so only no_new_privs stands between a non-root
// harness and euid 0.
void add_setuid_probe(const std::string& rootfs) {
  std::string path = rootfs + "/bin/nyx-probe-suid";
  must(test::run({"cp", rootfs + "/bin/nyx-probe", path}), "cp");
  if (chown(path.c_str(), kContainerRoot, kContainerRoot) != 0 || chmod(path.c_str(), 04755) != 0) {
    throw std::runtime_error("cannot make " + path + " setuid");
  }
}

json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) return json();
  return json::parse(in, nullptr, false);
}

}  // namespace

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::Blocked:
      return "BLOCKED";
    case Verdict::Escaped:
      return "ESCAPED";
    case Verdict::Skipped:
      return "SKIPPED";
    case Verdict::Error:
      break;
  }
  return "ERROR";
}

Observation blocked(std::string evidence, json state) {
  return {Verdict::Blocked, std::move(evidence), std::move(state)};
}
Observation escaped(std::string evidence, json state) {
  return {Verdict::Escaped, std::move(evidence), std::move(state)};
}
Observation error(std::string evidence, json state) {
  return {Verdict::Error, std::move(evidence), std::move(state)};
}
std::string signal_text(int status) {
  return status > 128 ? "killed by signal " + std::to_string(status - 128)
                      : "exit " + std::to_string(status);
}

Observation no_output(const Ran& r) {
  std::string err = r.res.err.substr(0, r.res.err.find('\n'));
  return error("no harness output (" + signal_text(r.res.status) + "): " + err, r.state);
}

Observation skipped(std::string evidence, json state) {
  return {Verdict::Skipped, std::move(evidence), std::move(state)};
}

Observation refused(std::string evidence) {
  return {Verdict::Blocked, "refused at create: " + std::move(evidence), json(), true};
}

Env::Env() {
  char tmpl[] = "/tmp/nyx-escape.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp");
  work = tmpl;
  chmod(work.c_str(), 0755);
  rootfs = work + "/rootfs";
  host = work + "/host";
  secret_path = host + "/secret";
  must(test::run({std::string(NYX_SOURCE_DIR) + "/examples/make-rootfs.sh", rootfs,
                  test::probe_bin(), NYX_ESCAPE_PAYLOAD}),
       "make-rootfs.sh");
  add_setuid_probe(rootfs);
  write_text(rootfs + "/etc/target", "");  // bind target: the strict root cannot create it
  mkdir(host.c_str(), 0755);
  write_text(secret_path, secret + "\n");
}

Env::~Env() {
  // profile-denied-read's profile (fixtures.cpp) leaves the host's kernel with the matrix.
  std::string profile = work + "/nyx-escape-deny-read.profile";
  if (test::path_exists(profile)) test::run({"apparmor_parser", "--remove", profile});
  test::run({"rm", "-rf", work});
}

json Env::strict(const std::vector<std::string>& spec_flags) {
  auto it = std::find_if(spec_cache_.begin(), spec_cache_.end(),
                         [&](const auto& e) { return e.first == spec_flags; });
  if (it == spec_cache_.end()) {
    json cfg = test::strict_config({"/bin/true"}, spec_flags);
    cfg["root"]["path"] = rootfs;
    cfg["hostname"] = "nyx-escape";
    spec_cache_.emplace_back(spec_flags, cfg);
    return cfg;
  }
  return it->second;
}

json Env::root_config() {
  json cfg = test::runc_like_config({"/bin/true"});
  cfg["root"]["path"] = rootfs;
  cfg["hostname"] = "nyx-escape";
  return cfg;
}

std::string Env::new_id(const std::string& tag) {
  std::string id = "esc-" + tag + "-" + std::to_string(getpid()) + "-" + std::to_string(++counter_);
  ids_.push_back(id);
  return id;
}

std::vector<std::string> Env::take_ids() {
  std::vector<std::string> out;
  out.swap(ids_);
  return out;
}

Ran Env::launch(const Launch& l) {
  Ran r;
  r.id = l.id.empty() ? new_id() : l.id;
  json cfg = l.config;
  cfg["process"]["args"] = l.args;
  sb.write_config(cfg);
  std::string report = sb.dir + "/" + r.id + ".json";
  std::vector<std::string> argv = l.wrapper;
  for (const auto& a : {test::nyx_bin(), std::string("--root"), sb.root, std::string("run"),
                        std::string("--bundle"), sb.bundle, std::string("--report"), report}) {
    argv.push_back(a);
  }
  if (!l.ablate.empty()) argv.insert(argv.end(), {"--ablate", l.ablate});
  argv.insert(argv.end(), l.flags.begin(), l.flags.end());
  argv.push_back(r.id);
  r.res = test::run(argv, "", l.timeout_s);
  r.lines = test::json_lines(r.res.out);
  r.state = read_json(report);
  unlink(report.c_str());
  return r;
}

std::string Env::rootfs_copy(const std::string& name) {
  std::string dir = work + "/" + name;
  if (!test::path_exists(dir)) must(test::run({"cp", "-a", rootfs, dir}), "cp -a rootfs");
  return dir;
}

json probe_step(const Ran& r, const std::string& name) {
  return test::step(r.lines, name);
}

bool flag(const json& line, const std::string& key) {
  return line.is_object() && line.contains(key) && line[key].is_boolean() && line[key].get<bool>();
}

std::string text(const json& line, const std::string& key) {
  if (!line.is_object() || !line.contains(key) || !line[key].is_string()) return "";
  return line[key].get<std::string>();
}

std::string errno_of(const json& line) {
  if (!line.is_object()) return "no output";
  if (line.value("ok", false)) return "ok";
  return line.value("error", "E?");
}

std::string hostname() {
  char buf[256] = "";
  gethostname(buf, sizeof buf - 1);
  return buf;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}

}  // namespace nyx::escape
