// build_plan: the process part (synchronisation, stdio, user, argv, env), then each primitive's
// parent half in table order.
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include <fcntl.h>
#include <unistd.h>

#include "base/error.hpp"
#include "base/passwd.hpp"
#include "runtime/path_in_root.hpp"
#include "runtime/plan.hpp"
#include "runtime/primitive_ops.hpp"

namespace nyx {

PlanBuilder::PlanBuilder(const PlanInput& input)
    : in(input),
      cfg(*input.cfg),
      out{std::make_unique<PlanStorage>()},
      st(*out.storage),
      plan(out.storage->plan) {}

bool PlanBuilder::request(Prim p) {
  PrimOutcome& o = record(p);
  if (in.ablation.primitive(p)) {
    o.ablated = true;
    o.requested = false;
  } else {
    o.requested = true;
  }
  return o.requested;
}

void PlanBuilder::event(Prim p, int err, std::uint16_t what, std::string note) {
  StepEntry e;
  e.prim = p;
  e.status = err != 0 ? PrimStatus::Failed : PrimStatus::Applied;
  e.err = err;
  e.what = what;
  out.events.push_back(ParentEvent{e, std::move(note)});
}

namespace {

void plan_sync(PlanBuilder& b) {
  const PlanInput& in = b.in;
  ChildPlan& plan = b.plan;
  plan.sock = in.status_sock;
  if (in.status_sock >= 0) b.keep_fd(in.status_sock);
  plan.exec_fifo = in.exec_fifo;
  if (in.exec_fifo >= 0) b.keep_fd(in.exec_fifo);
  plan.hooks_stop = in.hooks_stop;
  plan.join_only = in.join.has_value();
  plan.terminal = in.terminal;
  b.st.preserved = in.preserved;
  for (int fd : in.preserved)
    b.keep_fd(fd);
  plan.preserved = b.st.preserved;
}

// One entry per name, the last one given winning (an exec's --env over the container's own), in
// the order names first appear: runc's rule.
std::vector<std::string> unique_env(const std::vector<std::string>& env) {
  std::vector<std::string> out;
  for (const auto& e : env) {
    std::string_view name(e.data(), e.find('='));
    auto same = [&](const std::string& o) {
      return o.size() > name.size() && o.compare(0, name.size(), name) == 0 &&
             o[name.size()] == '=';
    };
    auto it = std::find_if(out.begin(), out.end(), same);
    if (it != out.end()) {
      *it = e;
    } else {
      out.push_back(e);
    }
  }
  return out;
}

// HOME when the process has none: the user's in the container's /etc/passwd, else "/" (runc).
std::string home_of(const std::string& rootfs, uid_t uid) {
  UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  std::optional<PasswdEntry> e;
  if (root) e = passwd_entry(root.get(), "etc/passwd", uid, true);
  return e && !e->home.empty() ? e->home : "/";
}

void plan_user(PlanBuilder& b) {
  const Process& proc = *b.cfg.process;
  PlanStorage& st = b.st;
  ChildPlan& plan = b.plan;
  plan.uid = proc.user.uid;
  plan.gid = proc.user.gid;
  st.groups.assign(proc.user.additional_gids.begin(), proc.user.additional_gids.end());
  plan.groups = st.groups;
  // An unprivileged runtime's user namespace has setgroups denied; crun's annotation
  // run.oci.keep_original_groups keeps the caller's supplementary groups.
  auto keep = b.cfg.annotations.find("run.oci.keep_original_groups");
  bool keep_groups = keep != b.cfg.annotations.end() && keep->second == "1";
  plan.set_groups = !b.in.rootless && !keep_groups;
  plan.umask = static_cast<int>(proc.user.umask.value_or(022));
  if (proc.io_priority)
    plan.ioprio = (proc.io_priority->io_class << 13) | proc.io_priority->priority;
  if (const auto& sc = proc.scheduler) {
    plan.set_scheduler = true;
    plan.sched = SchedAttr{.sched_policy = sc->policy,
                           .sched_flags = sc->flags,
                           .sched_nice = sc->nice,
                           .sched_priority = sc->priority,
                           .sched_runtime = sc->runtime,
                           .sched_deadline = sc->deadline,
                           .sched_period = sc->period};
  }
  if (b.cfg.linux.personality) plan.personality = static_cast<long>(*b.cfg.linux.personality);
  plan.cwd = st.keep(proc.cwd);
  // A missing cwd is made in the container's tree before the root change, as runc does.
  if (!b.in.join) plan.cwd_in_root = st.keep(relative_in_root(proc.cwd));
  for (const auto& a : proc.args)
    st.argv.push_back(st.keep(a));
  st.argv.push_back(nullptr);
  bool has_home = false;
  for (const auto& e : unique_env(proc.env)) {
    const char* kept = st.keep(e);
    st.envp.push_back(kept);
    if (e.rfind("PATH=", 0) == 0) plan.path_env = kept + 5;
    has_home = has_home || e.rfind("HOME=", 0) == 0;
  }
  if (!has_home) st.envp.push_back(st.keep("HOME=" + home_of(b.in.rootfs, proc.user.uid)));
  st.envp.push_back(nullptr);
  plan.argv = st.argv.data();
  plan.envp = st.envp.data();
  // What /proc/self/exe is in the child: the runtime binary (or its protected copy).
  struct stat self {};
  if (::stat("/proc/self/exe", &self) == 0) {
    plan.runtime_dev = self.st_dev;
    plan.runtime_ino = self.st_ino;
  }
}

// The runtime's environment as the kernel shows it in /proc/PID/environ: fields 50 and 51
// (env_start, env_end) of /proc/self/stat.
void caller_environment(ChildPlan& plan) {
  std::ifstream in("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::size_t at = stat.rfind(')');
  if (at == std::string::npos) return;
  std::istringstream fields(stat.substr(at + 2));
  std::string f;
  unsigned long long start = 0, end = 0;
  for (int n = 3; fields >> f; ++n) {
    if (n == 50) start = std::stoull(f);
    if (n == 51) end = std::stoull(f);
  }
  if (start == 0 || end <= start) return;
  plan.caller_env = reinterpret_cast<char*>(start);
  plan.caller_env_len = static_cast<std::size_t>(end - start);
}

// Decisions that depend on several rows.
void finish(PlanBuilder& b) {
  ChildPlan& plan = b.plan;
  static_assert(kPrimCount <= 32, "ChildPlan::requested has a bit per primitive");
  for (const PrimitiveInfo& info : kPrimitives) {
    if (b.out.planned[info.id].requested) plan.requested |= 1U << static_cast<unsigned>(info.id);
  }
  plan.wait_for_go = b.out.ns.new_user || b.in.cgroup_join_by_pid;
  // Loading a filter without no_new_privs needs CAP_SYS_ADMIN: the init keeps it until the
  // loads are done, and drops to the configured sets as the last step before execve.
  bool loads = plan.seccomp != nullptr || (plan.landlock.abi > 0 && plan.wants(Prim::Landlock));
  plan.defer_cap_drop = loads && !plan.no_new_privs && (plan.set_caps || plan.uid != 0);
  if (!b.cfg.sha256.empty()) b.out.planned.digests["config"] = b.cfg.sha256;
  if (plan.fork_at_start) caller_environment(plan);
  std::sort(b.st.keep_fds.begin(), b.st.keep_fds.end());
  plan.keep_fds = b.st.keep_fds;
}

}  // namespace

BuiltPlan build_plan(const PlanInput& in) {
  if (in.cfg == nullptr || !in.cfg->process) throw Error("process", "missing required field");
  PlanBuilder b(in);
  plan_sync(b);
  plan_user(b);
  for (const PrimitiveInfo& info : kPrimitives) {
    if (info.ops->plan != nullptr) info.ops->plan(b);
  }
  finish(b);
  return std::move(b.out);
}

}  // namespace nyx
