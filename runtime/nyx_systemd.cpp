// nyx-systemd: the systemd cgroup driver's D-Bus conversation, through sd-bus (libsystemd).
// nyx-runtime is a static binary and Debian ships libsystemd as a shared library only, so this
// small dynamically linked helper, installed beside it, is what talks to the manager
// (runtime/systemd_cgroup.cpp runs it; docs/engines.md, "systemd"). As root it talks to the
// system manager, otherwise to the user's own (a rootless container in a delegated cgroup).
//
//   nyx-systemd start-scope UNIT SLICE PID [T:Name=Value...]   a transient scope with PID in it
//   nyx-systemd set-properties UNIT [T:Name=Value...]          update's unit properties
//   nyx-systemd stop UNIT                                      stop it, forget a failed state
//
// T is the D-Bus type of the value: t (uint64), u (uint32), b (boolean: true/false), s.
// Exit status 0, or an errno with one line on stderr saying what systemd answered.
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr const char* kDest = "org.freedesktop.systemd1";
constexpr const char* kPath = "/org/freedesktop/systemd1";
constexpr const char* kManager = "org.freedesktop.systemd1.Manager";
constexpr std::uint64_t kTimeoutUsec = 30ULL * 1000 * 1000;

int fail(int r, const std::string& what, const sd_bus_error* e = nullptr) {
  int err = r < 0 ? -r : (r > 0 ? r : EIO);
  std::string msg = what;
  if (e != nullptr && sd_bus_error_is_set(e))
    msg += ": " + std::string(e->message ? e->message : e->name);
  else
    msg += std::string(": ") + std::strerror(err);
  std::fprintf(stderr, "%s\n", msg.c_str());
  return err > 255 ? EIO : err;
}

int open_bus(sd_bus** bus) {
  return ::geteuid() == 0 ? sd_bus_open_system(bus) : sd_bus_open_user(bus);
}

// "t:MemoryMax=67108864" appended as a (sv) pair.
int append_property(sd_bus_message* m, const std::string& spec) {
  std::size_t colon = spec.find(':'), eq = spec.find('=');
  if (colon != 1 || eq == std::string::npos || eq < 3) return -EINVAL;
  char type = spec[0];
  std::string name = spec.substr(2, eq - 2);
  std::string value = spec.substr(eq + 1);
  switch (type) {
    case 't':
      return sd_bus_message_append(
          m, "(sv)", name.c_str(), "t",
          static_cast<std::uint64_t>(std::strtoull(value.c_str(), nullptr, 10)));
    case 'u':
      return sd_bus_message_append(
          m, "(sv)", name.c_str(), "u",
          static_cast<std::uint32_t>(std::strtoul(value.c_str(), nullptr, 10)));
    case 'b':
      return sd_bus_message_append(m, "(sv)", name.c_str(), "b", value == "true" ? 1 : 0);
    case 's':
      return sd_bus_message_append(m, "(sv)", name.c_str(), "s", value.c_str());
    default:
      return -EINVAL;
  }
}

struct JobWait {
  std::string path;
  bool done = false;
  std::string result;
};

int on_job_removed(sd_bus_message* m, void* userdata, sd_bus_error*) {
  auto* w = static_cast<JobWait*>(userdata);
  std::uint32_t id = 0;
  const char *path = nullptr, *unit = nullptr, *result = nullptr;
  if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0) return 0;
  if (path != nullptr && w->path == path) {
    w->done = true;
    w->result = result != nullptr ? result : "";
  }
  return 0;
}

// Waits for the job `reply` names to finish; returns its result ("done" is success).
int wait_job(sd_bus* bus, sd_bus_message* reply, JobWait& w) {
  const char* job = nullptr;
  int r = sd_bus_message_read(reply, "o", &job);
  if (r < 0) return r;
  w.path = job;
  for (int rounds = 0; !w.done; ++rounds) {
    r = sd_bus_process(bus, nullptr);
    if (r < 0) return r;
    if (r > 0) continue;
    if (rounds > 300) return -ETIMEDOUT;
    r = sd_bus_wait(bus, 100000);
    if (r < 0) return r;
  }
  return 0;
}

