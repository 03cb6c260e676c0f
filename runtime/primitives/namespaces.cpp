// namespaces: user, pid, mount, ipc, uts, network and cgroup, new or joined by path. New ones
// come from clone flags (or unshare in the child, after a joined user namespace); joined ones
// by setns in the child, pid by the parent around clone.
#include "runtime/primitives/namespaces.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>

#include "base/error.hpp"
#include "runtime/child_context.hpp"
#include "runtime/plan.hpp"
#include "runtime/primitive_ops.hpp"
#include "runtime/syscalls.hpp"

namespace nyx {

int clone_flag(NsType type) {
  switch (type) {
    case NsType::User:
      return CLONE_NEWUSER;
    case NsType::Pid:
      return CLONE_NEWPID;
    case NsType::Mount:
      return CLONE_NEWNS;
    case NsType::Ipc:
      return CLONE_NEWIPC;
    case NsType::Uts:
      return CLONE_NEWUTS;
    case NsType::Network:
      return CLONE_NEWNET;
    case NsType::Cgroup:
      return CLONE_NEWCGROUP;
    case NsType::Time:
      break;
  }
  return CLONE_NEWTIME;
}

namespace {

constexpr std::array<std::string_view, 7> kFiner = {"userns", "pidns", "mntns",   "ipcns",
                                                    "utsns",  "netns", "cgroupns"};

// Opens a namespace file and checks it is of the expected type; returns errno on failure
// (EINVAL: not a namespace of that type).
int open_namespace(const std::string& path, NsType type, UniqueFd& out) {
  // O_PATH first: a path naming a device or FIFO must not be opened for real (opening some
  // devices has effects, a FIFO blocks); only an nsfs file is reopened for reading.
  UniqueFd probe(::open(path.c_str(), O_PATH | O_CLOEXEC));
  if (!probe) return errno;
  struct statfs sfs {};
  if (::fstatfs(probe.get(), &sfs) != 0) return errno;
  if (sfs.f_type != NSFS_MAGIC) return EINVAL;
  std::string again = "/proc/self/fd/" + std::to_string(probe.get());
  UniqueFd fd(::open(again.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno;
  int nstype = ::ioctl(fd.get(), NS_GET_NSTYPE);
  if (nstype < 0) return errno == ENOTTY ? EINVAL : errno;
  if (nstype != clone_flag(type)) return EINVAL;
  out = std::move(fd);
  return 0;
}

void write_file(const std::string& path, const std::string& text, const std::string& object) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) throw_errno(object, "cannot open " + path);
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    throw_errno(object, "cannot write " + path);
  }
}

std::string map_text(std::span<const IdMapping> maps) {
  std::string out;
  for (const auto& m : maps) {
    out += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " +
           std::to_string(m.size) + "\n";
  }
  return out;
}

bool refused(const PlanInput& in, NsType t) {
  return (in.refused_namespaces & (1u << static_cast<unsigned>(t))) != 0;
}

// A namespace given by path: opened now, joined by the child (pid: by the parent around clone).
// One that cannot be joined is an error in every mode: the container would otherwise run in the
// runtime's own namespace of that type, which is an escape, not a degradation.
void plan_join(PlanBuilder& b, const Namespace& n, std::size_t index) {
  NamespaceSetup& ns = b.out.ns;
  UniqueFd fd;
  if (int err = open_namespace(n.path, n.type, fd); err != 0) {
    std::string object = "linux.namespaces[" + std::to_string(index) + "].path";
    if (err == EINVAL) {
      throw Error(object, "\"" + n.path + "\" is not a " + std::string(ns_type_name(n.type)) +
                              " namespace");
    }
    throw Error(object, "cannot open \"" + n.path + "\"", err);
  }
  if (n.type == NsType::Pid && b.in.join) {
    // exec: joined by the child for its children only; it forks the exec'd process at the
    // start, so that nothing of the runtime's is in the container's pid namespace before.
    b.st.joins.push_back(NsJoin{fd.get(), CLONE_NEWPID, static_cast<std::uint8_t>(n.type)});
    b.keep_fd(fd.get());
    ns.join_fds.push_back(std::move(fd));
    b.plan.fork_at_start = true;
  } else if (n.type == NsType::Pid) {
    ns.pid_join = std::move(fd);
  } else if (n.type == NsType::User) {
    ns.userns_join = std::move(fd);
    b.plan.userns_join_fd = ns.userns_join.get();
    b.keep_fd(b.plan.userns_join_fd);
  } else {
    b.st.joins.push_back(NsJoin{fd.get(), clone_flag(n.type), static_cast<std::uint8_t>(n.type)});
    b.keep_fd(fd.get());
    ns.join_fds.push_back(std::move(fd));
  }
}

// A new namespace: a clone flag, or unshared by the child when a user namespace is joined
// (so that the new ones belong to it) or for the cgroup namespace (after the cgroup joins).
void plan_new(PlanBuilder& b, NsType t, bool join_user, int& unshare) {
  NamespaceSetup& ns = b.out.ns;
  if (refused(b.in, t)) {
    b.event(Prim::Namespaces, b.in.refused_errno, static_cast<std::uint16_t>(t));
    if (t == NsType::Mount) ns.mount_ns = false;
    return;
  }
  if (t == NsType::User) ns.new_user = true;
  if (t == NsType::Cgroup || (join_user && t != NsType::Pid)) {
    unshare |= clone_flag(t);
  } else if (join_user && t == NsType::Pid) {
    b.plan.fork_for_pidns = true;
  } else {
    ns.clone_flags |= static_cast<std::uint64_t>(clone_flag(t));
  }
}

void plan_half(PlanBuilder& b) {
  const Config& cfg = b.cfg;
  NamespaceSetup& ns = b.out.ns;
  const Namespace* user = cfg.linux.find_namespace(NsType::User);
  bool join_user =
      user != nullptr && !user->path.empty() && !namespace_ablated(b.in.ablation, NsType::User);
  int unshare = 0;
  nlohmann::json types = nlohmann::json::array();
  nlohmann::json ablated = nlohmann::json::array();
  for (std::size_t i = 0; i < cfg.linux.namespaces.size(); ++i) {
    const Namespace& n = cfg.linux.namespaces[i];
    if (namespace_ablated(b.in.ablation, n.type)) {
      ablated.push_back(ns_type_name(n.type));
      continue;
    }
    ns.requested.push_back(n.type);
    types.push_back(ns_type_name(n.type));
    if (n.type == NsType::Mount) ns.mount_ns = true;
    if (n.path.empty()) {
      plan_new(b, n.type, join_user, unshare);
    } else {
      plan_join(b, n, i);
    }
  }
  b.plan.unshare_flags = unshare;
  b.plan.userns_new = ns.new_user;
  b.plan.joins = b.st.joins;
  // Without a uts namespace of its own (ablated, or refused by the host) the names are the
  // host's: never set them.
  bool uts = !namespace_ablated(b.in.ablation, NsType::Uts) && !refused(b.in, NsType::Uts);
  if (!cfg.hostname.empty() && uts) b.plan.hostname = b.st.keep(cfg.hostname);
  if (!cfg.domainname.empty() && uts) b.plan.domainname = b.st.keep(cfg.domainname);
  PrimOutcome& o = b.record(Prim::Namespaces);
  o.requested = !ns.requested.empty();
  if (o.requested) o.detail["types"] = types;
  if (!ablated.empty()) {
    o.ablated = true;
    o.detail["ablatedTypes"] = ablated;
  }
}

void failed(ChildContext& c, NsType type, int err) {
  c.record(Prim::Namespaces, err, static_cast<std::uint16_t>(type));
}

[[noreturn]] void cannot_join(ChildContext& c, NsType type, int err) {
  char msg[128];
  child::Buf(msg, sizeof msg)
      .add("namespaces: cannot join the ")
      .add(ns_type_name(type).data())
      .add(" namespace given by path");
  c.fatal_step(Prim::Namespaces, static_cast<std::uint16_t>(type), 0, msg, err);
}

void become_joined_userns_root(ChildContext& c) {
  long rc = sys::call(SYS_setresgid, 0, 0, 0);
  if (rc == 0) rc = sys::call(SYS_setresuid, 0, 0, 0);
  if (rc < 0) {
    c.fatal("namespaces: cannot become root of the joined user namespace", static_cast<int>(-rc));
  }
}

void join(ChildContext& c) {
  const ChildPlan& p = c.plan;
  if (p.userns_join_fd >= 0) {
    int err = sys::err_of(sys::call(SYS_setns, p.userns_join_fd, CLONE_NEWUSER));
    if (err != 0) cannot_join(c, NsType::User, err);
    become_joined_userns_root(c);
  }
  for (const NsJoin& j : p.joins) {
    int err = sys::err_of(sys::call(SYS_setns, j.fd, j.nstype));
    if (err != 0) cannot_join(c, static_cast<NsType>(j.type), err);
    child::close_fd(j.fd);
  }
}

void unshare_rest(ChildContext& c) {
  const ChildPlan& p = c.plan;
  if (p.unshare_flags == 0 || sys::call(SYS_unshare, p.unshare_flags) == 0) return;
  // Try one by one so the record says which ones held.
  static constexpr int kFlags[] = {CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET,
                                   CLONE_NEWCGROUP};
  static constexpr NsType kTypes[] = {NsType::Mount, NsType::Ipc, NsType::Uts, NsType::Network,
                                      NsType::Cgroup};
  for (std::size_t i = 0; i < std::size(kFlags); ++i) {
    if ((p.unshare_flags & kFlags[i]) == 0) continue;
    int err = sys::err_of(sys::call(SYS_unshare, kFlags[i]));
    if (err != 0) failed(c, kTypes[i], err);
  }
}

// A new pid namespace only applies to children: fork the init and let this process report its
// pid and exit. CLONE_PARENT makes the init a child of the runtime, which reaps it.
void fork_into_pidns(ChildContext& c) {
  int err = sys::err_of(sys::call(SYS_unshare, CLONE_NEWPID));
  if (err != 0) {
    failed(c, NsType::Pid, err);
    return;
  }
  long pid = sys::call(SYS_clone, CLONE_PARENT | SIGCHLD, 0L, 0L, 0L, 0L);
  if (pid < 0)
    c.fatal("namespaces: cannot fork into the new pid namespace", static_cast<int>(-pid));
  if (pid > 0) {
    c.report.pid = static_cast<std::int32_t>(pid);
    c.send(ChildMsg::Pid);
    c.die_quietly();
  }
  sys::call(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
}

// The names are the config's: one that cannot be set is an error.
void set_names(ChildContext& c) {
  const ChildPlan& p = c.plan;
  if (p.hostname != nullptr) {
    int err = sys::err_of(sys::call(SYS_sethostname, p.hostname, std::strlen(p.hostname)));
    if (err != 0) {
      c.fatal_step(Prim::Namespaces, static_cast<std::uint16_t>(NsType::Uts), 0,
                   "hostname: cannot set it", err);
    }
  }
  if (p.domainname != nullptr) {
    int err = sys::err_of(sys::call(SYS_setdomainname, p.domainname, std::strlen(p.domainname)));
    if (err != 0) {
      c.fatal_step(Prim::Namespaces, static_cast<std::uint16_t>(NsType::Uts), 0,
                   "domainname: cannot set it", err);
    }
  }
}

void child_half(ChildContext& c) {
  join(c);
  unshare_rest(c);
  if (c.plan.fork_for_pidns) fork_into_pidns(c);
  set_names(c);
  c.record(Prim::Namespaces, 0);
}

// A failure names its type: it leaves `types` (what held) for `failures`.
void merge(PrimOutcome& o, const StepEntry& e, std::string_view) {
  if (e.status != PrimStatus::Failed) return;
  auto type = static_cast<NsType>(e.what);
  std::string name(ns_type_name(type));
  nlohmann::json& types = o.detail["types"];
  if (types.is_array()) {
    for (auto it = types.begin(); it != types.end(); ++it) {
      if (*it == name) {
        types.erase(it);
        break;
      }
    }
  }
  nlohmann::json& failures = o.detail["failures"];
  for (const auto& f : failures) {
    if (f.value("type", "") == name) return;
  }
  failures.push_back({{"type", name}, {"errno", e.err}, {"error", errno_name(e.err)}});
}

}  // namespace

bool namespace_ablated(const Ablation& ablation, NsType type) {
  auto i = static_cast<std::size_t>(type);
  return ablation.primitive(Prim::Namespaces) || (i < kFiner.size() && ablation.has(kFiner[i]));
}

void write_id_maps(pid_t pid, const Linux& lx, bool deny_setgroups) {
  std::string base = "/proc/" + std::to_string(pid) + "/";
  if (deny_setgroups) write_file(base + "setgroups", "deny", "linux.gidMappings");
  write_id_maps(pid, lx.uid_mappings, lx.gid_mappings, "linux");
}

void write_id_maps(pid_t pid, std::span<const IdMapping> uids, std::span<const IdMapping> gids,
                   const std::string& object) {
  std::string base = "/proc/" + std::to_string(pid) + "/";
  write_file(base + "uid_map", map_text(uids), object + ".uidMappings");
  write_file(base + "gid_map", map_text(gids), object + ".gidMappings");
}

const PrimitiveOps namespaces_ops{
    .plan = plan_half,
    .child = child_half,
    .merge = merge,
    .finer_ablations = kFiner,
    .requested_when = "`linux.namespaces` (new or joined by path)",
    .fields =
        "`types`: the namespaces that held; `failures`: `[{\"type\", \"errno\", "
        "\"error\"}]`; `ablatedTypes`",
};

}  // namespace nyx
