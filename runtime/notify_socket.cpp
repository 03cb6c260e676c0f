#include "runtime/notify_socket.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string_view>

#include "base/error.hpp"
#include "bundle/config.hpp"
#include "runtime/log.hpp"

namespace nyx {

namespace {

constexpr const char* kDirName = "notify";
constexpr const char* kSocketName = "notify";

std::string container_socket(const std::string& host_socket) {
  return host_socket + "/" + kSocketName;
}

// An address for `name` in the directory `dirfd`, through /proc/self/fd: a state root or a
// host socket path too long for sun_path still fits.
sockaddr_un address_in(int dirfd, const std::string& name) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::string path = "/proc/self/fd/" + std::to_string(dirfd) + "/" + name;
  if (path.size() >= sizeof a.sun_path) throw Error("NOTIFY_SOCKET", "socket name too long");
  std::copy(path.begin(), path.end(), a.sun_path);
  return a;
}

bool says_ready(std::string_view msg) {
  std::size_t at = 0;
  while (at <= msg.size()) {
    std::size_t end = msg.find('\n', at);
    if (end == std::string_view::npos) end = msg.size();
    if (msg.substr(at, end - at) == "READY=1") return true;
    at = end + 1;
  }
  return false;
}

class HostSocket {
 public:
  explicit HostSocket(const std::string& path) {
    std::size_t slash = path.rfind('/');
    dir_.reset(
        ::open(slash == 0 ? "/" : path.substr(0, slash).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    name_ = path.substr(slash + 1);
    sock_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  }
  // Best effort, as sd_notify is: a manager that went away is not the container's failure.
  void send(std::string_view msg) const {
    if (!dir_ || !sock_) return;
    sockaddr_un a = address_in(dir_.get(), name_);
    // Never blocking: a manager that stops reading must not hold the runtime.
    if (::sendto(sock_.get(), msg.data(), msg.size(), MSG_NOSIGNAL | MSG_DONTWAIT,
                 reinterpret_cast<const sockaddr*>(&a), sizeof a) < 0) {
      log::warn("NOTIFY_SOCKET: cannot pass the container's notification on: " +
                std::string(errno_name(errno)));
    }
  }

 private:
  UniqueFd dir_;
  UniqueFd sock_;
  std::string name_;
};

}  // namespace

std::optional<std::string> notify_socket_from_env() {
  const char* v = std::getenv("NOTIFY_SOCKET");
  if (v == nullptr || *v == '\0') return std::nullopt;
  std::string path = v;
  while (path.size() > 1 && path.back() == '/')
    path.pop_back();
  // An abstract socket ("@name") lives in the host's network namespace, out of the container's
  // reach: only a path can be passed on. The variable may be inherited, not meant for us, so
  // the container runs without it rather than not at all.
  const char* why = nullptr;
  if (path[0] != '/') {
    why = "not an absolute path";
  } else if (container_socket(path).size() >= sizeof(sockaddr_un{}.sun_path)) {
    why = "too long for a socket address in the container";
  }
  if (why == nullptr) return path;
  log::warn("NOTIFY_SOCKET \"" + path + "\": " + why + ": not passed on to the container");
  return std::nullopt;
}

NotifyDir::NotifyDir(const StateStore& store, std::string host_socket, Config& cfg)
    : store_(store), name_(store.make_private_dir(0755)) {
  char* root = ::realpath(store.root().c_str(), nullptr);
  if (root == nullptr) {
    int err = errno;
    store_.remove_private_dir(name_);
    throw Error(store.root(), "cannot resolve the state root", err);
  }
  std::string source = std::string(root) + "/" + name_;
  std::free(root);
  // The directory, not the socket: `start` binds the socket afresh inside it, and the
  // container sees whichever socket is there then.
  cfg.mounts.push_back(Mount{.destination = host_socket,
                             .type = "bind",
                             .source = source,
                             .options = {"bind", "nosuid", "nodev", "noexec"}});
  auto& env = cfg.process->env;
  std::erase_if(env, [](const std::string& e) { return e.rfind("NOTIFY_SOCKET=", 0) == 0; });
  env.push_back("NOTIFY_SOCKET=" + container_socket(host_socket));
}

NotifyDir::~NotifyDir() {
  if (!name_.empty()) store_.remove_private_dir(name_);
}

void NotifyDir::move_into(const ContainerDir& dir) {
  store_.adopt_private_dir(name_, dir, kDirName);
  name_.clear();
}

std::string notify_host_socket(const nlohmann::json& state) {
  return state.value("nyx", nlohmann::json::object()).value("notifySocket", "");
}

UniqueFd bind_notify_socket(const ContainerDir& dir, const nlohmann::json& state) {
  if (notify_host_socket(state).empty()) return {};
  std::string object = container_object(dir.id()) + ": NOTIFY_SOCKET";
  UniqueFd sdir(::openat(dir.fd(), kDirName, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!sdir) throw_errno(object, "cannot open " + dir.path() + "/" + kDirName);
  ::unlinkat(sdir.get(), kSocketName, 0);  // an earlier start's, or a create's
  UniqueFd sock(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_un a = address_in(sdir.get(), kSocketName);
  if (!sock || ::bind(sock.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    throw_errno(object, "cannot bind " + dir.path() + "/" + kDirName + "/" + kSocketName);
  }
  // Any user of the container may be the service that reports; the directory's bind mount is
  // the only way to the socket.
  if (::fchmodat(sdir.get(), kSocketName, 0777, 0) != 0) throw_errno(object, "chmod");
  return sock;
}

void forward_notify(int sock, const std::string& host_socket, pid_t pid, int pidfd,
                    bool until_ready) {
  HostSocket host(host_socket);
  char buf[4096];
  // Returns true when forwarding is over.
  auto pass_on = [&](int flags) {
    ssize_t len = ::recv(sock, buf, sizeof buf, flags);
    if (len < 0) return errno != EAGAIN && errno != EINTR;
    std::string_view msg(buf, static_cast<std::size_t>(len));
    host.send(msg);
    if (!says_ready(msg)) return false;
    // After the message itself: a manager that reads one datagram sees what the service said.
    host.send("MAINPID=" + std::to_string(pid));
    return until_ready;
  };
  for (;;) {
    pollfd fds[2] = {{sock, POLLIN, 0}, {pidfd, POLLIN, 0}};
    int n = ::poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return;
    if ((fds[0].revents & POLLIN) != 0) {
      if (pass_on(MSG_DONTWAIT)) return;
    } else if (fds[0].revents != 0) {
      return;
    }
    if (fds[1].revents != 0) {
      // The init is gone: what it said last is queued already (a datagram is queued before
      // sendto returns), so pass that on and stop.
      while (::recv(sock, buf, 0, MSG_DONTWAIT | MSG_PEEK) >= 0) {
        if (pass_on(MSG_DONTWAIT)) return;
      }
      return;
    }
  }
}

}  // namespace nyx
