// seccomp: linux.seccomp compiled by libseccomp in the parent and exported as BPF; the child
// checks before its report that the kernel will take it, and loads it last, after the start.
#include "runtime/primitives/seccomp.hpp"

#include <linux/capability.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <memory>

#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/sha256.hpp"
#include "bundle/seccomp_groups.hpp"
#include "runtime/child_context.hpp"
#include "runtime/plan.hpp"
#include "runtime/primitive_ops.hpp"
#include "runtime/syscalls.hpp"

namespace nyx {

namespace {

struct CtxDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using Ctx = std::unique_ptr<void, CtxDeleter>;

// A missing errnoRet means EPERM, for the default action and for every rule alike: runc and
// crun never let a rule inherit defaultErrnoRet, and configs written for them rely on that.
std::uint32_t to_action(const std::string& name, std::optional<std::uint32_t> errno_ret) {
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(errno_ret.value_or(EPERM));
  if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(errno_ret.value_or(EPERM));
  if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  if (name == "SCMP_ACT_NOTIFY") return SCMP_ACT_NOTIFY;
  return SCMP_ACT_ALLOW;
}

scmp_compare to_op(const std::string& op) {
  if (op == "SCMP_CMP_NE") return SCMP_CMP_NE;
  if (op == "SCMP_CMP_LT") return SCMP_CMP_LT;
  if (op == "SCMP_CMP_LE") return SCMP_CMP_LE;
  if (op == "SCMP_CMP_GE") return SCMP_CMP_GE;
  if (op == "SCMP_CMP_GT") return SCMP_CMP_GT;
  if (op == "SCMP_CMP_MASKED_EQ") return SCMP_CMP_MASKED_EQ;
  return SCMP_CMP_EQ;
}

std::uint32_t to_arch(const std::string& name) {
  std::string lower;
  for (char c : name.substr(10))
    lower += static_cast<char>(std::tolower(c));
  return seccomp_arch_resolve_name(lower.c_str());
}

unsigned to_flags(const std::vector<std::string>& flags) {
  unsigned out = 0;
  for (const auto& f : flags) {
    if (f == "SECCOMP_FILTER_FLAG_LOG") out |= SECCOMP_FILTER_FLAG_LOG;
    if (f == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") out |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    if (f == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV")
      out |= SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
    // TSYNC is meaningless for the single-threaded init.
  }
  return out;
}

// Adds one rule; libseccomp refuses two comparisons of the same argument in one rule, so such
// lists become one rule per comparison (OR), as runc and crun do.
int add_rule(scmp_filter_ctx ctx, std::uint32_t action, int nr, const SeccompRule& rule) {
  std::vector<scmp_arg_cmp> cmps;
  for (const auto& a : rule.args) {
    cmps.push_back(scmp_arg_cmp{a.index, to_op(a.op), a.value, a.value_two});
  }
  bool same_index = cmps.size() > 1 && std::all_of(cmps.begin(), cmps.end(), [&](const auto& c) {
                      return c.arg == cmps[0].arg;
                    });
  if (!same_index) {
    return seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(cmps.size()), cmps.data());
  }
  for (const auto& c : cmps) {
    if (int rc = seccomp_rule_add_array(ctx, action, nr, 1, &c); rc != 0) return rc;
  }
  return 0;
}

std::vector<sock_filter> export_bpf(scmp_filter_ctx ctx) {
  UniqueFd mem(::memfd_create("nyx-seccomp", MFD_CLOEXEC));
  if (!mem) throw_errno("linux.seccomp", "memfd_create");
  if (int rc = seccomp_export_bpf(ctx, mem.get()); rc != 0) {
    throw Error("linux.seccomp", "cannot export the filter", -rc);
  }
  off_t size = ::lseek(mem.get(), 0, SEEK_END);
  std::vector<sock_filter> code(static_cast<std::size_t>(size) / sizeof(sock_filter));
  if (::pread(mem.get(), code.data(), code.size() * sizeof(sock_filter), 0) != size) {
    throw_errno("linux.seccomp", "cannot read the exported filter");
  }
  return code;
}

}  // namespace

