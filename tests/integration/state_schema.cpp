// Every state and --report a gtest binary of the suite produced is validated against
// docs/state.schema.json when it ends (python3-jsonschema): a field the docs do not describe, a
// status or level out of the enum, a failed primitive without errno or cause fail the test run.
#include <gtest/gtest.h>

#include "tests/integration/harness.hpp"

namespace nyx::test {
namespace {

class StateSchema : public testing::Environment {
 public:
  void TearDown() override {
    std::string problems = validate_remembered_states();
    if (!problems.empty()) ADD_FAILURE() << problems;
  }
};

testing::Environment* const g_schema = testing::AddGlobalTestEnvironment(new StateSchema);

}  // namespace
}  // namespace nyx::test
