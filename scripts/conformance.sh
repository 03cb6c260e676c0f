#!/usr/bin/env bash
# The OCI runtime-tools validation suite (the conformance tests runc, crun and youki run in their
# CI) against build/nyx-runtime, as root on Debian 12. The suite lives outside the repo, in
# ../shared/conformance (build.sh, run.sh, failures.py); without it this prints one line and
# exits 0.
#
# Fails when the assertions passed drop below the floor or the assertions failed rise above the
# ceiling recorded in tests/conformance/floor, or when a test listed there as passing no longer
# passes. Raise the floor (and lower the ceiling) as fixes land: docs/conformance.md.
#
# env:
#   NYX_RUNTIME          runtime under test (default build/nyx-runtime; built when missing)
#   NYX_SHARED           the shared tools folder (default ../shared)
#   NYX_CONFORMANCE_DIR  where the suite is built, kept between runs (default /var/tmp/nyx-rt)
#   NYX_CONFORMANCE_OUT  per-test results: summary.tsv, <test>.tap/.stderr, failures.txt
#                        (default /var/tmp/nyx-conformance)
#
# The closing line is a verdict, on purpose not the suite's bare "N passed, N failed": the
# failures that remain today are expected (see the floor file), and the stage is judged on them
# by its exit status.
set -euo pipefail
# A failing command in this script must say where on stdout, which is what CI shows.
trap 'echo "conformance: failed (status $?) at line $LINENO: $BASH_COMMAND"' ERR
cd "$(dirname "$0")/.."
repo=$PWD
shared=${NYX_SHARED:-$repo/../shared}
suite=$shared/conformance
if [ ! -f "$suite/run.sh" ] || [ ! -f "$suite/build.sh" ]; then
  echo "conformance: the OCI runtime-tools suite is not present ($suite): skipped"
  exit 0
fi
suite=$(cd "$suite" && pwd)
floor_file=$repo/tests/conformance/floor
rt=${NYX_RUNTIME:-$repo/build/nyx-runtime}
rt_dir=${NYX_CONFORMANCE_DIR:-/var/tmp/nyx-rt}
out=${NYX_CONFORMANCE_OUT:-/var/tmp/nyx-conformance}

[ "$(id -u)" -eq 0 ] || { echo "conformance: must run as root" >&2; exit 2; }

# What build.sh and run.sh need: make, tar, gcc and libc6-dev (the build; Go itself comes from
# bookworm-backports through apt-get download), jq (removes the containers a test leaves), flock
# (util-linux), python3 (failures.py).
export DEBIAN_FRONTEND=noninteractive
missing=()
for p in make tar jq util-linux python3 coreutils gcc libc6-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x "$rt" ]; then
  echo "conformance: $rt missing: building it"
  bash scripts/deps.sh
  bash scripts/build.sh
fi
rt=$(realpath -- "$rt")

t0=$(date +%s)
mkdir -p -- "$rt_dir"
if ! bash "$suite/build.sh" "$rt_dir" >"$rt_dir.build.log" 2>&1; then
  tail -n 20 "$rt_dir.build.log"
  echo "conformance: building the suite failed (log: $rt_dir.build.log)"
  exit 1
fi
t1=$(date +%s)

# Top-level and container cgroups before the run: anything the run leaves is reported, and
# removed when it is an empty cgroup named like the suite's containers (a UUID) or the suite's
# own "cgrouptest" (delete_only_create_resources skips its cleanup when create fails).
# find's status is ignored: a cgroup removed while it walks is not an error here.
cgroups() { { find /sys/fs/cgroup -mindepth 2 -maxdepth 4 -type d 2>/dev/null || true; } | sort; }
before=$(mktemp)
cgroups >"$before"

rm -rf -- "$out"
mkdir -p -- "$out"
RT_DIR=$rt_dir bash "$suite/run.sh" "$rt" "$out" >"$out/run.log" 2>&1 || true
t2=$(date +%s)
python3 "$suite/failures.py" "$out"/*.tap >"$out/failures.txt" 2>&1 || true

left=$(cgroups | comm -13 "$before" - || true)
rm -f -- "$before"
uuid='[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
if [ -n "$left" ]; then
  # Deepest first; rmdir only removes empty cgroups.
  # grep finds nothing when every leftover is someone else's: not an error.
  { echo "$left" | grep -E "/$uuid|/cgrouptest$" || true; } | sort -r | while IFS= read -r d; do rmdir -- "$d" 2>/dev/null || true; done
  still=$(cgroups | grep -Fxf <(echo "$left") || true)
  [ -z "$still" ] || echo "conformance: warning: cgroups that appeared during the run and remain (this run's, or another user's on this host):" $still
fi

# Per-test table: every test that is not a full pass.
tsv=$out/summary.tsv
if [ ! -s "$tsv" ]; then
  tail -n 20 "$out/run.log"
  echo "conformance: the suite produced no summary (log: $out/run.log)"
  exit 1
fi
echo "conformance: runtime $rt"
awk -F'\t' 'NR > 1 && $2 != "PASS" { printf "  %-36s %-7s ok %4d  failed %4d\n", $1, $2, $6, $12 }' "$tsv"
read -r passed failed < <(awk -F'\t' 'NR > 1 { p += $6; f += $12 } END { print p + 0, f + 0 }' "$tsv")
tests_passing=$(awk -F'\t' 'NR > 1 && $2 == "PASS"' "$tsv" | wc -l)
tests_all=$(awk -F'\t' 'NR > 1' "$tsv" | wc -l)

# tests/conformance/floor: "min_passed N", "max_failed N", "must_pass TEST..." (# comments).
min_passed=$(awk '$1 == "min_passed" { print $2 }' "$floor_file")
max_failed=$(awk '$1 == "max_failed" { print $2 }' "$floor_file")
must_pass=$(awk '$1 == "must_pass" { for (i = 2; i <= NF; i++) print $i }' "$floor_file")
bad=()
[ "$passed" -ge "$min_passed" ] || bad+=("passed $passed < floor $min_passed")
[ "$failed" -le "$max_failed" ] || bad+=("failed $failed > ceiling $max_failed")
for t in $must_pass; do
  st=$(awk -F'\t' -v t="$t" '$1 == t { print $2 }' "$tsv")
  [ "$st" = PASS ] || bad+=("$t: ${st:-missing} (passed before)")
done
echo "conformance: $tests_passing of $tests_all tests pass fully; assertions: $passed passed," \
  "$failed failed; suite build $((t1 - t0)) s, run $((t2 - t1)) s; details: $out/failures.txt"
if [ ${#bad[@]} -gt 0 ]; then
  printf 'conformance: REGRESSION: %s\n' "${bad[@]}"
  exit 1
fi
if [ "$passed" -gt "$min_passed" ] || [ "$failed" -lt "$max_failed" ]; then
  echo "conformance: better than tests/conformance/floor ($min_passed/$max_failed): raise it"
fi
echo "conformance: OK (floor $min_passed passed, ceiling $max_failed failed)"