std::string active_state(sd_bus* bus, const std::string& unit) {
  sd_bus_error e = SD_BUS_ERROR_NULL;
  sd_bus_message* reply = nullptr;
  std::string state;
  if (sd_bus_call_method(bus, kDest, kPath, kManager, "GetUnit", &e, &reply, "s", unit.c_str()) >=
      0) {
    const char* path = nullptr;
    if (sd_bus_message_read(reply, "o", &path) >= 0) {
      char* s = nullptr;
      sd_bus_error e2 = SD_BUS_ERROR_NULL;
      if (sd_bus_get_property_string(bus, kDest, path, "org.freedesktop.systemd1.Unit",
                                     "ActiveState", &e2, &s) >= 0) {
        state = s;
        std::free(s);
      }
      sd_bus_error_free(&e2);
    }
  }
  sd_bus_message_unref(reply);
  sd_bus_error_free(&e);
  return state;
}

void reset_failed(sd_bus* bus, const std::string& unit) {
  sd_bus_error e = SD_BUS_ERROR_NULL;
  sd_bus_call_method(bus, kDest, kPath, kManager, "ResetFailedUnit", &e, nullptr, "s",
                     unit.c_str());
  sd_bus_error_free(&e);
}

int start_scope(sd_bus* bus, const std::string& unit, const std::string& slice, std::uint32_t pid,
                const std::vector<std::string>& props) {
  JobWait w;
  sd_bus_slot* slot = nullptr;
  int r = sd_bus_match_signal(bus, &slot, kDest, kPath, kManager, "JobRemoved", on_job_removed, &w);
  if (r < 0) return fail(r, "cannot watch systemd's jobs");
  for (int attempt = 0;; ++attempt) {
    sd_bus_message* m = nullptr;
    r = sd_bus_message_new_method_call(bus, &m, kDest, kPath, kManager, "StartTransientUnit");
    if (r >= 0) r = sd_bus_message_append(m, "ss", unit.c_str(), "fail");
    if (r >= 0) r = sd_bus_message_open_container(m, 'a', "(sv)");
    if (r >= 0)
      r = sd_bus_message_append(m, "(sv)", "Description", "s",
                                ("nyx-runtime container " + unit).c_str());
    if (r >= 0) r = sd_bus_message_append(m, "(sv)", "Slice", "s", slice.c_str());
    // The container manages what is below its cgroup (sub-cgroups, its own limits).
    if (r >= 0) r = sd_bus_message_append(m, "(sv)", "Delegate", "b", 1);
    if (r >= 0) r = sd_bus_message_append(m, "(sv)", "DefaultDependencies", "b", 0);
    if (r >= 0) r = sd_bus_message_append(m, "(sv)", "PIDs", "au", 1, pid);
    for (const char* acct :
         {"MemoryAccounting", "CPUAccounting", "IOAccounting", "TasksAccounting"}) {
      if (r >= 0) r = sd_bus_message_append(m, "(sv)", acct, "b", 1);
    }
    for (const auto& p : props) {
      if (r >= 0) r = append_property(m, p);
    }
    if (r >= 0) r = sd_bus_message_close_container(m);
    if (r >= 0) r = sd_bus_message_append(m, "a(sa(sv))", 0);
    if (r < 0) {
      sd_bus_message_unref(m);
      return fail(r, "cannot build the StartTransientUnit call for " + unit);
    }
    sd_bus_error e = SD_BUS_ERROR_NULL;
    sd_bus_message* reply = nullptr;
    r = sd_bus_call(bus, m, kTimeoutUsec, &e, &reply);
    sd_bus_message_unref(m);
    if (r < 0 && attempt == 0 && sd_bus_error_has_name(&e, "org.freedesktop.systemd1.UnitExists")) {
      // A leftover of a container with this name: gone (inactive or failed) is forgotten and
      // started again; one still running is another container's.
      std::string state = active_state(bus, unit);
      if (state != "active" && state != "activating" && state != "deactivating") {
        sd_bus_error_free(&e);
        reset_failed(bus, unit);
        continue;
      }
      int err = fail(-EEXIST, "systemd unit " + unit + " already exists and is " + state, &e);
      sd_bus_error_free(&e);
      return err;
    }
    if (r < 0) {
      int err = fail(r, "StartTransientUnit " + unit, &e);
      sd_bus_error_free(&e);
      return err;
    }
    sd_bus_error_free(&e);
    r = wait_job(bus, reply, w);
    sd_bus_message_unref(reply);
    if (r < 0) return fail(r, "waiting for systemd to start " + unit);
    if (w.result != "done")
      return fail(-EIO, "systemd could not start " + unit + " (job " + w.result + ")");
    sd_bus_slot_unref(slot);
    return 0;
  }
}

