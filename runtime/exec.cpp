#include "runtime/error.hpp"
#include "runtime/lifecycle.hpp"

namespace nyx {

int cmd_exec(const GlobalOptions&, const ExecOptions&) {
  throw Error("exec", "not implemented yet");
}

}  // namespace nyx
