#!/usr/bin/env bash
# The engine acceptance (tests/engines/run.sh): podman and containerd driving nyx-runtime.
set -uo pipefail
bash "$NYX_SRC/tests/engines/run.sh" "$NYX"
