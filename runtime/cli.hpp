// Parses the command line and runs the command; returns the process exit status.
#pragma once

namespace nyx {

int cli_main(int argc, char** argv);

}  // namespace nyx
