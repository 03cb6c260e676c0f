#!/usr/bin/env bash
# nyx-runtime run of two example bundles, made here as examples/make-examples.sh makes them
# (a busybox rootfs from examples/make-rootfs.sh, the harness, `nyx-runtime spec`): hello
# (strict profile) and python-harness (--host-libs, limits). Both must exit 0 and print their
# first line; the outcome record of each run is printed.
set -uo pipefail
bad=0
for b in hello python-harness; do
  mkdir -p "$b"
  if [ "$b" = hello ]; then
    bash "$NYX_SRC/examples/make-rootfs.sh" hello/rootfs >/dev/null || exit 1
  else
    cp -a hello/rootfs "$b/rootfs" || exit 1   # one make-rootfs: its 400 links are slow under TCG
  fi
  install -m 0755 "$NYX_SRC/examples/bundles/$b/harness.sh" "$b/rootfs/harness.sh"
done
"$NYX" spec --bundle hello -- /bin/sh /harness.sh || exit 1
"$NYX" spec --bundle python-harness --host-libs --memory 256 --timeout 20 -- /bin/sh /harness.sh || exit 1
for b in hello python-harness; do
  echo "== nyx-runtime run $b"
  out=$(timeout 120 "$NYX" run --report "$b.json" "$b" 2>&1)
  rc=$?
  echo "$out"
  echo "   exit $rc"
  [ -s "$b.json" ] && jq -c '.hardening.primitives // .hardening // . | map_values(.status // .)' "$b.json"
  if [ "$rc" != 0 ]; then
    echo "   FAIL: $b exited $rc"
    bad=1
  fi
  first=$(head -1 <<<"$out")
  case $b in
    hello) want='hello from nyx, pid 1, uid 0 gid 0' ;;
    python-harness) want='python 3*' ;;
  esac
  # shellcheck disable=SC2053  # the python version is a glob
  [[ $first == $want ]] || { echo "   FAIL: first line is not '$want'"; bad=1; }
done
exit $bad
