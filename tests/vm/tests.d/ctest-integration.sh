#!/usr/bin/env bash
# `ctest -L integration` exactly as CI runs it on the host: one process per test, so one
# busybox rootfs per test (about 20 s each under TCG; integration.sh makes one per binary).
set -uo pipefail
cd "$NYX_BUILD" || exit 1
ctest -L integration --output-on-failure -j1 --timeout 300
