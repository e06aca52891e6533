#!/usr/bin/env bash
# Enclave signing benchmark (issue: the enclave): secp256r1 signatures per second through the
# enclave boundary (nsl-enclave over its Unix socket, requests from THREADS threads), one
# signature per request and in batches, against `openssl speed ecdsap256` sign/s on one core
# measured in the same run; then POST /v1/keys/{id}/sign on `nsl serve` (Release, embedded
# SQLite, bearer token, audit trail on) at CONNECTIONS connections for SECONDS.
#
#   bench/enclave_bench.sh [COUNT=20000] [THREADS=4] [BATCH=64] [SECONDS=10] [CONNECTIONS=64]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/bench/lib.sh"
BUILD_DIR="${NSL_BENCH_BUILD_DIR:-$ROOT/build-release}"
COUNT="${1:-20000}"
THREADS="${2:-4}"
BATCH="${3:-64}"
SECONDS_="${4:-10}"
CONNECTIONS="${5:-64}"
"$ROOT/scripts/setup.sh" >/dev/null
echo "building Release binaries in $BUILD_DIR ..." >&2
NSL_BUILD_TYPE=Release NSL_BUILD_DIR="$BUILD_DIR" "$ROOT/scripts/build.sh" -DNSL_BUILD_TESTS=OFF >/dev/null
echo "openssl speed ecdsap256 (3 s) ..." >&2
RAW=$(openssl speed -seconds 3 ecdsap256 2>/dev/null | awk '/256 bits ecdsa \(nistp256\)/ {print $(NF-1)}')
OURS=$(NSL_ENCLAVE_BINARY="$BUILD_DIR/bin/nsl-enclave" "$BUILD_DIR/bench/nsl_bench_enclave" "$COUNT" "$THREADS" "$BATCH")

WORK="$(mktemp -d /tmp/nsl-signbench.XXXXXX)"
trap 'nsl_stop; rm -rf "$WORK"' EXIT
export RateLimiting__PermitLimit=100000000
nsl_start "$BUILD_DIR" "$WORK/nsl"
KEY_ID=$(curl -sf -X POST -H 'Content-Type: application/json' -H "Authorization: Bearer $TOKEN" \
  -d '{"name":"bench","kind":"secp256r1"}' "$BASE/v1/keys" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
echo "POST /v1/keys/{id}/sign: $CONNECTIONS connections, ${SECONDS_} s ..." >&2
API=$(wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_}s" --latency -s "$ROOT/bench/keys_sign.lua" "$BASE/v1/keys/$KEY_ID/sign" -- "$TOKEN" | grep '^{')
nsl_stop

python3 - "$OURS" "$RAW" "$THREADS" "$BATCH" "$(nproc)" "$API" "$CONNECTIONS" <<'PY'
import json, sys
ours, raw, threads, batch, cores = json.loads(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
api, conns = json.loads(sys.argv[6]), sys.argv[7]
print(f"secp256r1 signatures per second ({cores} cores; {threads} requests in flight)")
print(f"{'':44}{'sign/s':>12}{'ratio':>8}")
print(f"{'openssl speed ecdsap256 (1 core, raw)':44}{raw:>12,.0f}{1.0:>8.2f}")
print(f"{'nsl-enclave, 1 signature per request':44}{ours['single_per_s']:>12,}{ours['single_per_s'] / raw:>8.2f}")
print(f"{'nsl-enclave, ' + batch + ' signatures per request':44}{ours['batched_per_s']:>12,}{ours['batched_per_s'] / raw:>8.2f}")
print(f"{'POST /v1/keys/{id}/sign, ' + conns + ' connections':44}{api['per_s']:>12,.0f}{api['per_s'] / raw:>8.2f}"
      f"   p50 {api['p50_ms']:.2f} ms, p99 {api['p99_ms']:.2f} ms")
if api["non2xx"] + api["socket_errors"]:
    print(f"WARNING: {api['non2xx'] + api['socket_errors']} API requests failed (non-2xx or socket errors)")
PY
