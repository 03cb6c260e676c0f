#!/usr/bin/env bash
# Installs, builds and runs every test, as root on Debian 12: unit and integration tests on real
# containers, the escape matrix, engines, reliability (ctest); the sanitizer and fuzz builds; the
# OCI conformance suite and the peers' own suites (from ../shared, skipped in one line when it
# is not there); and the host shape users have (cgroup v2, systemd, AppArmor) in a Debian 12
# VM. Each stage prints its wall time; the first that fails stops the run.
set -euo pipefail
cd "$(dirname "$0")/.."

stage() {
  local name=$1
  shift
  local t0=$SECONDS
  echo "== test.sh: $name"
  # Said on stdout, which is what CI shows, also when the stage itself printed nothing.
  "$@" || {
    local rc=$?
    echo "== test.sh: $name: FAILED (exit $rc) after $((SECONDS - t0)) s"
    exit "$rc"
  }
  echo "== test.sh: $name: done in $((SECONDS - t0)) s"
}

stage deps env NYX_DEPS_TEST=1 scripts/deps.sh
stage build scripts/build.sh
stage ctest bash -c 'cd build && ctest --output-on-failure -j1 --timeout 600'
# Unit tests, fuzz seeds and a real container under ASan/UBSan (build-asan/), then the config
# fuzzer for a minute (build-fuzz/): docs/reliability.md.
stage sanitize scripts/sanitize.sh
stage fuzz scripts/fuzz.sh 1
# Floors in tests/conformance/floor and tests/peers/floors: docs/conformance.md.
stage conformance scripts/conformance.sh
stage peers scripts/peers.sh
# A Debian 12 VM under qemu (docs/hosts.md): systemd, cgroup v2, AppArmor.
stage vm scripts/vm-test.sh
