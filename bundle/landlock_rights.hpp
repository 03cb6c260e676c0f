// Landlock's access rights and scopes (the kernel's uapi, linux/landlock.h), with the names the
// runtime-spec draft (opencontainers/runtime-spec PR 1241) and the record use, and the ABI
// version that brought each. Debian 12's headers stop at ABI 2, so the bits are spelled here.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nyx::landlock {

struct Right {
  std::string_view name;
  std::uint64_t bit;
  int abi;  // the first Landlock ABI version that handles it
};

inline constexpr std::array<Right, 16> kFsRights = {{
    {"execute", 1ULL << 0, 1},
    {"write_file", 1ULL << 1, 1},
    {"read_file", 1ULL << 2, 1},
    {"read_dir", 1ULL << 3, 1},
    {"remove_dir", 1ULL << 4, 1},
    {"remove_file", 1ULL << 5, 1},
    {"make_char", 1ULL << 6, 1},
    {"make_dir", 1ULL << 7, 1},
    {"make_reg", 1ULL << 8, 1},
    {"make_sock", 1ULL << 9, 1},
    {"make_fifo", 1ULL << 10, 1},
    {"make_block", 1ULL << 11, 1},
    {"make_sym", 1ULL << 12, 1},
    {"refer", 1ULL << 13, 2},
    {"truncate", 1ULL << 14, 3},
    {"ioctl_dev", 1ULL << 15, 5},
}};

inline constexpr std::array<Right, 2> kNetRights = {{
    {"bind_tcp", 1ULL << 0, 4},
    {"connect_tcp", 1ULL << 1, 4},
}};

inline constexpr std::array<Right, 2> kScopes = {{
    {"abstract_unix_socket", 1ULL << 0, 6},
    {"signal", 1ULL << 1, 6},
}};

inline constexpr std::uint64_t kExecute = 1ULL << 0;
inline constexpr std::uint64_t kWriteFile = 1ULL << 1;
inline constexpr std::uint64_t kReadFile = 1ULL << 2;
inline constexpr std::uint64_t kReadDir = 1ULL << 3;
inline constexpr std::uint64_t kTruncate = 1ULL << 14;
inline constexpr std::uint64_t kIoctlDev = 1ULL << 15;
// The rights that apply to a file (not a directory): a rule on a file may only allow these.
inline constexpr std::uint64_t kFileRights =
    kExecute | kWriteFile | kReadFile | kTruncate | kIoctlDev;
inline constexpr std::uint64_t kReadRights = kExecute | kReadFile | kReadDir;
// What a writable mount allows beyond reading: everything but device nodes (make_char,
// make_block), which no harness needs.
inline constexpr std::uint64_t kWriteRights = kWriteFile | (1ULL << 4) | (1ULL << 5) | (1ULL << 7) |
                                              (1ULL << 8) | (1ULL << 9) | (1ULL << 10) |
                                              (1ULL << 12) | (1ULL << 13) | kTruncate | kIoctlDev;

// The rights of `table` that ABI version `abi` handles.
std::uint64_t supported(std::span<const Right> table, int abi);
// Names of the bits of `mask`, in the table's order.
std::vector<std::string> names(std::span<const Right> table, std::uint64_t mask);
std::optional<std::uint64_t> bit_of(std::span<const Right> table, std::string_view name);

}  // namespace nyx::landlock
