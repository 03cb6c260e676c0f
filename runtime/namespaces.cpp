#include "runtime/namespaces.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "runtime/error.hpp"

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

// Opens a namespace file and checks it is of the expected type; returns errno on failure.
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

std::string map_text(const std::vector<IdMapping>& maps) {
  std::string out;
  for (const auto& m : maps) {
    out += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " +
           std::to_string(m.size) + "\n";
  }
  return out;
}

}  // namespace

NamespaceSetup plan_namespaces(const Config& cfg, const Ablation& ablation, PlanStorage& st) {
  NamespaceSetup ns;
  ChildPlan& plan = st.plan;
  const Namespace* user = cfg.linux.find_namespace(NsType::User);
  bool join_user = user != nullptr && !user->path.empty() && !ablation.has(Ablate::UserNs);
  int unshare = 0;
  for (const Namespace& n : cfg.linux.namespaces) {
    if (ablation.namespace_ablated(n.type)) continue;
    ns.requested.push_back(n.type);
    auto type_index = static_cast<std::size_t>(n.type);
    if (n.type == NsType::Mount) ns.mount_ns = true;
    if (n.path.empty()) {
      if (n.type == NsType::User) ns.new_user = true;
      if (n.type == NsType::Mount) ns.new_mount = true;
      // A cgroup namespace is unshared after the parent has put the child into its cgroups.
      // With a joined user namespace everything is unshared in the child so that the new
      // namespaces belong to that user namespace.
      if (n.type == NsType::Cgroup || (join_user && n.type != NsType::Pid)) {
        unshare |= clone_flag(n.type);
      } else if (join_user && n.type == NsType::Pid) {
        plan.fork_for_pidns = true;
      } else {
        ns.clone_flags |= static_cast<std::uint64_t>(clone_flag(n.type));
      }
      continue;
    }
    UniqueFd fd;
    if (int err = open_namespace(n.path, n.type, fd); err != 0) {
      ns.err[type_index] = err;
      if (n.type == NsType::Mount) ns.mount_ns = false;
      continue;
    }
    if (n.type == NsType::Pid) {
      ns.pid_join = std::move(fd);
    } else if (n.type == NsType::User) {
      ns.userns_join = std::move(fd);
      plan.userns_join_fd = ns.userns_join.get();
      st.keep_fds.push_back(plan.userns_join_fd);
    } else {
      st.joins.push_back(NsJoin{fd.get(), clone_flag(n.type), static_cast<std::uint8_t>(n.type)});
      st.keep_fds.push_back(fd.get());
      ns.join_fds.push_back(std::move(fd));
    }
  }
  plan.unshare_flags = unshare;
  plan.userns_new = ns.new_user;
  plan.joins = st.joins;
  if (!cfg.hostname.empty() && !ablation.has(Ablate::UtsNs)) plan.hostname = st.keep(cfg.hostname);
  if (!cfg.domainname.empty() && !ablation.has(Ablate::UtsNs)) {
    plan.domainname = st.keep(cfg.domainname);
  }
  return ns;
}

void write_id_maps(pid_t pid, const Linux& lx, bool deny_setgroups) {
  std::string base = "/proc/" + std::to_string(pid) + "/";
  if (deny_setgroups) write_file(base + "setgroups", "deny", "linux.gidMappings");
  write_file(base + "uid_map", map_text(lx.uid_mappings), "linux.uidMappings");
  write_file(base + "gid_map", map_text(lx.gid_mappings), "linux.gidMappings");
}

}  // namespace nyx
