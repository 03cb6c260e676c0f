#!/usr/bin/env bash
# Installs what nyx-runtime needs to build, test and run its examples (Debian 12, as root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
pkgs=(build-essential cmake pkg-config git
      nlohmann-json3-dev libseccomp-dev libcap-dev nettle-dev libcli11-dev libgtest-dev libbenchmark-dev
      libsystemd-dev
      busybox-static python3 procps iproute2)
if [ "${NYX_DEPS_TEST:-0}" = 1 ]; then
  pkgs+=(clang libclang-rt-14-dev)
  # Every state the tests produce is validated against docs/state.schema.json.
  pkgs+=(python3-jsonschema)
  # Engine acceptance (tests/engines): podman with conmon, containerd with ctr, script(1).
  pkgs+=(podman conmon containerd bsdutils)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
