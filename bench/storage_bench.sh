#!/usr/bin/env bash
# Storage benchmark (issue: storage service), in one run on one private PostgreSQL (fsync on):
#   - pgbench single-row upserts into storage_data at CONNECTIONS clients (the raw baseline);
#   - POST /v1/storage/store/neo-n3 on `nsl serve` (Release) with encrypted values and the audit
#     trail on, CONNECTIONS connections, unique keys;
#   - GET of preloaded encrypted entries (served from the cache; decrypted by the enclave).
# Prints requests/s, p50/p95/p99 and the write ratio against pgbench.
#
#   bench/storage_bench.sh [SECONDS=10] [CONNECTIONS=64]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/bench/lib.sh"
BUILD_DIR="${NSL_BENCH_BUILD_DIR:-$ROOT/build-release}"
SECONDS_="${1:-10}"
CONNECTIONS="${2:-64}"
"$ROOT/scripts/setup.sh" >/dev/null
echo "building Release binaries in $BUILD_DIR ..." >&2
NSL_BUILD_TYPE=Release NSL_BUILD_DIR="$BUILD_DIR" "$ROOT/scripts/build.sh" -DNSL_BUILD_TESTS=OFF >/dev/null
WORK="$(mktemp -d /tmp/nsl-storagebench.XXXXXX)"
chmod 755 "$WORK"  # the server runs as `postgres` when this runs as root
cleanup() {
  nsl_stop
  "$ROOT/scripts/postgres.sh" stop "$WORK/pg" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
echo "starting PostgreSQL ..." >&2
URL="$("$ROOT/scripts/postgres.sh" start "$WORK/pg")"
BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"

export ConnectionStrings__DefaultConnection="$URL?Maximum Pool Size=32"
export RateLimiting__PermitLimit=100000000 Storage__MaxKeysPerOwner=100000000 Storage__MaxMegabytesPerOwner=100000
nsl_start "$BUILD_DIR" "$WORK/nsl"

echo "preloading 1000 encrypted entries ..." >&2
python3 - "$BASE" "$TOKEN" <<'PY'
import json, sys, urllib.request
base, token = sys.argv[1], sys.argv[2]
for i in range(1, 1001):
    body = json.dumps({"key": f"bench_{i}", "value": {"data": "test data", "n": i}, "encrypted": True}).encode()
    req = urllib.request.Request(base + "/v1/storage/store/neo-n3", body, {"Content-Type": "application/json",
                                 "Authorization": "Bearer " + token})
    assert urllib.request.urlopen(req).status == 200
PY
echo "nsl store: $CONNECTIONS connections, ${SECONDS_} s ..." >&2
STORE=$(wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_}s" --latency -s "$ROOT/bench/storage_store.lua" "$BASE/v1/storage/store/neo-n3" -- "$TOKEN" "${NSL_BENCH_ENCRYPTED:-true}" | grep '^{')
echo "nsl get: $CONNECTIONS connections, ${SECONDS_} s ..." >&2
GET=$(wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_}s" --latency -s "$ROOT/bench/storage_get.lua" "$BASE" -- "$TOKEN" 1000 | grep '^{')
nsl_stop

cat > "$WORK/upsert.sql" <<SQL
\set k random(1, 1000000)
INSERT INTO neo_service_layer.storage_data (user_address, key, value, size_bytes) VALUES ('pgbench', 'k' || :k, '{"v":1}', 7) ON CONFLICT (user_address, key) DO UPDATE SET value = excluded.value, updated_at = now();
SQL
echo "pgbench: $CONNECTIONS clients, ${SECONDS_} s ..." >&2
mkdir -p "$WORK/log"
(cd "$WORK/log" && "$BIN/pgbench" -n -M prepared -c "$CONNECTIONS" -j 2 -T "$SECONDS_" -l -f "$WORK/upsert.sql" "$URL" > "$WORK/pgbench.out" 2>&1) \
  || { cat "$WORK/pgbench.out" >&2; exit 1; }
python3 - "$STORE" "$GET" "$WORK/pgbench.out" "$WORK/log" "$CONNECTIONS" "$(nproc)" <<'PY'
import glob, json, re, sys
store, get = json.loads(sys.argv[1]), json.loads(sys.argv[2])
tps = float(re.search(r"tps = ([\d.]+)", open(sys.argv[3]).read()).group(1))
lat = sorted(int(l.split()[2]) / 1000.0 for f in glob.glob(sys.argv[4] + "/pgbench_log.*") for l in open(f))
pct = lambda q: lat[int(q * (len(lat) - 1))] if lat else 0.0
conns, cores = sys.argv[5], sys.argv[6]
print(f"storage on PostgreSQL, {conns} connections, {cores} cores, fsync on; nsl with encryption and the audit trail on")
print(f"{'':52}{'req/s':>9}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'ratio':>7}")
print(f"{'pgbench upserts (raw baseline)':52}{tps:>9,.0f}{pct(.5):>8.2f}{pct(.95):>8.2f}{pct(.99):>8.2f}{1.0:>7.2f}")
print(f"{'POST /v1/storage/store/neo-n3 (encrypted)':52}{store['per_s']:>9,.0f}{store['p50_ms']:>8.2f}{store['p95_ms']:>8.2f}{store['p99_ms']:>8.2f}{store['per_s'] / tps:>7.2f}")
print(f"{'GET /v1/storage/neo-n3/{key} (cached, decrypted)':52}{get['per_s']:>9,.0f}{get['p50_ms']:>8.2f}{get['p95_ms']:>8.2f}{get['p99_ms']:>8.2f}{'':>7}")
bad = store["non2xx"] + store["socket_errors"] + get["non2xx"] + get["socket_errors"]
if bad:
    print(f"WARNING: {bad} requests failed (non-2xx or socket errors)")
PY
