// The commands of the runc-compatible command line. Each returns the process exit status and
// throws Error for anything that should print one line and exit 1.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bundle/profile.hpp"
#include "runtime/container.hpp"

namespace nyx {

struct GlobalOptions {
  std::string root;
  bool systemd_cgroup = false;
};

struct RunOptions {
  CreateOptions create;
  std::string target;  // positional: an ID, or a bundle directory
  bool detach = false;
  bool keep = false;
  std::optional<double> timeout_s;
  std::string report;
};

int cmd_spec(const SpecOptions& opts, const std::string& bundle);
int cmd_create(const GlobalOptions& g, CreateOptions opts);
int cmd_start(const GlobalOptions& g, const std::string& id);
int cmd_run(const GlobalOptions& g, RunOptions opts);
// `format`: "json" (the OCI state plus nyx's record) or "table" (record_view.hpp). With `file`
// (a saved state or --report, "-" for stdin) instead of an ID, shows that.
int cmd_state(const GlobalOptions& g, const std::string& id, const std::string& format = "json",
              const std::string& file = {});
int cmd_kill(const GlobalOptions& g, const std::string& id, const std::string& signal, bool all);
int cmd_delete(const GlobalOptions& g, const std::string& id, bool force);
// Every container whose whole ID matches the extended regular expression `pattern`.
int cmd_delete_matching(const GlobalOptions& g, const std::string& pattern, bool force);
int cmd_list(const GlobalOptions& g, const std::string& format, bool quiet);
int cmd_pause(const GlobalOptions& g, const std::string& id, bool pause);
int cmd_ps(const GlobalOptions& g, const std::string& id, const std::string& format,
           const std::vector<std::string>& ps_args);
// `values` maps runc's update flags ("memory", "pids-limit", ...) to their text.
int cmd_update(const GlobalOptions& g, const std::string& id, const std::string& resources_file,
               const std::map<std::string, std::string>& values);
// runc's `events`: stats every interval (a Go duration: "5s", "100ms") and OOM events, until
// the container stops; once with `stats`.
int cmd_events(const GlobalOptions& g, const std::string& id, bool stats,
               const std::string& interval);
int cmd_features();

}  // namespace nyx
