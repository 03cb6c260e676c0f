// The one error type of the runtime: what failed, on which object, and the errno behind it.
#pragma once

#include <exception>
#include <string>

namespace nyx {

class Error : public std::exception {
 public:
  // `object` names the field or thing ("process.args", "container \"x\""), `cause` says what is
  // wrong with it, `err` is the errno that caused it (0 when no system call failed).
  Error(std::string object, std::string cause, int err = 0);

  const char* what() const noexcept override { return message_.c_str(); }
  const std::string& object() const noexcept { return object_; }
  const std::string& cause() const noexcept { return cause_; }
  int err() const noexcept { return err_; }

 private:
  std::string object_;
  std::string cause_;
  int err_;
  std::string message_;
};

// Throws Error with the current errno.
[[noreturn]] void throw_errno(std::string object, std::string cause);

// "EPERM" for EPERM; "E<n>" for numbers without a name.
std::string errno_name(int err);

}  // namespace nyx
