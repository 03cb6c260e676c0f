#!/usr/bin/env bash
# The escape-fixture matrix (ctest -L escape), on this kernel.
set -uo pipefail
cd "$NYX_BUILD" || exit 1
ctest -L escape --output-on-failure -j1 --timeout 600
