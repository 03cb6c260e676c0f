#include "hooks/hooks.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/error.hpp"
#include "base/fd.hpp"
#include "bundle/config_sections.hpp"
#include "runtime/process.hpp"

namespace nyx {

namespace {

double now_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

std::vector<char*> c_strings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (const auto& s : v)
    out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// In the forked hook process: enter the container's namespaces, wire stdin, exec.
[[noreturn]] void exec_hook(const Hook& hook, int stdin_fd, pid_t enter_pid,
                            const std::string& cwd) {
  if (enter_pid > 0) {
    for (const char* ns : {"cgroup", "ipc", "uts", "net", "mnt"}) {
      std::string path = "/proc/" + std::to_string(enter_pid) + "/ns/" + ns;
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd >= 0) {
        ::setns(fd, 0);
        ::close(fd);
      }
    }
  }
  // Joining a mount namespace moves the cwd to that namespace's "/": a relative path in the
  // hook would name the host's tree (the container's root is not "/" yet when
  // createContainer runs), so the hook starts in the container root, as runc's do.
  if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) {
    std::string msg = "nyx-runtime: hook " + hook.path + ": cannot enter " + cwd + ": " +
                      std::strerror(errno) + "\n";
    [[maybe_unused]] ssize_t n = ::write(2, msg.data(), msg.size());
    ::_exit(127);
  }
  ::dup2(stdin_fd, 0);
  std::vector<std::string> args =
      hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
  auto argv = c_strings(args);
  // Without an "env" of its own a hook inherits the runtime's environment, as with runc.
  auto envp = c_strings(hook.env);
  ::execve(hook.path.c_str(), argv.data(), hook.has_env ? envp.data() : environ);
  std::string msg = "nyx-runtime: hook " + hook.path + ": " + std::strerror(errno) + "\n";
  [[maybe_unused]] ssize_t n = ::write(2, msg.data(), msg.size());
  ::_exit(127);
}

HookRun run_one(const Hook& hook, HookPoint point, const std::string& state_json, pid_t enter_pid,
                const std::string& cwd) {
  HookRun run{point, hook.path};
  double start = now_ms();
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) throw_errno("hook " + hook.path, "pipe");
  UniqueFd rd(pipefd[0]);
  UniqueFd wr(pipefd[1]);
  pid_t pid = ::fork();
  if (pid < 0) throw_errno("hook " + hook.path, "fork");
  if (pid == 0) exec_hook(hook, rd.get(), enter_pid, cwd);
  rd.reset();
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  // The hook may not read its stdin: a full pipe or EPIPE must not stop the runtime.
  ::fcntl(wr.get(), F_SETFL, O_NONBLOCK);
  signal(SIGPIPE, SIG_IGN);
  [[maybe_unused]] ssize_t n = ::write(wr.get(), state_json.data(), state_json.size());
  wr.reset();
  int timeout_ms = hook.timeout ? *hook.timeout * 1000 : -1;
  if (pidfd && !wait_exit(pidfd.get(), timeout_ms)) {
    ::kill(pid, SIGKILL);
    run.timed_out = true;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  run.exit_code = exit_code_of(status);
  run.ms = now_ms() - start;
  return run;
}

}  // namespace

std::string_view hook_point_name(HookPoint point) {
  switch (point) {
    case HookPoint::Prestart:
      return "prestart";
    case HookPoint::CreateRuntime:
      return "createRuntime";
    case HookPoint::CreateContainer:
      return "createContainer";
    case HookPoint::StartContainer:
      return "startContainer";
    case HookPoint::Poststart:
      return "poststart";
    case HookPoint::Poststop:
      break;
  }
  return "poststop";
}

const std::vector<Hook>& hooks_at(const Hooks& hooks, HookPoint point) {
  switch (point) {
    case HookPoint::Prestart:
      return hooks.prestart;
    case HookPoint::CreateRuntime:
      return hooks.create_runtime;
    case HookPoint::CreateContainer:
      return hooks.create_container;
    case HookPoint::StartContainer:
      return hooks.start_container;
    case HookPoint::Poststart:
      return hooks.poststart;
    case HookPoint::Poststop:
      break;
  }
  return hooks.poststop;
}

nlohmann::json HookRun::to_json() const {
  nlohmann::json j = {{"hook", hook_point_name(point)},
                      {"path", path},
                      {"exitCode", exit_code},
                      {"durationMs", static_cast<double>(static_cast<long>(ms * 1000)) / 1000}};
  if (timed_out) j["timedOut"] = true;
  return j;
}

void run_hooks(const Hooks& hooks, HookPoint point, const std::string& state_json, pid_t enter_pid,
               bool stop_on_failure, std::vector<HookRun>& runs, const std::string& cwd) {
  for (const Hook& hook : hooks_at(hooks, point)) {
    runs.push_back(run_one(hook, point, state_json, enter_pid, cwd));
    const HookRun& r = runs.back();
    if (r.ok()) continue;
    std::string what = r.timed_out ? "timed out after " + std::to_string(*hook.timeout) + "s"
                                   : "exited with status " + std::to_string(r.exit_code);
    if (stop_on_failure) {
      throw Error(std::string(hook_point_name(point)) + " hook " + hook.path, what);
    }
  }
}

Hooks hooks_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return {};
  try {
    const json_reader::Path root;
    return parse_hooks(j, root / "hooks");
  } catch (const Error&) {
    return {};
  }
}

}  // namespace nyx
