#!/usr/bin/env bash
# Configures and builds nsl with CMake + Ninja (+ ccache when present) into build/.
# Extra arguments go to cmake, e.g. scripts/build.sh -DNSL_SANITIZE=ON
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD_DIR="${NSL_BUILD_DIR:-$ROOT/build}"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
# Paths under the checkout are hashed relative to it, so every clone (CI's, a second work tree)
# shares one cache.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$ROOT}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="${NSL_BUILD_TYPE:-RelWithDebInfo}" "$@" >/dev/null
# Two cores: let Ninja decide, but keep memory in check on the heavy Asio/Beast units.
ninja -C "$BUILD_DIR"
