#!/usr/bin/env bash
# tests/vm/guest/run-tests.sh LIST: the test runner inside the VM (started by nyx-vm-boot,
# which tests/vm/image.sh installs in the image; output goes to the serial console). Runs the
# entries of LIST, one a line, in order:
#   NAME            tests/vm/tests.d/NAME.sh
#   cmd:SHELL       a shell command line
#   xfail:ENTRY     ENTRY is expected to fail today: reported as XFAIL (or XPASS), not counted
# Each entry runs with bash in a fresh scratch directory, with NYX (the nyx-runtime binary),
# NYX_SRC, NYX_BUILD and NYX_VM_SCRATCH in its environment, under a timeout
# (NYX_VM_TEST_TIMEOUT seconds, default 1200). Markers, one a line, for scripts/vm-test.sh:
#   NYX-VM-BEGIN: ENTRY
#   NYX-VM-PASS: ENTRY (S s) | NYX-VM-FAIL: ENTRY (exit N, S s)
#   NYX-VM-XFAIL: ENTRY (exit N, S s) | NYX-VM-XPASS: ENTRY (S s)
#   NYX-VM-SUMMARY: ...
# The exit status is the number of FAILs (at most 100); nyx-vm-boot prints it as the
# NYX-VM-RESULT line.
set -uo pipefail
LIST=${1:?usage: run-tests.sh LIST}
HERE=$(cd "$(dirname "$0")/.." && pwd)
: "${NYX_SRC:?}" "${NYX_BUILD:?}"
export NYX_SRC NYX_BUILD
export NYX=${NYX:-$NYX_BUILD/nyx-runtime}
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
TIMEOUT=${NYX_VM_TEST_TIMEOUT:-1200}
SCRATCH_ROOT=/var/tmp/nyx-vm

passed=() failed=() xfailed=() xpassed=()
n=0
while IFS= read -r entry || [ -n "$entry" ]; do
  entry=${entry%$'\r'}
  case $entry in '' | '#'*) continue ;; esac
  n=$((n + 1))
  xfail=0
  spec=$entry
  if [[ $spec == xfail:* ]]; then xfail=1; spec=${spec#xfail:}; fi
  if [[ $spec == cmd:* ]]; then
    cmd=(bash -c "${spec#cmd:}")
  elif [[ $spec =~ ^[A-Za-z0-9_.-]+$ ]] && [ -f "$HERE/tests.d/$spec.sh" ]; then
    cmd=(bash "$HERE/tests.d/$spec.sh")
  else
    echo "NYX-VM-BEGIN: $entry"
    echo "no such test: $spec (tests/vm/tests.d/$spec.sh), and not cmd:..."
    echo "NYX-VM-FAIL: $entry (unknown test, 0 s)"
    failed+=("$entry")
    continue
  fi
  scratch=$SCRATCH_ROOT/$n
  rm -rf "$scratch"
  mkdir -p "$scratch"
  echo "NYX-VM-BEGIN: $entry"
  start=$(date +%s)
  # Through a pipe, as in CI: the console is a tty, and tools that see one (jq, ctest) colour
  # their output or ask questions.
  (cd "$scratch" && NYX_VM_SCRATCH=$scratch timeout -k 10 "$TIMEOUT" "${cmd[@]}" </dev/null 2>&1) | cat
  rc=${PIPESTATUS[0]}
  secs=$(($(date +%s) - start))
  [ "$rc" = 124 ] && echo "(timed out after $TIMEOUT s)"
  if [ "$rc" = 0 ] && [ "$xfail" = 0 ]; then
    echo "NYX-VM-PASS: $entry ($secs s)"
    passed+=("$entry")
  elif [ "$rc" = 0 ]; then
    echo "NYX-VM-XPASS: $entry ($secs s)"
    xpassed+=("$entry")
  elif [ "$xfail" = 1 ]; then
    echo "NYX-VM-XFAIL: $entry (exit $rc, $secs s)"
    xfailed+=("$entry")
  else
    echo "NYX-VM-FAIL: $entry (exit $rc, $secs s)"
    failed+=("$entry")
  fi
  rm -rf "$scratch"
done <"$LIST"

list() { local IFS=,; echo "$*"; }
summary="${#passed[@]} passed, ${#failed[@]} failed"
[ ${#failed[@]} -gt 0 ] && summary+=" ($(list "${failed[@]}"))"
[ ${#xfailed[@]} -gt 0 ] && summary+=", ${#xfailed[@]} failed as expected ($(list "${xfailed[@]}"))"
[ ${#xpassed[@]} -gt 0 ] && summary+=", ${#xpassed[@]} passed though expected to fail ($(list "${xpassed[@]}"))"
if [ "$n" = 0 ]; then
  echo "NYX-VM-SUMMARY: the test list was empty"
  exit 100
fi
echo "NYX-VM-SUMMARY: $summary"
f=${#failed[@]}
[ "$f" -gt 100 ] && f=100
exit "$f"
