#!/usr/bin/env bash
# sanitize.sh: builds the unit tests, the fuzz-corpus replay and the runtime with clang
# -fsanitize=address,undefined into build-asan/ and runs them: the unit tests, every fuzz seed
# and regression, and a real container (create, start, state, delete; a hostile config).
# Any sanitizer report fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build-asan
# -O1 and line tables only: the usual for sanitizers, and half the compile time of -O2 -g.
CC=clang CXX=clang++ cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNYX_SANITIZE=ON \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
  -DNYX_BENCH=OFF >/dev/null
cmake --build "$dir" -j"$(nproc)" --target nyx-unit-tests nyx-fuzz-replay nyx-runtime >/dev/null
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

"$dir/tests/nyx-unit-tests" --gtest_brief=1
"$dir/tests/fuzz/nyx-fuzz-replay" tests/fuzz/seeds tests/fuzz/regressions

# A real container under the sanitized runtime. The init is a clone of the runtime, so its
# hardening steps run instrumented too until execve.
nyx=$dir/nyx-runtime
work=$(mktemp -d /tmp/nyx-asan.XXXXXX)
trap '"$nyx" --root "$work/root" delete --force asan-smoke-$$ >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
chmod 755 "$work"
mkdir -p "$work/b"
examples/make-rootfs.sh "$work/b/rootfs" >/dev/null
"$nyx" spec --bundle "$work/b" -- /bin/sh -c 'echo sanitized'
out=$("$nyx" --root "$work/root" run --bundle "$work/b" asan-run-$$)
[ "$out" = sanitized ] || { echo "sanitize: run printed \"$out\"" >&2; exit 1; }
"$nyx" --root "$work/root" create --bundle "$work/b" asan-smoke-$$
"$nyx" --root "$work/root" state asan-smoke-$$ >/dev/null
"$nyx" --root "$work/root" list --format json >/dev/null
"$nyx" --root "$work/root" start asan-smoke-$$
"$nyx" --root "$work/root" delete --force asan-smoke-$$
cp tests/fuzz/regressions/number-overflow.json "$work/b/config.json"
if "$nyx" --root "$work/root" create --bundle "$work/b" asan-bad-$$ 2>/dev/null; then
  echo "sanitize: a hostile config was accepted" >&2
  exit 1
fi
echo "sanitize: unit tests, fuzz replay and a real container passed under ASan+UBSan"
