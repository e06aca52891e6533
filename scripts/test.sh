#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite: unit tests (ctest) and integration tests that
# start the real nsl binary (pytest). Exits non-zero if anything fails.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD_DIR="${NSL_BUILD_DIR:-$ROOT/build}"
"$ROOT/scripts/setup.sh"
echo "== formatting (clang-format)"
"$ROOT/scripts/check-format.sh"
"$ROOT/scripts/build.sh"
echo "== static analysis (clang-tidy, the checks in .clang-tidy)"
"$ROOT/scripts/check-tidy.sh"

# Real peers, stopped however this script ends: PostgreSQL (its own cluster on a loopback port,
# password authentication; every test works in its own schema), Redis (loopback, password; every
# test uses its own key prefix) and the chain nodes.
DEVNETS="$(mktemp -d)"
PG_DIR="$(mktemp -d /tmp/nsl-pg.XXXXXX)"
REDIS_DIR="$(mktemp -d /tmp/nsl-redis.XXXXXX)"
cleanup() {
  "$ROOT/scripts/redis.sh" stop "$REDIS_DIR" || true
  "$ROOT/scripts/neox-devnet.sh" stop "$DEVNETS/neox" || true
  "$ROOT/scripts/neo-devnet.sh" stop "$DEVNETS/neo" || true
  "$ROOT/scripts/postgres.sh" stop "$PG_DIR" || true
  rm -rf "$DEVNETS" "$PG_DIR" "$REDIS_DIR"
}
trap cleanup EXIT
echo "== PostgreSQL for the backend tests"
NSL_TEST_PG_URL="$("$ROOT/scripts/postgres.sh" start "$PG_DIR")"
export NSL_TEST_PG_URL NSL_TEST_PG_DIR="$PG_DIR" NSL_TEST_PG_SCRIPT="$ROOT/scripts/postgres.sh"
echo "== Redis for the cache tests"
NSL_TEST_REDIS="$("$ROOT/scripts/redis.sh" start "$REDIS_DIR")"
export NSL_TEST_REDIS NSL_TEST_REDIS_DIR="$REDIS_DIR" NSL_TEST_REDIS_SCRIPT="$ROOT/scripts/redis.sh"

echo "== unit tests (ctest)"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j2

echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
ASAN_DIR="${NSL_ASAN_BUILD_DIR:-$ROOT/build-asan}"
NSL_BUILD_DIR="$ASAN_DIR" NSL_BUILD_TYPE=Debug "$ROOT/scripts/build.sh" -DNSL_SANITIZE=ON -DNSL_BUILD_BENCH=OFF
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$ASAN_DIR" --output-on-failure -j2

echo "== Neo X chain layer against a local EVM node (anvil, chain id 47763)"
NEOX_URL="$("$ROOT/scripts/neox-devnet.sh" start "$DEVNETS/neox")"
node "$ROOT/tests/js/compile_sol.js" "$ROOT/tests/contracts/Counter.sol" Counter > "$DEVNETS/counter.json"
NSL_NEOX_RPC_URL="$NEOX_URL" NSL_NEOX_COUNTER_JSON="$DEVNETS/counter.json" \
  "$BUILD_DIR/tests/chain/nsl_neox_node_test" --gtest_brief=1
echo "   the log watcher again, its state in PostgreSQL"
NSL_TEST_DB_BACKEND=postgres NSL_NEOX_RPC_URL="$NEOX_URL" NSL_NEOX_COUNTER_JSON="$DEVNETS/counter.json" \
  "$BUILD_DIR/tests/chain/nsl_neox_node_test" --gtest_brief=1 --gtest_filter='NeoXWatcher.*'

echo "== Neo N3 chain layer against a single-node neo-go network"
NEO_URL="$("$ROOT/scripts/neo-devnet.sh" start "$DEVNETS/neo")"
NSL_NEO_RPC_URL="$NEO_URL" NSL_NEO_DEVNET_DIR="$DEVNETS/neo" NSL_NEO_DEVNET_SCRIPT="$ROOT/scripts/neo-devnet.sh" \
  "$BUILD_DIR/tests/chain/nsl_neo_node_test" --gtest_brief=1
echo "   the notification watcher again, its state in PostgreSQL"
NSL_TEST_DB_BACKEND=postgres NSL_NEO_RPC_URL="$NEO_URL" NSL_NEO_DEVNET_DIR="$DEVNETS/neo" \
  NSL_NEO_DEVNET_SCRIPT="$ROOT/scripts/neo-devnet.sh" \
  "$BUILD_DIR/tests/chain/nsl_neo_node_test" --gtest_brief=1 --gtest_filter='NeoWatcher.*'

echo "== integration tests (pytest, real nsl binary over real HTTP)"
NSL_BUILD_DIR="$BUILD_DIR" NSL_BINARY="$BUILD_DIR/bin/nsl" python3 -m pytest -q -p no:cacheprovider "$ROOT/tests/integration"
