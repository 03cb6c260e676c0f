#include "tests/integration/harness.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>

namespace nyx::test {

std::string nyx_bin() {
  return NYX_BIN;
}
std::string probe_bin() {
  return NYX_PROBE;
}

namespace {

double now_s() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::string rootfs_dir;

void remove_rootfs() {
  if (!rootfs_dir.empty()) run({"rm", "-rf", rootfs_dir});
}

}  // namespace

Result run(const std::vector<std::string>& argv, const std::string& input, int timeout_s) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
    throw std::runtime_error("pipe2");
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    std::vector<char*> args = c_argv(argv);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  signal(SIGPIPE, SIG_IGN);
  if (!input.empty()) {
    [[maybe_unused]] ssize_t n = write(in[1], input.data(), input.size());
  }
  close(in[1]);
  Result r;
  double deadline = now_s() + timeout_s;
  // Wait for the process, not for end-of-file: a container made by `create` keeps the
  // runtime's stdout and stderr open after the runtime has exited.
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  bool exited = false;
  for (;;) {
    pollfd fds[3] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}, {pidfd, POLLIN, 0}};
    int left = static_cast<int>((deadline - now_s()) * 1000);
    if (left <= 0) {
      r.timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    int n = poll(fds, exited ? 2 : 3, exited ? 0 : left);
    if (n < 0 && errno == EINTR) continue;
    if (fds[2].revents & POLLIN) exited = true;
    bool got = false;
    char buf[65536];
    for (int i = 0; i < 2; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
      ssize_t len = read(fds[i].fd, buf, sizeof buf);
      if (len > 0) {
        (i == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(len));
        got = true;
      }
    }
    if (exited && !got) break;
  }
  close(pidfd);
  close(out[0]);
  close(err[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  remember_states_of(argv, r);
  return r;
}

namespace {

std::mutex g_states_mu;
std::vector<json> g_states;

}  // namespace

void remember_state(const json& state) {
  if (!state.is_object() || !state.contains("ociVersion")) return;
  std::lock_guard<std::mutex> lock(g_states_mu);
  g_states.push_back(state);
}

void remember_states_of(const std::vector<std::string>& argv, const Result& r) {
  auto at = std::find(argv.begin(), argv.end(), nyx_bin());
  if (at == argv.end()) return;
  std::vector<std::string> args(at + 1, argv.end());
  auto has = [&](const char* w) { return std::find(args.begin(), args.end(), w) != args.end(); };
  if (has("state") && !has("table") && r.status == 0) {
    remember_state(json::parse(r.out, nullptr, false));
  }
  auto report = std::find(args.begin(), args.end(), "--report");
  if (report != args.end() && report + 1 != args.end() && *(report + 1) != "-") {
    std::ifstream in(*(report + 1));
    if (in) remember_state(json::parse(in, nullptr, false));
  }
}

std::string validate_remembered_states() {
  std::vector<json> states;
  {
    std::lock_guard<std::mutex> lock(g_states_mu);
    states.swap(g_states);
  }
  if (states.empty()) return "";
  char tmpl[] = "/tmp/nyx-states.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return "mkdtemp failed";
  std::string dir = tmpl;
  for (std::size_t i = 0; i < states.size(); ++i)
    std::ofstream(dir + "/" + std::to_string(i) + ".json") << states[i].dump(2);
  std::string src = NYX_SOURCE_DIR;
  Result v =
      run({"python3", src + "/scripts/validate-states.py", src + "/docs/state.schema.json", dir});
  run({"rm", "-rf", dir});
  return v.status == 0 ? "" : "states against docs/state.schema.json:\n" + v.out + v.err;
}

void make_rootfs(const std::string& dir) {
  Result r = run({std::string(NYX_SOURCE_DIR) + "/examples/make-rootfs.sh", dir, probe_bin()});
  if (r.status != 0) throw std::runtime_error("make-rootfs.sh failed: " + r.err);
}

const std::string& shared_rootfs() {
  static std::once_flag once;
  std::call_once(once, [] {
    char tmpl[] = "/tmp/nyx-it-rootfs.XXXXXX";
    if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp");
    rootfs_dir = tmpl;
    // mkdtemp makes 0700: a user-namespace root (an unprivileged host uid) could not enter it.
    chmod(rootfs_dir.c_str(), 0755);
    make_rootfs(rootfs_dir);
    atexit(remove_rootfs);
  });
  return rootfs_dir;
}

Sandbox::Sandbox() {
  char tmpl[] = "/tmp/nyx-it.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp");
  dir = tmpl;
  chmod(dir.c_str(), 0755);
  root = dir + "/root";
  bundle = dir + "/bundle";
  mkdir(bundle.c_str(), 0755);
}

Sandbox::~Sandbox() {
  Result ls = nyx({"list", "-q"});
  std::istringstream ids(ls.out);
  std::string id;
  while (std::getline(ids, id)) {
    if (!id.empty()) nyx({"delete", "--force", id});
  }
  run({"rm", "-rf", dir});
}

std::string Sandbox::id(const std::string& name) const {
  return name + "-" + std::to_string(getpid());
}

