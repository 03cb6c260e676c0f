#define _GNU_SOURCE
/* nyx-seccomp-agent: a minimal seccomp agent for the tests of SCMP_ACT_NOTIFY. It listens on a
 * unix socket, takes the runtime-spec message (the container process state as JSON, the
 * listener fd by SCM_RIGHTS), saves the JSON to STATE_FILE and answers notified mkdir and
 * mkdirat calls with ENOMEDIUM and lets every other notified call run (as runc's example agent
 * does), until the container's processes are gone.
 *
 *   nyx-seccomp-agent SOCKET STATE_FILE
 *
 * It prints "ready" on stdout once it listens. */
#include <errno.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

static int receive(int conn, char* buf, size_t size) {
  char control[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {buf, size - 1};
  struct msghdr msg = {0};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = recvmsg(conn, &msg, 0);
  if (n <= 0) return -1;
  buf[n] = '\0';
  struct cmsghdr* cm = CMSG_FIRSTHDR(&msg);
  if (cm == NULL || cm->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(cm), sizeof fd);
  return fd;
}

static void serve(int listener) {
  for (;;) {
    struct pollfd pfd = {listener, POLLIN, 0};
    if (poll(&pfd, 1, 30000) <= 0 || (pfd.revents & (POLLHUP | POLLERR))) return;
    struct seccomp_notif req;
    struct seccomp_notif_resp resp;
    memset(&req, 0, sizeof req);
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
      if (errno == EINTR || errno == ENOENT) continue;
      return;
    }
    memset(&resp, 0, sizeof resp);
    resp.id = req.id;
    if (req.data.nr == SYS_mkdir || req.data.nr == SYS_mkdirat) {
      resp.error = -ENOMEDIUM;
    } else {
      resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    }
    ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
  }
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: nyx-seccomp-agent SOCKET STATE_FILE\n");
    return 2;
  }
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {0};
  addr.sun_family = AF_UNIX;
  snprintf(addr.sun_path, sizeof addr.sun_path, "%s", argv[1]);
  unlink(argv[1]);
  if (bind(sock, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(sock, 4) != 0) {
    perror("nyx-seccomp-agent");
    return 1;
  }
  printf("ready\n");
  fflush(stdout);
  int conn = accept4(sock, NULL, NULL, SOCK_CLOEXEC);
  if (conn < 0) return 1;
  char buf[65536];
  int listener = receive(conn, buf, sizeof buf);
  if (listener < 0) return 1;
  FILE* f = fopen(argv[2], "w");
  if (f != NULL) {
    fputs(buf, f);
    fclose(f);
  }
  serve(listener);
  unlink(argv[1]);
  return 0;
}
