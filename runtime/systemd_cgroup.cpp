#include "runtime/systemd_cgroup.hpp"

#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "base/error.hpp"

extern char** environ;

namespace nyx {

namespace {

bool valid_name_chars(const std::string& s) {
  if (s.empty() || s.size() > 200) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':' || c == '\\' || c == '@';
    if (!ok) return false;
  }
  return true;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Runs the helper with `args`; returns its exit status as an errno (0 on success) and its
// stderr in `message`.
int run_helper(const std::vector<std::string>& args, std::string* message) {
  std::string helper = systemd_helper();
  if (helper.empty()) {
    if (message != nullptr) *message = "the nyx-systemd helper is not installed beside nyx-runtime";
    return ENOENT;
  }
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return errno;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> argv;
  std::vector<std::string> all{helper};
  all.insert(all.end(), args.begin(), args.end());
  for (auto& a : all)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  int err = ::posix_spawn(&pid, helper.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(pipefd[1]);
  std::string text;
  if (err == 0) {
    char buf[512];
    ssize_t n;
    while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
      if (n > 0 && text.size() < 4096) text.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(pipefd[0]);
  if (err != 0) {
    if (message != nullptr) *message = "cannot run " + helper;
    return err;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  if (message != nullptr) *message = text;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return EIO;
}

std::string u64(std::uint64_t v) {
  return std::to_string(v);
}

}  // namespace

bool valid_unit_name(const std::string& unit) {
  return valid_name_chars(unit) && unit.find('/') == std::string::npos &&
         (ends_with(unit, ".scope") || ends_with(unit, ".slice")) && unit[0] != '.';
}

bool expand_slice(const std::string& slice, std::string& out) {
  out.clear();
  if (!ends_with(slice, ".slice") || !valid_name_chars(slice)) return false;
  if (slice == "-.slice") return true;
  std::string name = slice.substr(0, slice.size() - 6);
  if (name.empty() || name.front() == '-' || name.back() == '-' ||
      name.find("--") != std::string::npos) {
    return false;
  }
  // Each dash-separated prefix is a parent slice: a-b-c.slice is a.slice/a-b.slice/a-b-c.slice.
  std::string prefix;
  for (std::size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '-') {
      prefix = name.substr(0, i);
      out += "/" + prefix + ".slice";
    }
  }
  return true;
}

SystemdPath parse_systemd_path(const std::string& cgroups_path, const std::string& id) {
  std::string path = cgroups_path.empty() ? "system.slice:nyx-runtime:" + id : cgroups_path;
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    std::size_t colon = path.find(':', start);
    parts.push_back(path.substr(start, colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  if (parts.size() != 3) {
    throw Error("linux.cgroupsPath",
                "\"" + cgroups_path +
                    "\": with the systemd cgroup manager it must be \"slice:prefix:name\"");
  }
  SystemdPath sp;
  sp.slice = parts[0].empty() ? "system.slice" : parts[0];
  const std::string& name = parts[2];
  if (ends_with(name, ".slice")) {
    throw Error("linux.cgroupsPath", "\"" + cgroups_path +
                                         "\": a slice as the container's unit "
                                         "is not supported; name a scope");
  }
  sp.unit = (parts[1].empty() ? "" : parts[1] + "-") + name + ".scope";
  std::string expanded;
  if (!expand_slice(sp.slice, expanded) || !valid_unit_name(sp.unit)) {
    throw Error("linux.cgroupsPath",
                "\"" + cgroups_path + "\": invalid systemd slice or unit name");
  }
  sp.cgroup = expanded + "/" + sp.unit;
  return sp;
}

std::vector<std::string> systemd_properties(const Resources& res) {
  std::vector<std::string> p;
  auto limit = [](std::int64_t v) {
    return v < 0 ? u64(UINT64_MAX) : u64(static_cast<std::uint64_t>(v));
  };
  if (res.memory_limit) p.push_back("t:MemoryMax=" + limit(*res.memory_limit));
  if (res.memory_reservation) p.push_back("t:MemoryLow=" + limit(*res.memory_reservation));
  if (res.memory_swap && res.memory_limit && *res.memory_swap >= *res.memory_limit &&
      *res.memory_limit > 0) {
    p.push_back("t:MemorySwapMax=" +
                u64(static_cast<std::uint64_t>(*res.memory_swap - *res.memory_limit)));
  } else if (res.memory_swap && *res.memory_swap == -1) {
    p.push_back("t:MemorySwapMax=" + u64(UINT64_MAX));
  }
  if (res.pids_limit) {
    p.push_back("t:TasksMax=" + (*res.pids_limit <= 0
                                     ? u64(UINT64_MAX)
                                     : u64(static_cast<std::uint64_t>(*res.pids_limit))));
  }
  if (res.cpu_shares)
    p.push_back("t:CPUWeight=" + u64(1 + ((*res.cpu_shares - 2) * 9999) / 262142));
  if (res.cpu_quota && *res.cpu_quota > 0) {
    std::uint64_t period = res.cpu_period.value_or(100000);
    // systemd counts the quota per second, in steps of 10 ms (runc rounds the same way).
    std::uint64_t per_sec = static_cast<std::uint64_t>(*res.cpu_quota) * 1000000 / period;
    per_sec = (per_sec + 9999) / 10000 * 10000;
    p.push_back("t:CPUQuotaPerSecUSec=" + u64(per_sec));
  }
  if (res.cpu_period) p.push_back("t:CPUQuotaPeriodUSec=" + u64(*res.cpu_period));
  if (res.blkio_weight) {
    p.push_back("t:IOWeight=" + u64(1 + ((*res.blkio_weight - 10ULL) * 9999) / 990));
  }
  return p;
}

int start_systemd_scope(const std::string& unit, const std::string& slice, pid_t pid,
                        const Resources& res, std::string* message) {
  std::vector<std::string> args = {"start-scope", unit, slice, std::to_string(pid)};
  for (auto& p : systemd_properties(res))
    args.push_back(std::move(p));
  return run_helper(args, message);
}

int set_systemd_properties(const std::string& unit, const Resources& res) {
  std::vector<std::string> args = {"set-properties", unit};
  for (auto& p : systemd_properties(res))
    args.push_back(std::move(p));
  if (args.size() == 2) return 0;
  return run_helper(args, nullptr);
}

void stop_systemd_unit(const std::string& unit) {
  run_helper({"stop", unit}, nullptr);
}

std::string systemd_helper() {
  char exe[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return {};
  std::string dir(exe, static_cast<std::size_t>(n));
  dir = dir.substr(0, dir.rfind('/'));
  for (const std::string& c : {dir + "/nyx-systemd", dir + "/../libexec/nyx-runtime/nyx-systemd"}) {
    if (::access(c.c_str(), X_OK) == 0) return c;
  }
  return {};
}

}  // namespace nyx
