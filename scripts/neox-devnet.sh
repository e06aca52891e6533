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
# shellcheck source=lib/devnet.sh
. "$ROOT/scripts/lib/devnet.sh"
CMD="${1:-}"
DIR="${2:-}"
[ -n "$CMD" ] && [ -n "$DIR" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

case "$CMD" in
  start)
    mkdir -p "$DIR"
    ANVIL="$ROOT/tests/js/node_modules/.bin/anvil"
    [ -x "$ANVIL" ] || { echo "anvil is not installed: run scripts/setup.sh" >&2; exit 1; }
    PORT=$(free_port)
    "$ANVIL" --host 127.0.0.1 --port "$PORT" --chain-id 47763 > "$DIR/anvil.log" 2>&1 &
    echo $! > "$DIR/pid"
    answers_chain_id() {
      curl -sf -X POST -H 'Content-Type: application/json' \
        --data '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$1" | grep -q '"0xba93"'
    }
    devnet_wait "$DIR" "http://127.0.0.1:$PORT" anvil answers_chain_id
    ;;
  stop)
    devnet_stop "$DIR"
    ;;
  *)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