nlohmann::json CompiledSeccomp::detail() const {
  nlohmann::json d = {{"rules", rules}, {"defaultAction", default_action}};
  if (!unknown.empty()) d["unknownSyscalls"] = unknown;
  if (!notify.empty()) d["notify"] = {{"syscalls", notify}, {"listenerPath", listener_path}};
  return d;
}

CompiledSeccomp compile_seccomp(const Seccomp& cfg, const SeccompOptions& opts) {
  CompiledSeccomp out;
  out.default_action = cfg.default_action;
  std::uint32_t def = to_action(cfg.default_action, cfg.default_errno_ret);
  Ctx ctx(seccomp_init(def));
  if (!ctx)
    throw Error("linux.seccomp.defaultAction", "libseccomp refused \"" + cfg.default_action + "\"");
  // nyx sets no_new_privs itself (or deliberately not): the filter must not imply it.
  seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0);
  for (std::size_t i = 0; i < cfg.architectures.size(); ++i) {
    int rc = seccomp_arch_add(ctx.get(), to_arch(cfg.architectures[i]));
    if (rc != 0 && rc != -EEXIST) {
      throw Error("linux.seccomp.architectures[" + std::to_string(i) + "]", "cannot add", -rc);
    }
  }
  for (std::size_t i = 0; i < cfg.syscalls.size(); ++i) {
    const SeccompRule& rule = cfg.syscalls[i];
    std::uint32_t action = to_action(rule.action, rule.errno_ret);
    for (const auto& name : rule.names) {
      // Ablation re-allows a family: its own rules below replace the config's.
      if (std::find(opts.allow.begin(), opts.allow.end(), name) != opts.allow.end()) continue;
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) {
        if (opts.enforce) {
          throw Error("linux.seccomp.syscalls[" + std::to_string(i) + "].names",
                      "unknown syscall \"" + name + "\"");
        }
        if (std::find(out.unknown.begin(), out.unknown.end(), name) == out.unknown.end()) {
          out.unknown.push_back(name);
        }
        continue;
      }
      // libseccomp rejects a rule that repeats the default action (full action, errno
      // included); such a rule changes nothing, but its names are still checked above.
      if (action == def) continue;
      if (rule.action == "SCMP_ACT_NOTIFY") out.notify.push_back(name);
      if (int rc = add_rule(ctx.get(), action, nr, rule); rc != 0) {
        throw Error("linux.seccomp.syscalls[" + std::to_string(i) + "]",
                    "cannot add a rule for \"" + name + "\"", -rc);
      }
      ++out.rules;
    }
  }
  for (const auto& name : opts.allow) {
    int nr = seccomp_syscall_resolve_name(name.c_str());
    if (nr == __NR_SCMP_ERROR || def == SCMP_ACT_ALLOW) continue;
    if (seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, nr, 0) == 0) ++out.rules;
  }
  if (!out.unknown.empty()) {
    std::string list;
    for (const auto& n : out.unknown)
      list += (list.empty() ? "" : ", ") + n;
    out.warnings.push_back("linux.seccomp: skipped syscalls unknown to libseccomp: " + list);
  }
  out.flags = to_flags(cfg.flags);
  if (!out.notify.empty()) {
    out.flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    out.listener_path = cfg.listener_path;
  }
  out.code = export_bpf(ctx.get());
  return out;
}

