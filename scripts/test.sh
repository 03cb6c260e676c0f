#!/usr/bin/env bash
# Installs, builds and runs every test (unit, integration with real containers, escape matrix,
# engines), as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."
NYX_DEPS_TEST=1 scripts/deps.sh
scripts/build.sh
cd build
ctest --output-on-failure -j1 --timeout 600
cd ..
# Unit tests, fuzz seeds and a real container under ASan/UBSan (build-asan/), then the config
# fuzzer for a minute (build-fuzz/): docs/reliability.md.
scripts/sanitize.sh
scripts/fuzz.sh 1
