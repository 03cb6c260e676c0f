#include <sys/resource.h>

#include <algorithm>

#include "bundle/seccomp_groups.hpp"
#include "runtime/capabilities.hpp"
#include "runtime/error.hpp"
#include "runtime/mounts.hpp"
#include "runtime/plan_builder.hpp"

namespace nyx {

namespace {

Prim rlimit_prim(int resource) {
  switch (resource) {
    case RLIMIT_CPU:
      return Prim::RlimitCpu;
    case RLIMIT_NOFILE:
      return Prim::RlimitNofile;
    case RLIMIT_AS:
      return Prim::RlimitAs;
    default:
      return Prim::Rlimits;
  }
}

nlohmann::json limit_json(const Rlimit& r) {
  nlohmann::json j = {{"value", r.soft}};
  if (r.hard != r.soft) j["hard"] = r.hard;
  return j;
}

void plan_rlimits(const Process& proc, const Ablation& ab, PlanStorage& st, Outcome& out) {
  if (proc.rlimits.size() > kMaxRlimitSteps) throw Error("process.rlimits", "too many entries");
  for (const Rlimit& r : proc.rlimits) {
    Prim p = rlimit_prim(r.resource);
    PrimOutcome& o = out[p];
    if (ab.has(Ablate::Rlimits)) {
      o.ablated = true;
      continue;
    }
    o.requested = true;
    if (p == Prim::Rlimits) {
      o.detail["values"][r.name] = {{"soft", r.soft}, {"hard", r.hard}};
    } else {
      o.detail = limit_json(r);
    }
    st.rlimits.push_back(RlimitStep{r.resource, {r.soft, r.hard}, p});
  }
  st.plan.rlimits = st.rlimits;
}

void plan_user(const Process& proc, bool rootless, PlanStorage& st) {
  ChildPlan& plan = st.plan;
  plan.uid = proc.user.uid;
  plan.gid = proc.user.gid;
  st.groups.assign(proc.user.additional_gids.begin(), proc.user.additional_gids.end());
  plan.groups = st.groups;
  // An unprivileged runtime's user namespace has setgroups denied.
  plan.set_groups = !rootless;
  plan.umask = static_cast<int>(proc.user.umask.value_or(022));
  plan.cwd = st.keep(proc.cwd);
  for (const auto& a : proc.args)
    st.argv.push_back(st.keep(a));
  st.argv.push_back(nullptr);
  for (const auto& e : proc.env) {
    const char* kept = st.keep(e);
    st.envp.push_back(kept);
    if (e.rfind("PATH=", 0) == 0) plan.path_env = kept + 5;
  }
  st.envp.push_back(nullptr);
  plan.argv = st.argv.data();
  plan.envp = st.envp.data();
}

void plan_caps(const Process& proc, const Ablation& ab, PlanStorage& st, Outcome& out) {
  if (!proc.capabilities) return;
  PrimOutcome& o = out[Prim::Capabilities];
  if (ab.has(Ablate::Caps)) {
    o.ablated = true;
    return;
  }
  o.requested = true;
  o.detail = capabilities_json(*proc.capabilities);
  ChildPlan& plan = st.plan;
  plan.set_caps = true;
  plan.cap_bounding = proc.capabilities->bounding;
  plan.cap_effective = proc.capabilities->effective;
  plan.cap_permitted = proc.capabilities->permitted;
  plan.cap_inheritable = proc.capabilities->inheritable;
  plan.cap_ambient = proc.capabilities->ambient;
  plan.cap_last = last_capability();
}

std::vector<std::string> seccomp_ablation_allow(const Ablation& ab) {
  std::vector<std::string> out;
  auto add = [&](std::string_view group) {
    if (const SyscallGroup* g = find_syscall_group(group)) {
      for (auto name : g->syscalls)
        out.emplace_back(name);
    }
  };
  if (ab.has(Ablate::SeccompSocket)) add("net");
  if (ab.has(Ablate::SeccompSetuid)) add("setuid");
  return out;
}

void plan_seccomp(const PlanInput& in, BuiltPlan& bp) {
  const Config& cfg = *in.cfg;
  if (!cfg.linux.seccomp) return;
  PrimOutcome& o = bp.outcome[Prim::Seccomp];
  if (in.ablation.has(Ablate::Seccomp)) {
    o.ablated = true;
    return;
  }
  o.requested = true;
  SeccompOptions opts{in.enforce, seccomp_ablation_allow(in.ablation)};
  if (!opts.allow.empty()) {
    o.ablated = true;
    std::vector<std::string> fams;
    if (in.ablation.has(Ablate::SeccompSocket)) fams.emplace_back("seccomp-socket");
    if (in.ablation.has(Ablate::SeccompSetuid)) fams.emplace_back("seccomp-setuid");
    o.detail["ablatedFamilies"] = fams;
  }
  bp.seccomp = compile_seccomp(*cfg.linux.seccomp, opts);
  for (auto& w : bp.seccomp->warnings)
    bp.warnings.push_back(w);
  nlohmann::json detail = bp.seccomp->detail();
  for (const auto& [k, v] : detail.items())
    o.detail[k] = v;
  PlanStorage& st = *bp.storage;
  st.seccomp_code = bp.seccomp->code;
  st.seccomp_prog.len = static_cast<unsigned short>(st.seccomp_code.size());
  st.seccomp_prog.filter = st.seccomp_code.data();
  st.plan.seccomp = &st.seccomp_prog;
  st.plan.seccomp_flags = bp.seccomp->flags;
  // Without no_new_privs the kernel wants CAP_SYS_ADMIN to load a filter: load it before the
  // capabilities are dropped.
  st.plan.seccomp_early = !st.plan.no_new_privs;
}

bool config_has_mounts(const Config& cfg) {
  return !cfg.mounts.empty() || !cfg.linux.masked_paths.empty() ||
         !cfg.linux.readonly_paths.empty() || !cfg.linux.devices.empty();
}

void plan_filesystem(const PlanInput& in, BuiltPlan& bp) {
  const Config& cfg = *in.cfg;
  PlanStorage& st = *bp.storage;
  ChildPlan& plan = st.plan;
  bool mntns = bp.ns.mount_ns;
  PrimOutcome& mounts = bp.outcome[Prim::Mounts];
  if (config_has_mounts(cfg)) {
    if (in.ablation.has(Ablate::Mounts) ||
        (in.ablation.has(Ablate::MntNs) && cfg.linux.find_namespace(NsType::Mount) != nullptr)) {
      mounts.ablated = true;
    } else {
      mounts.requested = true;
    }
  }
  // A mount namespace of its own gets the rootfs bind-mounted and pivot_root, even when the
  // config's mounts are ablated.
  plan.mounts = mntns;
  plan.rootfs = st.keep(in.rootfs);
  plan.root_propagation = rootfs_propagation_flags(cfg.linux.rootfs_propagation);
  if (mntns && !mounts.ablated) {
    MountContext ctx{in.bundle, in.rootfs, bp.ns.new_user || static_cast<bool>(bp.ns.userns_join),
                     cfg.linux.find_namespace(NsType::Cgroup) != nullptr, in.cgroups};
    plan_mounts(cfg, ctx, st);
  } else if (mounts.requested) {
    mounts.detail["reason"] = "the container has no mount namespace";
  }
  if (!cfg.linux.sysctl.empty()) {
    bp.outcome[Prim::Sysctl].requested = true;
    for (const auto& [key, value] : cfg.linux.sysctl) {
      std::string path = "/proc/sys/" + key;
      std::replace(path.begin(), path.end(), '.', '/');
      st.sysctls.push_back(SysctlStep{st.keep(path), st.keep(value)});
    }
    plan.sysctls = st.sysctls;
  }
  PrimOutcome& root = bp.outcome[Prim::Root];
  root.requested = mntns;
  if (in.ablation.has(Ablate::Chroot)) {
    root.requested = false;
    root.ablated = true;
    plan.root_method = RootMethod::None;
  } else {
    plan.root_method = mntns && !in.no_pivot ? RootMethod::PivotRoot : RootMethod::Chroot;
  }
  plan.readonly_root = cfg.root.readonly && plan.mounts;
  if (cfg.root.readonly && !plan.mounts) {
    bp.warnings.push_back(
        "root.readonly: ignored without a mount namespace of the container's own");
  }
}

void plan_namespace_outcome(const Config& cfg, const Ablation& ab, BuiltPlan& bp) {
  PrimOutcome& o = bp.outcome[Prim::Namespaces];
  std::vector<std::string> ablated;
  for (const Namespace& n : cfg.linux.namespaces) {
    if (ab.namespace_ablated(n.type)) ablated.emplace_back(ns_type_name(n.type));
  }
  o.requested = !bp.ns.requested.empty();
  if (!ablated.empty()) {
    o.ablated = true;
    o.detail["ablatedTypes"] = ablated;
  }
}

}  // namespace

BuiltPlan build_plan(const PlanInput& in) {
  const Config& cfg = *in.cfg;
  const Process& proc = *cfg.process;
  BuiltPlan bp;
  bp.storage = std::make_unique<PlanStorage>();
  PlanStorage& st = *bp.storage;
  ChildPlan& plan = st.plan;
  st.preserved = in.preserved;
  st.keep_fds = in.preserved;
  plan.preserved = st.preserved;

  if (proc.no_new_privileges) {
    PrimOutcome& o = bp.outcome[Prim::NoNewPrivs];
    o.ablated = in.ablation.has(Ablate::Nnp);
    o.requested = !o.ablated;
    plan.no_new_privs = o.requested;
  }
  plan_rlimits(proc, in.ablation, st, bp.outcome);
  bp.ns = plan_namespaces(cfg, in.ablation, st);
  plan_namespace_outcome(cfg, in.ablation, bp);
  if (!cfg.linux.resources.empty()) bp.outcome[Prim::Cgroups].requested = true;
  plan_filesystem(in, bp);
  plan_caps(proc, in.ablation, st, bp.outcome);
  plan_user(proc, in.rootless, st);
  plan_seccomp(in, bp);
  return bp;
}

}  // namespace nyx