namespace {

constexpr std::array<std::string_view, 2> kFiner = {"seccomp-socket", "seccomp-setuid"};

// --ablate seccomp-socket / seccomp-setuid: those families are allowed again.
std::vector<std::string> ablated_families(const Ablation& ab, std::vector<std::string>& names) {
  std::vector<std::string> out;
  auto add = [&](std::string_view ablation, std::string_view group) {
    if (!ab.has(ablation)) return;
    names.emplace_back(ablation);
    if (const SyscallGroup* g = find_syscall_group(group)) {
      for (auto name : g->syscalls)
        out.emplace_back(name);
    }
  };
  add("seccomp-socket", "net");
  add("seccomp-setuid", "setuid");
  return out;
}

void plan_half(PlanBuilder& b) {
  const Config& cfg = b.cfg;
  if (!cfg.linux.seccomp || !b.request(Prim::Seccomp)) return;
  PrimOutcome& o = b.record(Prim::Seccomp);
  std::vector<std::string> families;
  SeccompOptions opts{b.in.enforce, ablated_families(b.in.ablation, families)};
  if (!families.empty()) {
    o.ablated = true;
    o.detail["ablatedFamilies"] = families;
  }
  CompiledSeccomp compiled = compile_seccomp(*cfg.linux.seccomp, opts);
  for (auto& w : compiled.warnings)
    b.warn(std::move(w));
  nlohmann::json detail = compiled.detail();
  for (const auto& [k, v] : detail.items())
    o.detail[k] = v;
  PlanStorage& st = b.st;
  st.seccomp_code = std::move(compiled.code);
  st.seccomp_prog.len = static_cast<unsigned short>(st.seccomp_code.size());
  st.seccomp_prog.filter = st.seccomp_code.data();
  b.plan.seccomp = &st.seccomp_prog;
  b.out.planned.digests["seccomp"] =
      Sha256().add(st.seccomp_code.data(), st.seccomp_code.size() * sizeof(sock_filter)).hex();
  b.plan.seccomp_flags = compiled.flags;
}

// What the load will say, asked before the report so that the record is true when it goes:
// a NULL program makes the kernel check the flags and stop at EFAULT, and without
// no_new_privs the load needs CAP_SYS_ADMIN.
int preflight(const ChildPlan& p) {
  long rc = sys::call(SYS_seccomp, SECCOMP_SET_MODE_FILTER, p.seccomp_flags, 0L);
  if (rc == -ENOSYS && p.seccomp_flags == 0) {
    rc = sys::call(SYS_prctl, PR_GET_SECCOMP, 0, 0, 0, 0);
    if (rc >= 0) rc = -EFAULT;
  }
  if (rc != -EFAULT) return rc < 0 ? static_cast<int>(-rc) : EINVAL;
  if (!child::may_confine_self()) return EACCES;
  return 0;
}

// A filter with SCMP_ACT_NOTIFY rules is loaded now, not after the start: its listener fd
// must reach the agent before `create` returns, through the parent. The init's last calls
// (the report, the wait for start, execve) then run under it (docs/seccomp.md).
void load_with_listener(ChildContext& c) {
  const ChildPlan& p = c.plan;
  long fd = sys::call(SYS_seccomp, SECCOMP_SET_MODE_FILTER, p.seccomp_flags, p.seccomp);
  if (fd < 0) {
    c.record(Prim::Seccomp, static_cast<int>(-fd));
    return;
  }
  if (!c.send_fd(ChildMsg::SeccompListener, static_cast<int>(fd))) {
    c.fatal("linux.seccomp: cannot hand the listener to the runtime", EPIPE);
  }
  // Not closed here: close(2) may be a notified call, which would wait for an agent that has
  // not got the listener yet (runc's "important syscalls" test). The kernel made it
  // close-on-exec, so execve drops it and the harness never holds it.
  c.record(Prim::Seccomp, 0);
}

void child_half(ChildContext& c) {
  if (c.plan.seccomp == nullptr) return;
  int err = preflight(c.plan);
  if (err == 0 && (c.plan.seccomp_flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) != 0) {
    load_with_listener(c);
    return;
  }
  c.record(Prim::Seccomp, err);
  if (err == 0) c.ready(Prim::Seccomp);
}

int commit(ChildContext& c) {
  const ChildPlan& p = c.plan;
  long rc = sys::call(SYS_seccomp, SECCOMP_SET_MODE_FILTER, p.seccomp_flags, p.seccomp);
  if (rc == -ENOSYS && p.seccomp_flags == 0) {
    rc = sys::call(SYS_prctl, PR_SET_SECCOMP, SECCOMP_MODE_FILTER, p.seccomp, 0, 0);
  }
  return sys::err_of(rc);
}

}  // namespace

const PrimitiveOps seccomp_ops{
    .plan = plan_half,
    .child = child_half,
    .commit = commit,
    .finer_ablations = kFiner,
    .requested_when = "`linux.seccomp`",
    .fields =
        "`rules` loaded, `defaultAction`, `unknownSyscalls` skipped, `ablatedFamilies`, "
        "`notify`: `{\"syscalls\", \"listenerPath\"}` for SCMP_ACT_NOTIFY rules",
};

}  // namespace nyx
