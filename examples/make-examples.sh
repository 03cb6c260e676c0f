#!/usr/bin/env bash
# make-examples.sh NYX_BINARY
# Generates the example bundles: a busybox rootfs each (examples/make-rootfs.sh) and a
# config.json written by `nyx-runtime spec` (strict profile), with the bundle's harness script
# copied into its rootfs.
set -euo pipefail
nyx=$(readlink -f "${1:?usage: make-examples.sh NYX_BINARY}")
here=$(cd "$(dirname "$0")" && pwd)
for b in hello python-harness escape-attempt; do
  dir=$here/bundles/$b
  rm -rf "$dir/rootfs" "$dir/config.json"
  "$here/make-rootfs.sh" "$dir/rootfs" >/dev/null
  install -m 0755 "$dir/harness.sh" "$dir/rootfs/harness.sh"
done
"$nyx" spec --bundle "$here/bundles/hello" -- /bin/sh /harness.sh
"$nyx" spec --bundle "$here/bundles/escape-attempt" -- /bin/sh /harness.sh
"$nyx" spec --bundle "$here/bundles/python-harness" --host-libs --memory 256 --timeout 20 \
  -- /bin/sh /harness.sh
echo "examples ready in $here/bundles"
