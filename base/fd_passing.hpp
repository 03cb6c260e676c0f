// One message carrying one file descriptor over a unix socket (SCM_RIGHTS): the init sending
// its pty master, the runtime handing it to an engine's --console-socket, and the receiving end.
// Fills buffers only; the caller makes the system call, so the init can use it without
// allocating.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>

namespace nyx {

struct FdMessage {
  iovec iov{};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
};

// A message of `len` bytes at `data`, passing `fd` (none when < 0; a receive buffer then).
void fd_message(FdMessage& m, void* data, std::size_t len, int fd);

// The fd a received message carried, or -1.
int passed_fd(const msghdr& msg);

}  // namespace nyx
