#!/usr/bin/env bash
# The peers' own integration suites against build/nyx-runtime, as root on Debian 12:
#   runc-bats     runc 1.1.5 tests/integration/*.bats, with `spec` taken from runc
#                 (SPEC_WITH) so that nyx is judged on runc's default config
#   crun-pytests  crun 1.8.1 tests/test_*.py, with crun's CLI spellings translated
#                 (TRANSLATE_CRUN_CLI=yes)
# Both live outside the repo, in ../shared/peers (prepare.sh, runc-bats/run.sh,
# crun-pytests/run.sh); without them this prints one line and exits 0.
#
# Fails when a suite's passed count drops below its floor or its failed count rises above its
# ceiling in tests/peers/floors. Raise the floors as fixes land.
#
# env:
#   NYX_RUNTIME     runtime under test (default build/nyx-runtime; built when missing)
#   NYX_SHARED      the shared tools folder (default ../shared)
#   NYX_PEERS_DIR   where the upstream sources are unpacked, kept (default /var/tmp/nyx-peers)
#   NYX_PEERS_OUT   results: <suite>/results.tsv, summary.txt, logs/ (default /var/tmp/nyx-peers-out)
#   NYX_PEERS       which suites (default "runc-bats crun-pytests")
#
# The closing line is a verdict, on purpose not the suites' bare "N passed, N failed, N skipped":
# today's failures are expected (see the floors file), and the stage is judged by its exit status.
set -euo pipefail
# A failing command in this script must say where on stdout, which is what CI shows.
trap 'echo "peers: failed (status $?) at line $LINENO: $BASH_COMMAND"' ERR
cd "$(dirname "$0")/.."
repo=$PWD
shared=${NYX_SHARED:-$repo/../shared}
peers=$shared/peers
if [ ! -f "$peers/prepare.sh" ] || [ ! -f "$peers/runc-bats/run.sh" ] ||
  [ ! -f "$peers/crun-pytests/run.sh" ]; then
  echo "peers: the runc and crun suites are not present ($peers): skipped"
  exit 0
fi
peers=$(cd "$peers" && pwd)
floors=$repo/tests/peers/floors
rt=${NYX_RUNTIME:-$repo/build/nyx-runtime}
src=${NYX_PEERS_DIR:-/var/tmp/nyx-peers}
out=${NYX_PEERS_OUT:-/var/tmp/nyx-peers-out}
suites=${NYX_PEERS:-"runc-bats crun-pytests"}

[ "$(id -u)" -eq 0 ] || { echo "peers: must run as root" >&2; exit 2; }

if [ ! -x "$rt" ]; then
  echo "peers: $rt missing: building it"
  bash scripts/deps.sh
  bash scripts/build.sh
fi
rt=$(realpath -- "$rt")

# prepare.sh installs what both suites need (bats jq gawk busybox-static xz-utils golang-go
# libseccomp-dev gcc libc6-dev git util-linux iproute2 python3 runc) and unpacks the sources.
export DEBIAN_FRONTEND=noninteractive
vars=$(bash "$peers/prepare.sh" "$src" 2>"$src.prepare.log") ||
  { tail -n 20 "$src.prepare.log"; echo "peers: prepare.sh failed"; exit 1; }
RUNC_SRC=$(echo "$vars" | sed -n 's/^RUNC_SRC=//p')
CRUN_SRC=$(echo "$vars" | sed -n 's/^CRUN_SRC=//p')
runc=$(command -v runc || true)
[ -n "$runc" ] || { echo "peers: runc is not installed (SPEC_WITH needs it)"; exit 1; }

# find's status is ignored: a cgroup removed while it walks is not an error here.
cgroups() { { find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -type d 2>/dev/null || true; } | sort; }
before=$(mktemp)
cgroups >"$before"
rm -rf -- "$out"
mkdir -p -- "$out"

bad=()
report=()
for s in $suites; do
  t0=$(date +%s)
  case $s in
    runc-bats)
      SPEC_WITH=$runc RUNC_SRC=$RUNC_SRC bash "$peers/runc-bats/run.sh" "$rt" "$out/$s" \
        >"$out/$s.log" 2>&1 || true ;;
    crun-pytests)
      TRANSLATE_CRUN_CLI=yes CRUN_SRC=$CRUN_SRC bash "$peers/crun-pytests/run.sh" "$rt" "$out/$s" \
        >"$out/$s.log" 2>&1 || true ;;
    *) echo "peers: unknown suite $s"; exit 2 ;;
  esac
  secs=$(($(date +%s) - t0))
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$out/$s/summary.txt" 2>/dev/null |
    tail -n 1 || true)
  if [ -z "$line" ]; then
    tail -n 20 "$out/$s.log"
    bad+=("$s: no result (log: $out/$s.log)")
    continue
  fi
  read -r p _ f _ k _ <<<"${line//,/}"
  echo "peers: $s: $p passed, $f failed, $k skipped in $secs s; failing:"
  awk -F'\t' 'NR > 1 && $2 != "PASS" && $2 != "SKIP" && $2 != "EXCLUDED" {
    printf "  %-8s %s: %s\n", $2, $4, $5 }' "$out/$s/results.tsv" 2>/dev/null || true
  min=$(awk -v s="$s" '$1 == s { print $2 }' "$floors")
  max=$(awk -v s="$s" '$1 == s { print $3 }' "$floors")
  [ -n "$min" ] && [ -n "$max" ] || { bad+=("$s: no floor in $floors"); continue; }
  [ "$p" -ge "$min" ] || bad+=("$s: passed $p < floor $min")
  [ "$f" -le "$max" ] || bad+=("$s: failed $f > ceiling $max")
  if [ "$p" -gt "$min" ] || [ "$f" -lt "$max" ]; then
    report+=("$s is better than its floor ($min/$max): raise it")
  fi
  report+=("$s $p/$f/$k (floor $min passed, ceiling $max failed)")
done

# The suites remove the top-level cgroups of their own container names, but not nyx's
# /nyx-runtime/<id> ones, which stay when a test's container was killed by the harness instead of
# deleted (test_simple_delete, test_multiple_containers_delete, seccomp-listener): remove those
# that appeared during the run and are empty, report anything else.
left=$(cgroups | comm -13 "$before" - || true)
rm -f -- "$before"
if [ -n "$left" ]; then
  { echo "$left" | grep -E '/nyx-runtime/(test[-_][^/]*|ct[0-9]*)$' || true; } | sort -r |
    while IFS= read -r d; do rmdir -- "$d" 2>/dev/null || true; done
  left=$(cgroups | grep -Fxf <(echo "$left") || true)
fi
[ -z "$left" ] || echo "peers: warning: cgroups that appeared during the run and remain (these suites', or another user's on this host):" $left

for r in "${report[@]}"; do echo "peers: $r"; done
if [ ${#bad[@]} -gt 0 ]; then
  printf 'peers: REGRESSION: %s\n' "${bad[@]}"
  exit 1
fi
echo "peers: OK"
