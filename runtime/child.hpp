// The container init between clone and execve. Runs the ChildPlan with system calls only: no
// allocation, no locks, no exceptions. Reports through plan.sock and never returns.
#pragma once

#include "runtime/child_abi.hpp"

namespace nyx {

[[noreturn]] void run_child(const ChildPlan& plan);

}  // namespace nyx
