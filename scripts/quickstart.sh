#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine, as root: install dependencies, build, generate the
# example bundles and run the hello harness, then print its state record.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
examples/make-examples.sh build/nyx-runtime
echo "== nyx-runtime run examples/bundles/hello"
build/nyx-runtime run --report examples/bundles/hello/state-record.json examples/bundles/hello
echo "== its state record (nyx-runtime state, kept with --report)"
cat examples/bundles/hello/state-record.json
