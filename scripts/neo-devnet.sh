#!/usr/bin/env bash
# A single-node Neo N3 private network for tests: neo-go v0.122.0 with 1-second blocks, RPC on a
# free loopback port, the chain in DIR/chain (LevelDB, so that it survives a restart), the Oracle
# service enabled (it serves requests once the committee designates its key), and the well-known
# privnet validator key (public and test-only; docs/neo-protocol.md §5). Genesis gives all NEO
# and 52,000,000 GAS to the validators' 1-of-1 multi-signature account
# NfgHwwTi3wHAS8aFAN243C5vGbkYDpqLHP; three fresh test accounts get 1000 GAS each from it (their
# addresses and WIFs in DIR/funded.json). The test contract tests/contracts/neo/notifier is compiled
# with `neo-go contract compile` into DIR/notifier.nef and DIR/notifier.manifest.json.
#
#   scripts/neo-devnet.sh start DIR     build neo-go if needed, start the node, wait for blocks,
#                                       print the RPC URL (also in DIR/url)
#   scripts/neo-devnet.sh restart DIR   stop the node and start it again on the same chain and port
#   scripts/neo-devnet.sh stop DIR      stop it
#
# neo-go is built from the exact module version (go mod download + go build), not `go install
# pkg@version`: the module proxy here refuses neo-go's version list, which `go install` asks for.
# The binary is cached in ~/.cache/nsl/neo-go-v0.122.0.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=lib/devnet.sh
. "$ROOT/scripts/lib/devnet.sh"
CMD="${1:-}"
DIR="${2:-}"
[ -n "$CMD" ] && [ -n "$DIR" ] || { echo "usage: $0 start|restart|stop DIR" >&2; exit 2; }
VERSION=v0.122.0
CACHE="${NSL_CACHE_DIR:-$HOME/.cache/nsl}/neo-go-$VERSION"
NEOGO="$CACHE/neo-go"

build_neogo() {
  [ -x "$NEOGO" ] && return
  command -v go >/dev/null || { echo "neo-devnet: Go 1.25 or newer is needed to build neo-go (this machine has none)" >&2; exit 1; }
  echo "neo-devnet: building neo-go $VERSION (once; cached in $CACHE) ..." >&2
  mkdir -p "$CACHE"
  local tmp
  tmp="$(mktemp -d)"
  (cd "$tmp" && go mod init nsl/neogo-fetch >/dev/null 2>&1 && go mod download "github.com/nspcc-dev/neo-go@$VERSION")
  rm -rf "$tmp"
  (cd "$(go env GOMODCACHE)/github.com/nspcc-dev/neo-go@$VERSION" && GOFLAGS=-mod=mod go build -o "$NEOGO.tmp" ./cli)
  mv "$NEOGO.tmp" "$NEOGO"
}

compile_contract() {
  local src="$ROOT/tests/contracts/neo/notifier"
  # The compiler loads the contract as a Go package: its interop module must be in the module cache.
  (cd "$src" && GOFLAGS=-mod=mod go mod download)
  "$NEOGO" contract compile -i "$src" -c "$src/notifier.yml" -o "$DIR/notifier.nef" \
    -m "$DIR/notifier.manifest.json" >/dev/null
}

has_blocks() {
  local count
  count=$(curl -sf -X POST -H 'Content-Type: application/json' \
    --data '{"jsonrpc":"2.0","id":1,"method":"getblockcount","params":[]}' "$1" 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["result"])' 2>/dev/null || echo 0)
  [ "$count" -ge 3 ]
}

run_node() {
  "$NEOGO" node --config-file "$DIR/protocol.yml" >> "$DIR/neo-go.log" 2>&1 &
  echo $! > "$DIR/pid"
  devnet_wait "$DIR" "http://127.0.0.1:$(cat "$DIR/rpc_port")" neo-go has_blocks
}

stop_node() {
  local pid
  pid="$(cat "$DIR/pid" 2>/dev/null || true)"
  devnet_stop "$DIR"
  # Wait until the node has closed its database: a restart reopens it.
  [ -n "$pid" ] || return 0
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
}

case "$CMD" in
  start)
    mkdir -p "$DIR"
    build_neogo
    compile_contract
    node "$ROOT/tests/js/neo_devnet_wallet.js" "$DIR/wallet.json"
    RPC_PORT=$(free_port)
    P2P_PORT=$(free_port)
    echo "$RPC_PORT" > "$DIR/rpc_port"
    cat > "$DIR/protocol.yml" <<YML
ProtocolConfiguration:
  Magic: 56753
  MaxTraceableBlocks: 200000
  TimePerBlock: 1s
  MaxTimePerBlock: 5s
  Genesis:
    TimePerBlock: 1s
  MemPoolSize: 50000
  StandbyCommittee:
    - 02b3622bf4017bdfe317c58aed5f4c753f206b7db896046fa7d774bbc4bf7f8dc2
  ValidatorsCount: 1
  SeedList: []
  VerifyTransactions: true
  P2PSigExtensions: false
ApplicationConfiguration:
  SkipBlockVerification: false
  DBConfiguration:
    Type: "leveldb"
    LevelDBOptions:
      DataDirectoryPath: "$DIR/chain"
  P2P:
    Addresses:
      - "127.0.0.1:$P2P_PORT"
    MinPeers: 0
    MaxPeers: 1
  Relay: true
  RPC:
    Enabled: true
    Addresses:
      - "127.0.0.1:$RPC_PORT"
    MaxGasInvoke: 15
    SessionEnabled: true
  Oracle:
    Enabled: true
    AllowPrivateHost: true
    AllowedContentTypes:
      - application/json
    Nodes:
      - "http://127.0.0.1:$RPC_PORT"
    RequestTimeout: 5s
    UnlockWallet:
      Path: "$DIR/wallet.json"
      Password: "one"
  Prometheus:
    Enabled: false
  Pprof:
    Enabled: false
  Consensus:
    Enabled: true
    UnlockWallet:
      Path: "$DIR/wallet.json"
      Password: "one"
YML
    URL="$(run_node)"
    # Test accounts with GAS from the genesis account (a transaction built by neon-core).
    node "$ROOT/tests/js/neo_devnet_fund.js" "$URL" "$DIR/funded.json" 3 1000
    echo "$URL"
    ;;
  restart)
    stop_node
    run_node >/dev/null
    ;;
  stop)
    stop_node
    ;;
  *)
    echo "usage: $0 start|restart|stop DIR" >&2
    exit 2
    ;;
esac
