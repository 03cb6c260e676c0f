#!/usr/bin/env bash
# make-examples.sh NYX_BINARY [DIR]
# Generates the example bundles: a busybox rootfs each (examples/make-rootfs.sh) and a
# config.json written by `nyx-runtime spec` (strict profile), with the bundle's harness script
# copied into its rootfs. In examples/bundles, or in DIR (a copy of each bundle is made there).
set -euo pipefail
nyx=$(readlink -f "${1:?usage: make-examples.sh NYX_BINARY}")
here=$(cd "$(dirname "$0")" && pwd)
out=${2:-$here/bundles}
for b in hello python-harness escape-attempt; do
  dir=$out/$b
  mkdir -p "$dir"
  [ "$dir" -ef "$here/bundles/$b" ] || cp "$here/bundles/$b/harness.sh" "$dir/"
  rm -rf "$dir/rootfs" "$dir/config.json"
  "$here/make-rootfs.sh" "$dir/rootfs" >/dev/null
  install -m 0755 "$dir/harness.sh" "$dir/rootfs/harness.sh"
done
"$nyx" spec --bundle "$out/hello" -- /bin/sh /harness.sh
"$nyx" spec --bundle "$out/escape-attempt" -- /bin/sh /harness.sh
"$nyx" spec --bundle "$out/python-harness" --host-libs --memory 256 --timeout 20 \
  -- /bin/sh /harness.sh
echo "examples ready in $out"
