#!/usr/bin/env bash
# The orchestration example as CI runs it (ctest `orchestrate`): the example bundles, plus a
# harness that outlives its timeout and one whose config the runtime refuses, at most two at
# once. Checks the summary (exit codes, levels, the refusal, the timeout) and that every report
# is valid against docs/state.schema.json.
#   examples/orchestrate/test.sh NYX_BINARY
set -euo pipefail
nyx=$(readlink -f "${1:?usage: test.sh NYX_BINARY}")
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
work=$(mktemp -d /tmp/nyx-orchestrate-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
"$src/examples/make-examples.sh" "$nyx" "$work/bundles" >/dev/null
# A harness that sleeps past the 3 s timeout (exit 124), and one the runtime refuses.
mkdir -p "$work/bundles/sleeper" "$work/bundles/refused"
"$src/examples/make-rootfs.sh" "$work/bundles/sleeper/rootfs" >/dev/null
"$nyx" spec --bundle "$work/bundles/sleeper" -- /bin/sleep 30
cp -a "$work/bundles/sleeper/rootfs" "$work/bundles/refused/rootfs"
"$nyx" spec --bundle "$work/bundles/refused" -- /bin/true
sed -i 's/"noNewPrivileges": true/"noNewPrivileges": "yes"/' "$work/bundles/refused/config.json"

set +e
python3 "$here/orchestrate.py" -j 2 --timeout 3 --runtime "$nyx" --reports "$work/reports" \
  --json "$work/summary.json" "$work/bundles" >"$work/out.txt" 2>"$work/progress.txt"
rc=$?
set -e
cat "$work/out.txt"
fail() { echo "orchestrate test: $*" >&2; cat "$work/progress.txt" >&2; exit 1; }
[ "$rc" = 1 ] || fail "exit status $rc, expected 1 (two harnesses are not trusted)"
python3 - "$work/summary.json" <<'PY' || fail "summary"
import json, sys
rows = {r["harness"]: r for r in json.load(open(sys.argv[1]))["harnesses"]}
assert set(rows) == {"hello", "escape-attempt", "python-harness", "sleeper", "refused"}, rows
for name in ("hello", "escape-attempt", "python-harness"):
    r = rows[name]
    assert r["exit"] == 0 and r["level"] == "full" and not r["failed"], (name, r)
assert rows["sleeper"]["exit"] == 124 and rows["sleeper"]["timedOut"], rows["sleeper"]
assert rows["sleeper"]["wall"] < 20, rows["sleeper"]
r = rows["refused"]
assert r["exit"] == 1 and r["report"] is None and "noNewPrivileges" in r["error"], r
PY
grep -q "^HARNESS  *EXIT  *LEVEL  *FAILED PRIMITIVES (CAUSE)  *WALL" "$work/out.txt" || fail "no table"
grep -q "refused: .*process.noNewPrivileges" "$work/out.txt" || fail "refusal not in the table"
[ "$(grep -c '^\[' "$work/progress.txt")" -ge 5 ] || fail "no progress lines"
python3 "$src/scripts/validate-states.py" "$src/docs/state.schema.json" "$work/reports"
echo "1 passed, 0 failed"
