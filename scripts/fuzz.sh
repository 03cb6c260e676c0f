#!/usr/bin/env bash
# fuzz.sh [MINUTES]: builds the libFuzzer target over config parsing, validation and plan
# building (clang, -fsanitize=fuzzer,address,undefined) into build-fuzz/ and runs it for MINUTES
# (default 1; fractions such as 0.5 work). The corpus grows in build-fuzz/corpus, seeded from
# tests/fuzz/seeds, tests/fuzz/regressions and the example configs; crashes land in
# build-fuzz/crashes and make the script fail. NYX_FUZZ_JOBS=N runs N workers (default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-1}
seconds=$(awk -v m="$minutes" 'BEGIN { s = int(m * 60); print (s < 1 ? 1 : s) }')
dir=build-fuzz
CC=clang CXX=clang++ cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNYX_FUZZ=ON \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
  -DNYX_BENCH=OFF >/dev/null
cmake --build "$dir" -j"$(nproc)" --target nyx-config-fuzzer >/dev/null
mkdir -p "$dir/corpus" "$dir/crashes" "$dir/tmp"
export TMPDIR=$PWD/$dir/tmp
cp tests/fuzz/seeds/*.json "$dir/corpus/"
find tests/fuzz/regressions -type f ! -name '.*' -exec cp {} "$dir/corpus/" \;
for b in examples/bundles/*/; do
  [ -f "$b/config.json" ] && cp "$b/config.json" "$dir/corpus/example-$(basename "$b").json"
done
log=$dir/fuzz.log
jobs=${NYX_FUZZ_JOBS:-1}
parallel=()
[ "$jobs" -gt 1 ] && parallel=(-jobs="$jobs" -workers="$jobs")
set +e
# -rss_limit_mb: the target compiles seccomp filters; 2 GiB is ample and catches runaway input.
"$dir/tests/fuzz/nyx-config-fuzzer" "$dir/corpus" -dict=tests/fuzz/oci.dict \
  -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$dir/crashes/" "${parallel[@]}" >"$log" 2>&1
rc=$?
set -e
# With -jobs libFuzzer writes each worker's output to fuzz-N.log.
cat "$log" fuzz-[0-9]*.log >"$log.all" 2>/dev/null || true
rm -f fuzz-[0-9]*.log
grep -E "^#[0-9]+[[:space:]]+DONE|ERROR|SUMMARY" "$log.all" | tail -4 || true
grep -E "stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)" "$log.all" | tail -3 || true
crashes=$(find "$dir/crashes" -type f | wc -l)
echo "fuzz: ${seconds}s, corpus $(find "$dir/corpus" -type f | wc -l) files, crashes $crashes"
if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
  echo "fuzz: FAILED (exit $rc); reproduce with $dir/tests/fuzz/nyx-config-fuzzer FILE," \
       "then add FILE to tests/fuzz/regressions/" >&2
  exit 1
fi
