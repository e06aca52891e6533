#!/usr/bin/env bash
# Neo N3 benchmark (issue: Neo N3 chain layer), nsl (C++) against neon-core (Node) in the same run:
#  - GAS transfers built, signed and serialized per second, one core each;
#  - watcher throughput: notifications per second replaying a block range from a local neo-go
#    node (scripts/neo-devnet.sh) that holds TXS transactions of 200 notifications each. Both
#    sides fetch the blocks and application logs and decode every notification; nsl also keeps
#    its cursor in SQLite, and in the last row writes every notification there too.
#
#   bench/neo_bench.sh [COUNT=20000] [TXS=50]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD_DIR="${NSL_BENCH_BUILD_DIR:-$ROOT/build-release}"
COUNT="${1:-20000}"
TXS="${2:-50}"
"$ROOT/scripts/setup.sh" >/dev/null
echo "building Release binaries in $BUILD_DIR ..." >&2
NSL_BUILD_TYPE=Release NSL_BUILD_DIR="$BUILD_DIR" "$ROOT/scripts/build.sh" -DNSL_BUILD_TESTS=OFF >/dev/null
BIN="$BUILD_DIR/bench/nsl_bench_neo"
JS="$ROOT/bench/neo_bench.js"

SIGN_OURS=$("$BIN" sign "$COUNT")
SIGN_THEIRS=$(node "$JS" sign "$COUNT")

DEVNET="$(mktemp -d)"
trap '"$ROOT/scripts/neo-devnet.sh" stop "$DEVNET"; rm -rf "$DEVNET"' EXIT
echo "starting a neo-go node and sending $TXS transactions of 200 notifications ..." >&2
URL="$("$ROOT/scripts/neo-devnet.sh" start "$DEVNET")"
FILL=$("$BIN" fill "$URL" "$DEVNET" "$TXS")
read -r HASH FROM TO < <(python3 -c 'import json,sys; f=json.loads(sys.argv[1]); print(f["contract"], f["from"], f["to"])' "$FILL")
echo "replaying blocks $FROM..$TO ..." >&2
WATCH_OURS=$("$BIN" watch "$URL" "$HASH" "$FROM" "$TO" 16 0)
WATCH_OURS_1=$("$BIN" watch "$URL" "$HASH" "$FROM" "$TO" 1 0)
WATCH_OURS_DB=$("$BIN" watch "$URL" "$HASH" "$FROM" "$TO" 16 1)
WATCH_THEIRS=$(node "$JS" watch "$URL" "$HASH" "$FROM" "$TO")

python3 - "$COUNT" "$SIGN_OURS" "$SIGN_THEIRS" "$FILL" "$WATCH_OURS" "$WATCH_OURS_1" "$WATCH_OURS_DB" "$WATCH_THEIRS" <<'PY'
import json, sys
count = sys.argv[1]
sign_ours, sign_theirs, fill, ours, ours1, ours_db, theirs = (json.loads(a) for a in sys.argv[2:])
assert sign_ours["check"] == sign_theirs["check"], "the two sides built different transactions"
for w in (ours, ours1, ours_db, theirs):
    assert w["notifications"] == fill["notifications"], f"{w['notifications']} notifications seen, {fill['notifications']} sent"
print(f"{count} GAS transfers signed, one core each")
print(f"{'':44}{'nsl':>12}{'neon-core':>12}{'ratio':>8}")
r = sign_ours["signed_per_s"] / sign_theirs["signed_per_s"]
print(f"{'transactions signed per second':44}{sign_ours['signed_per_s']:>12,}{sign_theirs['signed_per_s']:>12,}{r:>8.1f}")
print(f"watcher: {fill['notifications']:,} notifications in blocks {fill['from']}..{fill['to']}, local neo-go node")
for label, w in (("notifications/s, 16 requests in flight", ours), ("notifications/s, 1 request in flight", ours1),
                 ("notifications/s, 16 in flight, each to SQLite", ours_db)):
    print(f"{label:44}{w['notifications_per_s']:>12,}{theirs['notifications_per_s']:>12,}{w['notifications_per_s'] / theirs['notifications_per_s']:>8.1f}")
PY
