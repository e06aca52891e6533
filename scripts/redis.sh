#!/usr/bin/env bash
# A private Redis 7 for tests and benchmarks (Debian package `redis-server`, installed by
# scripts/setup.sh): on a free loopback port, with a password, no persistence.
#
#   scripts/redis.sh start DIR   start (the same port and password again after a stop); prints
#                                the connection string in the guide's form
#   scripts/redis.sh stop DIR    stop it
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=lib/devnet.sh
. "$ROOT/scripts/lib/devnet.sh"
CMD="${1:-}"
DIR="${2:-}"
[ -n "$CMD" ] && [ -n "$DIR" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
command -v redis-server >/dev/null || { echo "redis-server is not installed: run scripts/setup.sh" >&2; exit 1; }

case "$CMD" in
  start)
    mkdir -p "$DIR"
    DIR="$(cd "$DIR" && pwd)"
    [ -f "$DIR/port" ] || free_port > "$DIR/port"
    [ -f "$DIR/password" ] || head -c 18 /dev/urandom | base64 | tr '+/' 'xy' > "$DIR/password"
    PORT="$(cat "$DIR/port")"
    PASS="$(cat "$DIR/password")"
    printf 'bind 127.0.0.1\nport %s\nrequirepass %s\nsave ""\nappendonly no\ndir %s\nprotected-mode yes\n' \
      "$PORT" "$PASS" "$DIR" > "$DIR/redis.conf"
    redis-server "$DIR/redis.conf" > "$DIR/redis.log" 2>&1 &
    echo $! > "$DIR/pid"
    for _ in $(seq 1 100); do
      if REDISCLI_AUTH="$PASS" redis-cli -h 127.0.0.1 -p "$PORT" ping 2>/dev/null | grep -q PONG; then
        echo "127.0.0.1:$PORT,password=$PASS,abortConnect=false,ssl=false"
        exit 0
      fi
      kill -0 "$(cat "$DIR/pid")" 2>/dev/null || { echo "redis-server exited:" >&2; tail -20 "$DIR/redis.log" >&2; exit 1; }
      sleep 0.1
    done
    echo "redis-server was not ready within 10 s" >&2
    exit 1
    ;;
  stop)
    if [ -f "$DIR/pid" ]; then
      PID="$(cat "$DIR/pid")"
      kill "$PID" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
      rm -f "$DIR/pid"
    fi
    ;;
  *)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
