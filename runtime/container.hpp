// Creating a container (clone, plan, report, state) and the operations every command shares:
// its status, killing it, removing it.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "bundle/config.hpp"
#include "runtime/ablation.hpp"
#include "runtime/cgroups.hpp"
#include "runtime/child_abi.hpp"
#include "runtime/process.hpp"
#include "runtime/state_store.hpp"

namespace nyx {

enum class StartMode { Create, Run, RunDetached };

struct CreateOptions {
  std::string id;
  std::string bundle;
  std::string config;  // crun's --config: the config file, relative to the bundle ("config.json")
  std::string pid_file;
  std::string console_socket;
  bool no_pivot = false;
  int preserve_fds = 0;
  std::vector<int> preserved;          // which of 3..3+preserve_fds-1 the caller really had open
  std::vector<std::string> extra_env;  // added to process.env (socket activation)
  std::string notify_socket;           // the runtime's NOTIFY_SOCKET, passed on (notify_socket.hpp)
  Ablation ablation;
  bool enforce = false;
  bool systemd_cgroup = false;  // the container's cgroup is a transient systemd scope
  StartMode mode = StartMode::Create;
};

// A container whose init is waiting before execve. Owns the init's pidfd and the status socket.
struct CreatedContainer {
  std::optional<ContainerDir> dir;
  nlohmann::json state;
  Config config;
  Cgroups cgroups;
  ChildProcess init;
  UniqueFd sock;
  UniqueFd console_master;  // run with a terminal: the pty master to relay
  // Tells the init to continue: Start (execve now).
  void send(ParentMsg msg) const;
  // Makes the init outlive the runtime (clears its parent-death signal, acknowledged).
  void keep() const;
};

// Runs `create` up to the point where the init waits for start, writes the state ("created")
// and the pid file. On any error everything made so far is removed and Error is thrown.
CreatedContainer create_container(const StateStore& store, const CreateOptions& opts);

// created / running / paused / stopped / creating, from the saved pid and its start time.
std::string container_status(const ContainerDir& dir, const nlohmann::json& state);
std::string container_status(const ContainerDir& dir, const StateSummary& summary);
// The same for any phase but "creating" (which needs the recovery record), with the exec FIFO
// at `fifo_name` under `fifo_dirfd`: `list` reaches it through --root without opening the
// container's directory.
std::string live_status(const StateSummary& summary, int fifo_dirfd, const char* fifo_name);

// The state as `state ID` prints it: OCI fields plus the hardening record, in a fixed order.
nlohmann::ordered_json public_state(const nlohmann::json& state, const std::string& status);

// Writes the decimal pid, without a newline (containerd parses it with Atoi), atomically.
void write_pid_file(const std::string& path, pid_t pid);

// The hooks of the config the container was created with.
Hooks stored_hooks(const nlohmann::json& state);

// The init process if it is still the one that was started.
UniqueFd open_init(const ContainerDir& dir, const nlohmann::json* state);

// Kills every process of the container (SIGKILL) and waits for the init to be gone. Returns
// why it is not gone ("" when it is): frozen in a freezer cgroup that is not the container's
// (it cannot die until thawed), or still running when the wait ran out.
std::string kill_container(const ContainerDir& dir, const nlohmann::json* state);

// Runs poststop hooks, removes the cgroups and the state directory. The container must have
// no processes left (see kill_container).
void remove_container(const ContainerDir& dir, const nlohmann::json* state);

}  // namespace nyx
