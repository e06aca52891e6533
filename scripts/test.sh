#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite: unit tests (ctest) and integration tests that
# start the real nsl binary (pytest). Exits non-zero if anything fails.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD_DIR="${NSL_BUILD_DIR:-$ROOT/build}"
"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build.sh"

echo "== unit tests (ctest)"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j2

echo "== integration tests (pytest, real nsl binary over real HTTP)"
NSL_BINARY="$BUILD_DIR/src/app/nsl" python3 -m pytest -q -p no:cacheprovider "$ROOT/tests/integration"
