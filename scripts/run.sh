#!/usr/bin/env bash
# Sets up, builds and starts `nsl serve` on its embedded defaults (http://0.0.0.0:5000, SQLite
# in ./data, enclave-free foundation). Arguments are passed to `nsl serve`.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build.sh"
exec "${NSL_BUILD_DIR:-$ROOT/build}/bin/nsl" serve "$@"
