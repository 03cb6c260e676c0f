#include "runtime/log.hpp"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>

#include <nlohmann/json.hpp>

namespace nyx::log {

namespace {

std::string g_path;
Format g_format = Format::Text;
bool g_debug = false;

void append_log(std::string_view level, std::string_view msg) {
  if (g_path.empty()) return;
  std::string line;
  if (g_format == Format::Json) {
    line = nlohmann::json{{"level", level}, {"msg", msg}, {"time", now_rfc3339()}}.dump(
               -1, ' ', false, nlohmann::json::error_handler_t::replace) +
           "\n";
  } else {
    line = "time=\"" + now_rfc3339() + "\" level=" + std::string(level) + " msg=\"";
    for (char c : msg)
      line += c == '"' ? std::string("\\\"") : std::string(1, c);
    line += "\"\n";
  }
  int fd = ::open(g_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) return;
  [[maybe_unused]] ssize_t n = ::write(fd, line.data(), line.size());
  ::close(fd);
}

void to_stderr(std::string_view prefix, std::string_view msg) {
  std::string line = "nyx-runtime: " + std::string(prefix) + std::string(msg) + "\n";
  [[maybe_unused]] ssize_t n = ::write(2, line.data(), line.size());
}

}  // namespace

void configure(const std::string& path, Format format, bool debug_on) {
  g_path = path;
  g_format = format;
  g_debug = debug_on;
}

void error(std::string_view msg) {
  to_stderr("", msg);
  append_log("error", msg);
}

void warn(std::string_view msg) {
  to_stderr("warning: ", msg);
  append_log("warning", msg);
}

void debug(std::string_view msg) {
  if (!g_debug) return;
  to_stderr("debug: ", msg);
  append_log("debug", msg);
}

std::string now_rfc3339() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  ::gmtime_r(&ts.tv_sec, &t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", t.tm_year + 1900,
                t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec);
  return buf;
}

}  // namespace nyx::log
