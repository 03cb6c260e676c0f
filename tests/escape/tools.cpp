// What the CVE fixtures share: detached containers, `exec`, and the racing second process.
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "tests/escape/matrix.hpp"

namespace nyx::escape {

Detached run_detached(Env& env, const Launch& l) {
  Detached d;
  d.id = l.id.empty() ? env.new_id("d") : l.id;
  d.out_file = env.sb.dir + "/" + d.id + ".out";
  std::string pid_file = env.sb.dir + "/" + d.id + ".pid";
  json cfg = l.config;
  cfg["process"]["args"] = l.args;
  env.sb.write_config(cfg);
  std::vector<std::string> argv = l.wrapper;
  for (const auto& a : self_wrapper({"out", d.out_file}))
    argv.push_back(a);
  for (const auto& a :
       env.sb.nyx_argv({"run", "--bundle", env.sb.bundle, "--detach", "--pid-file", pid_file})) {
    argv.push_back(a);
  }
  if (!l.ablate.empty()) argv.insert(argv.end(), {"--ablate", l.ablate});
  argv.insert(argv.end(), l.flags.begin(), l.flags.end());
  argv.push_back(d.id);
  d.res = test::run(argv, "", l.timeout_s);
  std::ifstream in(pid_file);
  if (!(in >> d.pid)) d.pid = -1;
  if (d.res.status != 0) d.res.err = read_text(d.out_file);
  unlink(pid_file.c_str());
  return d;
}

bool wait_gone(pid_t pid, double secs) {
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return true;
  pollfd p{fd, POLLIN, 0};
  int rc = poll(&p, 1, static_cast<int>(secs * 1000));
  close(fd);
  return rc > 0;
}

json state_of(Env& env, const std::string& id) {
  return env.sb.state(id);
}

void remove_container(Env& env, const std::string& id) {
  env.sb.nyx({"delete", "--force", id});
}

std::vector<json> lines_of(const std::string& file) {
  return test::json_lines(read_text(file));
}

test::Result nyx_exec(Env& env, const std::vector<std::string>& args,
                      const std::vector<std::string>& wrapper, int timeout_s) {
  std::vector<std::string> argv = wrapper;
  std::vector<std::string> exec = {"exec"};
  exec.insert(exec.end(), args.begin(), args.end());
  for (const auto& a : env.sb.nyx_argv(exec))
    argv.push_back(a);
  return test::run(argv, "", timeout_s);
}

struct Flipper::Impl {
  std::string a, b;
  std::atomic<bool> stop{false};
  std::atomic<long> flips{0};
  std::thread thread;
};

Flipper::Flipper(std::string a, std::string b) : impl_(new Impl) {
  impl_->a = std::move(a);
  impl_->b = std::move(b);
  impl_->thread = std::thread([i = impl_] {
    while (!i->stop.load(std::memory_order_relaxed)) {
      if (renameat2(AT_FDCWD, i->a.c_str(), AT_FDCWD, i->b.c_str(), RENAME_EXCHANGE) == 0) {
        i->flips.fetch_add(1, std::memory_order_relaxed);
      }
    }
  });
}

Flipper::~Flipper() {
  impl_->stop = true;
  impl_->thread.join();
  delete impl_;
}

long Flipper::flips() const {
  return impl_->flips.load();
}

}  // namespace nyx::escape
