#!/usr/bin/env bash
# scripts/bench.sh [OUTDIR] — one command for the benchmarks (docs/benchmarks.md):
#   installs crun, runc, hyperfine, gnuplot and Google Benchmark from Debian when missing,
#   builds nyx-runtime Release into build-bench/, runs the shared harness compare.sh with NYX
#   set to that binary against crun and runc in the same run (plus the isolated-start variant
#   with -g 100 when BENCH_GAP=1), then the in-process Google Benchmark target, and draws the
#   per-container latency plot. Results go to OUTDIR (default bench-results/, gitignored).
# Needs root. BENCH_QUICK=1 uses fewer rounds. BENCH_HARNESS overrides the harness directory.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
out=${1:-$src/bench-results}
harness=${BENCH_HARNESS:-$src/../shared/bench}
[ -x "$harness/compare.sh" ] || { echo "bench.sh: no harness at $harness (set BENCH_HARNESS)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench.sh: needs root" >&2; exit 1; }

need=()
for p in crun:crun runc:runc hyperfine:hyperfine gnuplot:gnuplot-nox busybox:busybox-static \
         cmake:cmake python3:python3; do
  command -v "${p%%:*}" >/dev/null || need+=("${p#*:}")
done
[ -f /usr/include/benchmark/benchmark.h ] || need+=(libbenchmark-dev)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
bash scripts/deps.sh >/dev/null

# crun 1.8.1 refuses hybrid cgroups while the v2 hierarchy lists controllers (shared/bench
# README, "Host quirks"): bind each such controller to a v1 hierarchy as the README says.
if [ -f /sys/fs/cgroup/unified/cgroup.controllers ]; then
  for c in $(cat /sys/fs/cgroup/unified/cgroup.controllers); do
    mkdir -p "/sys/fs/cgroup/$c"
    mountpoint -q "/sys/fs/cgroup/$c" || mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c" || true
  done
fi

build=$src/build-bench
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DNYX_BENCH=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target nyx-runtime bench >/dev/null
mkdir -p "$out"
export NYX=$build/nyx-runtime BENCH_WORK=${BENCH_WORK:-/tmp/nyx-bench}
{ echo "date: $(date -u +%FT%TZ)"; echo "kernel: $(uname -r)"; echo "cpus: $(nproc)"
  grep -m1 'model name' /proc/cpuinfo || true; echo "crun: $(crun --version | head -1)"
  echo "runc: $(runc --version | head -1)"; echo "nyx: $($NYX --version | head -1)"
  echo "load: $(cat /proc/loadavg)"; } >"$out/machine.txt"

args=()
[ "${BENCH_QUICK:-0}" = 1 ] && args=(-r 3 -n 20 -R 2 -m 15)
"$harness/compare.sh" "${args[@]}" -o "$out/records.txt" | tee "$out/compare.txt"
if [ "${BENCH_GAP:-0}" = 1 ]; then
  "$harness/compare.sh" -g 100 -r 3 -n 10 --no-split | tee "$out/compare-gap100.txt"
fi
"$harness/parallel.sh" -j 4 | tee "$out/parallel.txt" || true
"$harness/scale.sh" -k 1000 "$NYX" crun | tee "$out/scale.txt" || true

# Per-container `run` latencies for the plot: lifecycle.sh SAMPLES (one µs value a line).
rm -f "$out"/samples.*
for rt in "$NYX" crun runc; do
  label=$(basename "$rt"); [ "$rt" = "$NYX" ] && label=nyx
  SAMPLES=$out/samples.$label QUIET=1 BUNDLE= "$harness/lifecycle.sh" "$rt" 200 >/dev/null
done
gnuplot -e "outdir='$out'" "$src/tests/bench/latency.gp"

"$build/tests/bench/nyx-bench" --benchmark_min_time=0.2 | tee "$out/google-benchmark.txt"
echo "bench.sh: results in $out"
