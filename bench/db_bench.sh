#!/usr/bin/env bash
# Data-layer benchmark: single-row upserts into storage_data on one private PostgreSQL server
# (fsync and synchronous_commit on, as in production), in one run:
#   - pgbench at CLIENTS clients, each upsert its own transaction (the raw baseline);
#   - the same upserts through nsl's database layer (Database::write: group commit, pipelined)
#     from CLIENTS concurrent callers; each write is counted only after its commit.
# Prints both rates, p99 latency and the ratio.
#
#   bench/db_bench.sh [SECONDS=10] [CLIENTS=32] [KEYS=100000]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD_DIR="${NSL_BENCH_BUILD_DIR:-$ROOT/build-release}"
SECONDS_="${1:-10}"
CLIENTS="${2:-32}"
KEYS="${3:-100000}"
"$ROOT/scripts/setup.sh" >/dev/null
echo "building Release binaries in $BUILD_DIR ..." >&2
NSL_BUILD_TYPE=Release NSL_BUILD_DIR="$BUILD_DIR" "$ROOT/scripts/build.sh" -DNSL_BUILD_TESTS=OFF >/dev/null
WORK="$(mktemp -d /tmp/nsl-dbbench.XXXXXX)"
chmod 755 "$WORK"  # the server runs as `postgres` when this runs as root
trap '"$ROOT/scripts/postgres.sh" stop "$WORK/pg" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
echo "starting PostgreSQL ..." >&2
URL="$("$ROOT/scripts/postgres.sh" start "$WORK/pg")"
BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"

# Our layer first: it also creates the schema (migrations) that pgbench then writes into.
echo "nsl database layer: $CLIENTS callers, ${SECONDS_} s ..." >&2
OURS=$("$BUILD_DIR/bench/nsl_bench_db" "$URL?Maximum Pool Size=$CLIENTS" "$SECONDS_" "$CLIENTS" "$KEYS")

cat > "$WORK/upsert.sql" <<SQL
\set k random(1, $KEYS)
INSERT INTO neo_service_layer.storage_data (user_address, key, value, size_bytes) VALUES ('bench', 'k' || :k, '{"v":1}', 7) ON CONFLICT (user_address, key) DO UPDATE SET value = excluded.value, updated_at = now();
SQL
echo "pgbench: $CLIENTS clients, ${SECONDS_} s ..." >&2
mkdir -p "$WORK/log"
(cd "$WORK/log" && "$BIN/pgbench" -n -M prepared -c "$CLIENTS" -j 2 -T "$SECONDS_" -l -f "$WORK/upsert.sql" "$URL" > "$WORK/pgbench.out" 2>&1) \
  || { cat "$WORK/pgbench.out" >&2; exit 1; }
python3 - "$OURS" "$WORK/pgbench.out" "$WORK/log" "$CLIENTS" "$(nproc)" <<'PY'
import glob, json, re, sys
ours = json.loads(sys.argv[1])
out = open(sys.argv[2]).read()
tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
lat = sorted(int(line.split()[2]) / 1000.0 for f in glob.glob(sys.argv[3] + "/pgbench_log.*") for line in open(f))
p99 = lat[int(0.99 * (len(lat) - 1))] if lat else 0.0
clients, cores = sys.argv[4], sys.argv[5]
print(f"single-row upserts into storage_data, {clients} concurrent writers, {cores} cores, fsync on")
print(f"{'':46}{'writes/s':>10}{'p99 ms':>9}{'ratio':>7}")
print(f"{'pgbench (raw, one transaction per upsert)':46}{tps:>10,.0f}{p99:>9.2f}{1.0:>7.2f}")
print(f"{'nsl database layer (group commit)':46}{ours['per_s']:>10,.0f}{ours['p99_ms']:>9.2f}{ours['per_s'] / tps:>7.2f}")
PY
