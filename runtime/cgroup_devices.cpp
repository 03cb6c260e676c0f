// Device rules on cgroup v2: the rule list folded as the v1 devices controller folds it
// (security/device_cgroup.c: an "a" rule resets the default, a rule that agrees with the default
// narrows the exceptions, any other is added to them), then compiled into a
// BPF_PROG_TYPE_CGROUP_DEVICE program and attached to the container's cgroup.
//
// No Debian package builds such programs: libseccomp compiles seccomp filters only, and libbpf
// loads ELF objects built elsewhere (a clang -target bpf step at build time, plus libelf and
// zlib in the static binary, for a program this small). The program is a fixed shape of five
// instruction kinds, emitted by the named helpers below, checked by the kernel's verifier at
// load, and tested by loading it (tests/unit) and by containers (tests/integration).
#include "runtime/cgroup_devices.hpp"

#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/fd.hpp"

namespace nyx::cgroup {

namespace {

struct Rule {
  bool allow;
  char type;  // 'a', 'c', 'b'
  std::int64_t major;
  std::int64_t minor;
  unsigned access;
};

unsigned access_bits(std::string_view s) {
  unsigned a = 0;
  for (char c : s) {
    if (c == 'm') a |= kMknod;
    if (c == 'r') a |= kRead;
    if (c == 'w') a |= kWrite;
  }
  return a;
}

// "c 1:3 rwm", "b *:* m" (kDefaultDeviceRules).
Rule parse_default(std::string_view s) {
  Rule r{true, s[0], -1, -1, 0};
  std::size_t colon = s.find(':');
  std::size_t space = s.find(' ', colon);
  std::string_view maj = s.substr(2, colon - 2);
  std::string_view min = s.substr(colon + 1, space - colon - 1);
  if (maj != "*") r.major = std::stoll(std::string(maj));
  if (min != "*") r.minor = std::stoll(std::string(min));
  r.access = access_bits(s.substr(space + 1));
  return r;
}

void remove_access(DeviceFilter& f, const Rule& r) {
  for (auto it = f.exceptions.begin(); it != f.exceptions.end();) {
    if (it->type == r.type && it->major == r.major && it->minor == r.minor) {
      it->access &= ~r.access;
      if (it->access == 0) {
        it = f.exceptions.erase(it);
        continue;
      }
    }
    ++it;
  }
}

void add_access(DeviceFilter& f, const Rule& r) {
  for (auto& e : f.exceptions) {
    if (e.type == r.type && e.major == r.major && e.minor == r.minor) {
      e.access |= r.access;
      return;
    }
  }
  f.exceptions.push_back({r.type, r.major, r.minor, r.access});
}

void fold(DeviceFilter& f, const Rule& r) {
  if (r.type == 'a') {
    f.default_allow = r.allow;
    f.exceptions.clear();
  } else if (r.allow == f.default_allow) {
    remove_access(f, r);
  } else {
    add_access(f, r);
  }
}

bool matches(const DeviceFilter::Exception& e, char type, std::int64_t major, std::int64_t minor) {
  return e.type == type && (e.major < 0 || e.major == major) && (e.minor < 0 || e.minor == minor);
}

// The instructions, by what they do (include/uapi/linux/bpf.h, bpf_common.h).
constexpr std::uint8_t kR0 = 0, kR1 = 1, kR2 = 2, kR3 = 3, kR4 = 4, kR5 = 5;

BpfInsn load_u32(std::uint8_t dst, std::uint8_t src, std::int16_t off) {
  return {BPF_LDX | BPF_MEM | BPF_W, static_cast<std::uint8_t>(dst | (src << 4)), off, 0};
}
BpfInsn and32(std::uint8_t dst, std::int32_t imm) {
  return {BPF_ALU | BPF_AND | BPF_K, dst, 0, imm};
}
BpfInsn rsh32(std::uint8_t dst, std::int32_t imm) {
  return {BPF_ALU | BPF_RSH | BPF_K, dst, 0, imm};
}
BpfInsn mov32_reg(std::uint8_t dst, std::uint8_t src) {
  return {BPF_ALU | BPF_MOV | BPF_X, static_cast<std::uint8_t>(dst | (src << 4)), 0, 0};
}
BpfInsn mov64(std::uint8_t dst, std::int32_t imm) {
  return {BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, imm};
}
// Skips `off` instructions when the register is not / is equal to imm.
BpfInsn jump_ne(std::uint8_t dst, std::int32_t imm, std::int16_t off) {
  return {BPF_JMP | BPF_JNE | BPF_K, dst, off, imm};
}
BpfInsn jump_eq(std::uint8_t dst, std::int32_t imm, std::int16_t off) {
  return {BPF_JMP | BPF_JEQ | BPF_K, dst, off, imm};
}
BpfInsn exit_insn() {
  return {BPF_JMP | BPF_EXIT, 0, 0, 0};
}

long bpf(int cmd, bpf_attr& attr) {
  return ::syscall(SYS_bpf, cmd, &attr, sizeof attr);
}

}  // namespace

DeviceFilter device_filter(const std::vector<DeviceRule>& rules) {
  DeviceFilter f;
  for (const DeviceRule& d : rules) {
    fold(f, Rule{d.allow, d.type, d.major && *d.major >= 0 ? *d.major : -1,
                 d.minor && *d.minor >= 0 ? *d.minor : -1, access_bits(d.access)});
  }
  for (const char* s : kDefaultDeviceRules)
    fold(f, parse_default(s));
  return f;
}

bool filter_allows(const DeviceFilter& f, char type, std::int64_t major, std::int64_t minor,
                   unsigned access) {
  for (const auto& e : f.exceptions) {
    if (!matches(e, type, major, minor)) continue;
    // Default deny: an allow exception covers the request only with every bit it asks for.
    // Default allow: a deny exception refuses any request that asks for one of its bits.
    if (!f.default_allow && (access & ~e.access) == 0) return true;
    if (f.default_allow && (access & e.access) != 0) return false;
  }
  return f.default_allow;
}

std::vector<BpfInsn> device_program(const DeviceFilter& f) {
  // r2 = type (BPF_DEVCG_DEV_*), r3 = access (BPF_DEVCG_ACC_*), r4 = major, r5 = minor.
  std::vector<BpfInsn> p = {
      load_u32(kR2, kR1, offsetof(bpf_cgroup_dev_ctx, access_type)),
      and32(kR2, 0xffff),
      load_u32(kR3, kR1, offsetof(bpf_cgroup_dev_ctx, access_type)),
      rsh32(kR3, 16),
      load_u32(kR4, kR1, offsetof(bpf_cgroup_dev_ctx, major)),
      load_u32(kR5, kR1, offsetof(bpf_cgroup_dev_ctx, minor)),
  };
  for (const auto& e : f.exceptions) {
    // Each condition jumps past the rest of the block when the request is not this one; the
    // offsets are filled in once the block's length is known.
    std::vector<BpfInsn> block;
    std::vector<std::size_t> jumps;
    block.push_back(jump_ne(kR2, e.type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR, 0));
    jumps.push_back(block.size() - 1);
    block.push_back(mov32_reg(kR1, kR3));
    if (f.default_allow) {
      block.push_back(and32(kR1, static_cast<std::int32_t>(e.access)));
      block.push_back(jump_eq(kR1, 0, 0));
    } else {
      block.push_back(and32(kR1, static_cast<std::int32_t>(~e.access & 7u)));
      block.push_back(jump_ne(kR1, 0, 0));
    }
    jumps.push_back(block.size() - 1);
    if (e.major >= 0) {
      block.push_back(jump_ne(kR4, static_cast<std::int32_t>(e.major), 0));
      jumps.push_back(block.size() - 1);
    }
    if (e.minor >= 0) {
      block.push_back(jump_ne(kR5, static_cast<std::int32_t>(e.minor), 0));
      jumps.push_back(block.size() - 1);
    }
    block.push_back(mov64(kR0, f.default_allow ? 0 : 1));
    block.push_back(exit_insn());
    for (std::size_t j : jumps)
      block[j].off = static_cast<std::int16_t>(block.size() - j - 1);
    p.insert(p.end(), block.begin(), block.end());
  }
  p.push_back(mov64(kR0, f.default_allow ? 1 : 0));
  p.push_back(exit_insn());
  return p;
}

int attach_device_program(const std::string& cgroup_dir, const std::vector<DeviceRule>& rules) {
  static_assert(sizeof(BpfInsn) == sizeof(bpf_insn));
  std::vector<BpfInsn> prog = device_program(device_filter(rules));
  UniqueFd dir(::open(cgroup_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return errno;

  static const char kLicense[] = "GPL";
  bpf_attr load{};
  load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  load.insn_cnt = static_cast<std::uint32_t>(prog.size());
  load.insns = reinterpret_cast<std::uint64_t>(prog.data());
  load.license = reinterpret_cast<std::uint64_t>(kLicense);
  std::strncpy(load.prog_name, "nyx_devices", sizeof load.prog_name - 1);
  long fd = bpf(BPF_PROG_LOAD, load);
  if (fd < 0) return errno;
  UniqueFd prog_fd(static_cast<int>(fd));

  // What was attached here before (an update's older rules): replaced once the new one holds.
  std::uint32_t ids[64];
  bpf_attr query{};
  query.query.target_fd = static_cast<std::uint32_t>(dir.get());
  query.query.attach_type = BPF_CGROUP_DEVICE;
  query.query.prog_ids = reinterpret_cast<std::uint64_t>(ids);
  query.query.prog_cnt = 64;
  std::uint32_t old = bpf(BPF_PROG_QUERY, query) == 0 ? query.query.prog_cnt : 0;

  bpf_attr attach{};
  attach.target_fd = static_cast<std::uint32_t>(dir.get());
  attach.attach_bpf_fd = static_cast<std::uint32_t>(prog_fd.get());
  attach.attach_type = BPF_CGROUP_DEVICE;
  attach.attach_flags = BPF_F_ALLOW_MULTI;
  if (bpf(BPF_PROG_ATTACH, attach) != 0) return errno;

  for (std::uint32_t i = 0; i < old && i < 64; ++i) {
    bpf_attr get{};
    get.prog_id = ids[i];
    long old_fd = bpf(BPF_PROG_GET_FD_BY_ID, get);
    if (old_fd < 0) continue;
    UniqueFd ofd(static_cast<int>(old_fd));
    bpf_attr detach{};
    detach.target_fd = static_cast<std::uint32_t>(dir.get());
    detach.attach_bpf_fd = static_cast<std::uint32_t>(ofd.get());
    detach.attach_type = BPF_CGROUP_DEVICE;
    bpf(BPF_PROG_DETACH, detach);
  }
  return 0;
}

}  // namespace nyx::cgroup
