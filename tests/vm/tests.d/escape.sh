#!/usr/bin/env bash
# The escape-fixture matrix (what `ctest -L escape` runs), on this kernel. The binary itself,
# not through ctest: its 240 s TIMEOUT is sized for the host, and under TCG the 117 cells take
# about four times that; this entry's own timeout (NYX_VM_TEST_TIMEOUT) bounds it here.
set -uo pipefail
cd "$NYX_BUILD/tests/escape" || exit 1
exec ./nyx-escape-matrix
