// Device rules (linux.resources.devices): the rules every container gets, the kernel's v1
// semantics of a rule list, and on cgroup v2 the eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE)
// that enforces them. docs/engines.md says why nyx generates that program itself.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bundle/config.hpp"

namespace nyx::cgroup {

// The nodes every container gets in its /dev stay usable, as with runc and crun (v1 syntax).
inline constexpr const char* kDefaultDeviceRules[] = {
    "c *:* m",   "b *:* m",   "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm",  "c 1:8 rwm",
    "c 1:9 rwm", "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm"};

// What a rule list amounts to, as the v1 devices controller computes it: a default and the
// exceptions to it (each with the opposite action), in the order they were added.
struct DeviceFilter {
  bool default_allow = true;  // a new cgroup allows every device
  struct Exception {
    char type;           // 'c', 'b' or 'a' (both)
    std::int64_t major;  // -1: any
    std::int64_t minor;  // -1: any
    unsigned access;     // DevAccess bits
  };
  std::vector<Exception> exceptions;
};

enum DevAccess : unsigned { kMknod = 1, kRead = 2, kWrite = 4 };

// The config's rules followed by kDefaultDeviceRules, folded like the v1 kernel does.
DeviceFilter device_filter(const std::vector<DeviceRule>& rules);

// One eBPF instruction (struct bpf_insn's layout).
struct BpfInsn {
  std::uint8_t code;
  std::uint8_t dst_src;  // dst in the low nibble, src in the high one
  std::int16_t off;
  std::int32_t imm;
};
// The program: for each exception in order, a request of that type and number whose access is
// all within the exception's takes its action; anything else takes the default.
std::vector<BpfInsn> device_program(const DeviceFilter& f);

// Loads the program for `rules` and attaches it to the cgroup directory, replacing the
// programs attached there before; 0 or the errno (the host has no BPF cgroup-device support,
// or refuses it).
int attach_device_program(const std::string& cgroup_dir, const std::vector<DeviceRule>& rules);

// A device request (access bits, 'c' or 'b', numbers) run through the filter's semantics:
// what the program answers. For tests and the record.
bool filter_allows(const DeviceFilter& f, char type, std::int64_t major, std::int64_t minor,
                   unsigned access);

}  // namespace nyx::cgroup
