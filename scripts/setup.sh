#!/usr/bin/env bash
# Installs everything nsl needs to build, run and test on a fresh Debian 12 machine.
# Safe to run again: it installs only what is missing.
set -euo pipefail

# Build and runtime libraries, the build tools, and the peers the tests and benchmarks use.
PACKAGES=(
  cmake ninja-build ccache g++ pkg-config clang-format clang-tidy
  libboost1.81-dev nlohmann-json3-dev libcli11-dev libsqlite3-dev libssl-dev libgtest-dev
  libsecp256k1-dev libcrypto++-dev libcurl4-openssl-dev libseccomp-dev libpq-dev libhiredis-dev libmimalloc-dev
  postgresql redis-server
  gdb openssl
  python3 python3-pip sqlite3 curl wrk
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Python packages used by the integration tests (an independent Prometheus parser among them).
if ! python3 -c "import pytest, prometheus_client, requests, cryptography, openapi_spec_validator, jsonschema, schemathesis" 2>/dev/null; then
  echo "setup: installing Python test packages" >&2
  python3 -m pip install --quiet --disable-pip-version-check -r "$(dirname "$0")/../tests/requirements.txt" \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages \
         -r "$(dirname "$0")/../tests/requirements.txt"
fi

# Independent implementations the tests check our encodings against (ethers for Neo X), pinned
# by tests/js/package-lock.json. Node.js comes from Debian when the machine has none.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "setup: installing Node.js" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends nodejs npm
fi
JS_DIR="$(cd "$(dirname "$0")/../tests/js" && pwd)"
LOCK_SUM="$(sha256sum "$JS_DIR/package-lock.json" | cut -d' ' -f1)"
if [ "$(cat "$JS_DIR/node_modules/.nsl-lock-sha256" 2>/dev/null)" != "$LOCK_SUM" ]; then
  echo "setup: installing test packages from npm (tests/js: ethers, neon-core, solc, anvil)" >&2
  (cd "$JS_DIR" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$LOCK_SUM" > "$JS_DIR/node_modules/.nsl-lock-sha256"
fi