int set_properties(sd_bus* bus, const std::string& unit, const std::vector<std::string>& props) {
  sd_bus_message* m = nullptr;
  int r = sd_bus_message_new_method_call(bus, &m, kDest, kPath, kManager, "SetUnitProperties");
  if (r >= 0) r = sd_bus_message_append(m, "sb", unit.c_str(), 1);
  if (r >= 0) r = sd_bus_message_open_container(m, 'a', "(sv)");
  for (const auto& p : props) {
    if (r >= 0) r = append_property(m, p);
  }
  if (r >= 0) r = sd_bus_message_close_container(m);
  if (r < 0) {
    sd_bus_message_unref(m);
    return fail(r, "cannot build the SetUnitProperties call for " + unit);
  }
  sd_bus_error e = SD_BUS_ERROR_NULL;
  r = sd_bus_call(bus, m, kTimeoutUsec, &e, nullptr);
  sd_bus_message_unref(m);
  int err = r < 0 ? fail(r, "SetUnitProperties " + unit, &e) : 0;
  sd_bus_error_free(&e);
  return err;
}

int stop(sd_bus* bus, const std::string& unit) {
  JobWait w;
  sd_bus_slot* slot = nullptr;
  sd_bus_match_signal(bus, &slot, kDest, kPath, kManager, "JobRemoved", on_job_removed, &w);
  sd_bus_error e = SD_BUS_ERROR_NULL;
  sd_bus_message* reply = nullptr;
  int r = sd_bus_call_method(bus, kDest, kPath, kManager, "StopUnit", &e, &reply, "ss",
                             unit.c_str(), "replace");
  if (r < 0) {
    bool gone = sd_bus_error_has_name(&e, "org.freedesktop.systemd1.NoSuchUnit");
    int err = gone ? 0 : fail(r, "StopUnit " + unit, &e);
    sd_bus_error_free(&e);
    reset_failed(bus, unit);
    return err;
  }
  sd_bus_error_free(&e);
  r = wait_job(bus, reply, w);
  sd_bus_message_unref(reply);
  sd_bus_slot_unref(slot);
  reset_failed(bus, unit);
  return r < 0 ? fail(r, "waiting for systemd to stop " + unit) : 0;
}

int usage() {
  std::fprintf(stderr,
               "usage: nyx-systemd start-scope UNIT SLICE PID [T:Name=Value...]\n"
               "       nyx-systemd set-properties UNIT [T:Name=Value...]\n"
               "       nyx-systemd stop UNIT\n");
  return EINVAL;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  std::string cmd = argv[1], unit = argv[2];
  sd_bus* bus = nullptr;
  int r = open_bus(&bus);
  if (r < 0) return fail(r, "cannot connect to systemd over D-Bus");
  int rc;
  if (cmd == "start-scope" && argc >= 5) {
    std::vector<std::string> props(argv + 5, argv + argc);
    rc = start_scope(bus, unit, argv[3],
                     static_cast<std::uint32_t>(std::strtoul(argv[4], nullptr, 10)), props);
  } else if (cmd == "set-properties") {
    rc = set_properties(bus, unit, std::vector<std::string>(argv + 3, argv + argc));
  } else if (cmd == "stop") {
    rc = stop(bus, unit);
  } else {
    rc = usage();
  }
  sd_bus_flush_close_unref(bus);
  return rc;
}
