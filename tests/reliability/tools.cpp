#include "tests/reliability/tools.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace nyx::test {

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> split_nul(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < s.size()) {
    std::size_t end = s.find('\0', start);
    if (end == std::string::npos) end = s.size();
    out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// Orphaned container inits are re-parented to this process rather than to the machine's init,
// which may not reap them.
[[maybe_unused]] const bool subreaper = [] {
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  return true;
}();

}  // namespace

pid_t spawn_marked(const std::vector<std::string>& argv, const std::string& marker) {
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    setenv(kMarkerVar, marker.c_str(), 1);
    std::vector<char*> args = c_argv(argv);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

int wait_pid(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

double now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

void sleep_us(long us) {
  timespec ts{us / 1000000, (us % 1000000) * 1000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

std::vector<pid_t> marked_processes(const std::string& marker, const std::string& id) {
  std::vector<pid_t> out;
  std::string want = std::string(kMarkerVar) + "=" + marker;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return out;
  while (dirent* e = readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0' || pid == getpid()) continue;
    std::string base = std::string("/proc/") + e->d_name;
    std::string stat = read_all(base + "/stat");
    std::size_t paren = stat.rfind(')');
    if (paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] == 'Z') continue;
    bool hit = false;
    for (const auto& v : split_nul(read_all(base + "/environ")))
      hit = hit || v == want;
    for (const auto& a : split_nul(read_all(base + "/cmdline")))
      hit = hit || a == id;
    if (hit) out.push_back(static_cast<pid_t>(pid));
  }
  closedir(proc);
  return out;
}

namespace {

thread_local std::vector<std::string>* g_found;
thread_local const std::string* g_id;

int visit(const char* path, const struct stat*, int type, FTW* ftw) {
  if (type == FTW_D && std::strstr(path + ftw->base, g_id->c_str()) != nullptr) {
    g_found->push_back(path);
  }
  return 0;
}

}  // namespace

std::vector<std::string> cgroup_dirs_named(const std::string& id) {
  std::vector<std::string> out;
  g_found = &out;
  g_id = &id;
  DIR* d = opendir("/sys/fs/cgroup");
  if (d == nullptr) return out;
  std::vector<std::string> tops = {"/sys/fs/cgroup"};
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.' && e->d_type == DT_DIR)
      tops.push_back(std::string("/sys/fs/cgroup/") + e->d_name);
  }
  closedir(d);
  // Every hierarchy is its own mount: walk each without crossing into the others.
  for (const auto& t : tops)
    nftw(t.c_str(), visit, 16, FTW_PHYS | FTW_MOUNT);
  return out;
}

std::string leftovers(const Sandbox& sb, const std::string& id, const std::string& marker) {
  std::string out;
  reap_children();
  for (pid_t p : marked_processes(marker, id)) {
    std::string comm = read_all("/proc/" + std::to_string(p) + "/comm");
    if (!comm.empty() && comm.back() == '\n') comm.pop_back();
    out += " process " + std::to_string(p) + " (" + comm + ");";
  }
  for (const auto& m : mounts_under(sb.dir))
    out += " mount " + m + ";";
  for (const auto& c : cgroup_dirs_named(id))
    out += " cgroup " + c + ";";
  for (const auto& e : dir_entries(sb.root))
    out += " state entry " + e + ";";
  return out;
}

bool eventually(const std::function<bool()>& done, int ms) {
  double deadline = now_ms() + ms;
  for (;;) {
    if (done()) return true;
    if (now_ms() > deadline) return false;
    sleep_us(5000);
  }
}

void reap_children() {
  int status = 0;
  while (waitpid(-1, &status, WNOHANG) > 0) {
  }
}

json marked_config(const std::vector<std::string>& args, const std::string& marker) {
  static const json base = strict_config({"/bin/true"});
  json cfg = base;
  cfg["process"]["args"] = args;
  cfg["process"]["env"].push_back(std::string(kMarkerVar) + "=" + marker);
  cfg["linux"]["resources"]["memory"]["limit"] = 256 << 20;
  cfg["linux"]["resources"]["pids"]["limit"] = 64;
  cfg["linux"]["resources"]["cpu"]["shares"] = 512;
  return cfg;
}

}  // namespace nyx::test
