#!/usr/bin/env bash
# A local EVM node for Neo X tests: anvil (npm @foundry-rs/anvil, installed by scripts/setup.sh)
# on a free loopback port with Neo X MainNet's chain id 47763. Its ten accounts are funded with
# 10000 native tokens each (mnemonic "test test ... junk"; account 0 is the key in
# docs/neo-protocol.md §6). Blocks are mined as transactions arrive.
#
#   scripts/neox-devnet.sh start DIR   start it; writes DIR/url and DIR/pid, prints the URL
#   scripts/neox-devnet.sh stop DIR    stop it
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CMD="${1:-}"
DIR="${2:-}"
[ -n "$CMD" ] && [ -n "$DIR" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

case "$CMD" in
  start)
    mkdir -p "$DIR"
    ANVIL="$ROOT/tests/js/node_modules/.bin/anvil"
    [ -x "$ANVIL" ] || { echo "anvil is not installed: run scripts/setup.sh" >&2; exit 1; }
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$ANVIL" --host 127.0.0.1 --port "$PORT" --chain-id 47763 > "$DIR/anvil.log" 2>&1 &
    echo $! > "$DIR/pid"
    URL="http://127.0.0.1:$PORT"
    for _ in $(seq 1 150); do
      if curl -sf -X POST -H 'Content-Type: application/json' \
           --data '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$URL" | grep -q '"0xba93"'; then
        echo "$URL" > "$DIR/url"
        echo "$URL"
        exit 0
      fi
      kill -0 "$(cat "$DIR/pid")" 2>/dev/null || { echo "anvil exited:" >&2; cat "$DIR/anvil.log" >&2; exit 1; }
      sleep 0.2
    done
    echo "anvil did not answer within 30 s" >&2
    exit 1
    ;;
  stop)
    if [ -f "$DIR/pid" ]; then
      kill "$(cat "$DIR/pid")" 2>/dev/null || true
      rm -f "$DIR/pid" "$DIR/url"
    fi
    ;;
  *)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