std::vector<std::string> Sandbox::nyx_argv(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {nyx_bin(), "--root", root};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

Result Sandbox::nyx(const std::vector<std::string>& args, const std::string& input,
                    int timeout_s) const {
  return run(nyx_argv(args), input, timeout_s);
}

Result Sandbox::nyx_denied(const std::string& deny, const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {NYX_ERRNO_WRAP};
  std::stringstream rules(deny);
  for (std::string rule; std::getline(rules, rule, ',');)
    argv.push_back(rule);
  argv.push_back("--");
  for (auto& a : nyx_argv(args))
    argv.push_back(std::move(a));
  return run(argv);
}

void Sandbox::write_config(const json& cfg) const {
  json c = cfg;
  if (c["root"]["path"] == "rootfs") c["root"]["path"] = shared_rootfs();
  std::ofstream(bundle + "/config.json") << c.dump(2);
}

json Sandbox::state(const std::string& id) const {
  Result r = nyx({"state", id});
  if (r.status != 0) return json();
  return json::parse(r.out, nullptr, false);
}

std::vector<json> Sandbox::probe(json cfg, const std::vector<std::string>& args, Result* res,
                                 const std::vector<std::string>& run_flags) const {
  std::vector<std::string> argv = {"/bin/nyx-probe"};
  argv.insert(argv.end(), args.begin(), args.end());
  cfg["process"]["args"] = argv;
  write_config(cfg);
  std::vector<std::string> cmd = {"run", "--bundle", bundle};
  cmd.insert(cmd.end(), run_flags.begin(), run_flags.end());
  cmd.push_back(id("probe"));
  Result r = nyx(cmd);
  if (res != nullptr) *res = r;
  return json_lines(r.out);
}

json runc_like_config(const std::vector<std::string>& args) {
  json caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  return {
      {"ociVersion", "1.0.2"},
      {"process",
       {{"terminal", false},
        {"user", {{"uid", 0}, {"gid", 0}}},
        {"args", args},
        {"env",
         {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"}},
        {"cwd", "/"},
        {"capabilities",
         {{"bounding", caps},
          {"effective", caps},
          {"permitted", caps},
          {"ambient", caps},
          {"inheritable", caps}}},
        {"rlimits", {{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}}},
        {"noNewPrivileges", true}}},
      {"root", {{"path", "rootfs"}, {"readonly", false}}},
      {"hostname", "nyx-test"},
      {"mounts",
       {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
        {{"destination", "/dev"},
         {"type", "tmpfs"},
         {"source", "tmpfs"},
         {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
        {{"destination", "/dev/pts"},
         {"type", "devpts"},
         {"source", "devpts"},
         {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}}},
        {{"destination", "/dev/shm"},
         {"type", "tmpfs"},
         {"source", "shm"},
         {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
        {{"destination", "/sys"},
         {"type", "sysfs"},
         {"source", "sysfs"},
         {"options", {"nosuid", "noexec", "nodev", "ro"}}}}},
      {"linux",
       {{"namespaces",
         {{{"type", "pid"}},
          {{"type", "mount"}},
          {{"type", "ipc"}},
          {{"type", "uts"}},
          {{"type", "network"}}}},
        {"maskedPaths",
         {"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug",
          "/sys/firmware", "/proc/scsi"}},
        {"readonlyPaths",
         {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}}}},
  };
}

json strict_config(const std::vector<std::string>& args,
                   const std::vector<std::string>& spec_flags) {
  char tmpl[] = "/tmp/nyx-spec.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp");
  std::vector<std::string> argv = {nyx_bin(), "spec", "--bundle", tmpl};
  argv.insert(argv.end(), spec_flags.begin(), spec_flags.end());
  argv.push_back("--");
  argv.insert(argv.end(), args.begin(), args.end());
  Result r = run(argv);
  std::ifstream in(std::string(tmpl) + "/config.json");
  std::stringstream ss;
  ss << in.rdbuf();
  run({"rm", "-rf", tmpl});
  if (r.status != 0) throw std::runtime_error("spec failed: " + r.err);
  return json::parse(ss.str());
}

std::vector<json> json_lines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    json j = json::parse(line, nullptr, false);
    if (!j.is_discarded()) out.push_back(std::move(j));
  }
  return out;
}

json step(const std::vector<json>& lines, const std::string& name) {
  for (const auto& l : lines) {
    if (l.is_object() && l.value("step", "") == name) return l;
  }
  return json();
}

std::vector<std::string> mounts_under(const std::string& prefix) {
  std::vector<std::string> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string f, mp;
    for (int i = 0; i < 5 && fields >> f; ++i)
      mp = f;
    if (mp.rfind(prefix, 0) == 0) out.push_back(mp);
  }
  return out;
}

std::vector<std::string> dir_entries(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
      out.emplace_back(e->d_name);
  }
  closedir(d);
  return out;
}

std::vector<char*> c_argv(const std::vector<std::string>& args) {
  std::vector<char*> out;
  for (const auto& a : args)
    out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

bool path_exists(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0;
}

}  // namespace nyx::test
