#include "base/fd_passing.hpp"

#include <cstring>

namespace nyx {

void fd_message(FdMessage& m, void* data, std::size_t len, int fd) {
  m.iov = iovec{data, len};
  m.msg = msghdr{};
  m.msg.msg_iov = &m.iov;
  m.msg.msg_iovlen = 1;
  m.msg.msg_control = m.control;
  m.msg.msg_controllen = sizeof m.control;
  if (fd < 0) return;
  cmsghdr* cm = CMSG_FIRSTHDR(&m.msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cm), &fd, sizeof fd);
}

int passed_fd(const msghdr& msg) {
  int fd = -1;
  for (const cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm != nullptr;
       cm = CMSG_NXTHDR(const_cast<msghdr*>(&msg), const_cast<cmsghdr*>(cm))) {
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
      std::memcpy(&fd, CMSG_DATA(cm), sizeof fd);
    }
  }
  return fd;
}

}  // namespace nyx
