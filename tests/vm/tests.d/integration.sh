#!/usr/bin/env bash
# The project's integration tests: the tests of `ctest -L integration`, from the build
# directory shared by the host, with one process per test binary rather than ctest's one per
# test. The harness makes its busybox rootfs once per process, and under TCG
# examples/make-rootfs.sh takes 20 s or more (400 forks of ln), which ctest's way pays 45
# times. The same tests and filters; ctest-integration.sh runs them exactly as ctest does.
# Tests ctest runs some other way than a gtest filter are run through ctest.
set -uo pipefail
cd "$NYX_BUILD" || exit 1
ctest -L integration --show-only=json-v1 >"$NYX_VM_SCRATCH/tests.json" || exit 1
bad=0
total=$(jq '.tests | length' "$NYX_VM_SCRATCH/tests.json")
echo "ctest -L integration: $total tests"
[ "$total" -gt 0 ] || { echo "no test has the integration label"; exit 1; }
# One line per binary: EXE <TAB> WORKDIR <TAB> FILTER:FILTER:...
jq -r '[.tests[] | select((.command | length) >= 2 and (.command[1] | startswith("--gtest_filter=")))
        | {exe: .command[0], dir: ((.properties // []) | map(select(.name == "WORKING_DIRECTORY"))[0].value // "."),
           filter: (.command[1] | ltrimstr("--gtest_filter="))}]
       | group_by(.exe)[] | [.[0].exe, .[0].dir, (map(.filter) | join(":"))] | @tsv' \
  "$NYX_VM_SCRATCH/tests.json" >"$NYX_VM_SCRATCH/groups"
while IFS=$'\t' read -r exe dir filter; do
  echo "== $exe ($(tr ':' '\n' <<<"$filter" | wc -l) tests)"
  (cd "$dir" && "$exe" --gtest_filter="$filter" --gtest_also_run_disabled_tests --gtest_color=no) || bad=1
done <"$NYX_VM_SCRATCH/groups"
others=$(jq -r '.tests[] | select((.command | length) < 2 or (.command[1] | startswith("--gtest_filter=") | not)) | .name' \
  "$NYX_VM_SCRATCH/tests.json")
if [ -n "$others" ]; then
  re=$(sed 's/[][\.*^$+?(){}|]/\\&/g; s/.*/^&$/' <<<"$others" | paste -sd'|')
  echo "== ctest: $(wc -l <<<"$others") tests that are not gtest filters"
  ctest -L integration -R "$re" --output-on-failure -j1 --timeout 300 || bad=1
fi
exit $bad
