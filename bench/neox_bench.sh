#!/usr/bin/env bash
# Neo X encodings benchmark (issue: Neo X chain layer): EIP-1559 transactions built, signed and
# serialized per second, and Transfer logs decoded per second, by nsl (C++) and by ethers v6
# (Node) in the same run, with the ratio nsl/ethers.
#
#   bench/neox_bench.sh [COUNT=20000]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD_DIR="${NSL_BENCH_BUILD_DIR:-$ROOT/build-release}"
COUNT="${1:-20000}"
"$ROOT/scripts/setup.sh" >/dev/null
echo "building Release binaries in $BUILD_DIR ..." >&2
NSL_BUILD_TYPE=Release NSL_BUILD_DIR="$BUILD_DIR" "$ROOT/scripts/build.sh" -DNSL_BUILD_TESTS=OFF >/dev/null
OURS=$("$BUILD_DIR/bench/nsl_bench_neox" "$COUNT")
THEIRS=$(node "$ROOT/bench/neox_bench.js" "$COUNT")
python3 - "$OURS" "$THEIRS" "$COUNT" <<'PY'
import json, sys
ours, theirs, count = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
assert ours["check"] == theirs["check"], "the two sides did different work"
print(f"{count} EIP-1559 transactions, {int(count) * 5} Transfer logs, one core each")
print(f"{'':34}{'nsl':>12}{'ethers':>12}{'ratio':>8}")
for key, label in (("signed_per_s", "transactions signed per second"), ("logs_per_s", "logs decoded per second")):
    print(f"{label:34}{ours[key]:>12,}{theirs[key]:>12,}{ours[key] / theirs[key]:>8.1f}")
PY
