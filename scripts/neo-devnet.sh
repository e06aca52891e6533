#!/usr/bin/env bash
# A single-node Neo N3 private network for tests: neo-go v0.122.0 with 1-second blocks, RPC on a
# free loopback port, an in-memory chain, and the well-known privnet validator key (public and
# test-only; docs/neo-protocol.md §5). Genesis gives all NEO and 52,000,000 GAS to the
# validators' 1-of-1 multi-signature account NfgHwwTi3wHAS8aFAN243C5vGbkYDpqLHP.
#
#   scripts/neo-devnet.sh start DIR   build neo-go if needed, start the node, wait for blocks,
#                                     print the RPC URL (also in DIR/url)
#   scripts/neo-devnet.sh stop DIR    stop it
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
[ -n "$CMD" ] && [ -n "$DIR" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
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

case "$CMD" in
  start)
    mkdir -p "$DIR"
    build_neogo
    node "$ROOT/tests/js/neo_devnet_wallet.js" "$DIR/wallet.json"
    RPC_PORT=$(free_port)
    P2P_PORT=$(free_port)
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
    Type: "inmemory"
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
    "$NEOGO" node --config-file "$DIR/protocol.yml" > "$DIR/neo-go.log" 2>&1 &
    echo $! > "$DIR/pid"
    has_blocks() {
      local count
      count=$(curl -sf -X POST -H 'Content-Type: application/json' \
        --data '{"jsonrpc":"2.0","id":1,"method":"getblockcount","params":[]}' "$1" 2>/dev/null |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["result"])' 2>/dev/null || echo 0)
      [ "$count" -ge 3 ]
    }
    devnet_wait "$DIR" "http://127.0.0.1:$RPC_PORT" neo-go has_blocks
    ;;
  stop)
    devnet_stop "$DIR"
    ;;
  *)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
