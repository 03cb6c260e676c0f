#!/usr/bin/env bash
# The project's unit tests (ctest -L unit).
set -uo pipefail
cd "$NYX_BUILD" || exit 1
ctest -L unit --output-on-failure -j1 --timeout 300
