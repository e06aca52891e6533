#!/usr/bin/env bash
# A private PostgreSQL 15 server for tests and benchmarks (Debian package `postgresql`, installed
# by scripts/setup.sh): its own cluster in DIR, on a free loopback port, password authentication
# (scram-sha-256), database `nsl` owned by role `nsl`. Run as root it runs as the `postgres` user.
#
#   scripts/postgres.sh start DIR     create (first time) and start; prints the connection URI
#   scripts/postgres.sh restart DIR   stop (fast) and start again on the same port
#   scripts/postgres.sh stop DIR      stop it
#   scripts/postgres.sh psql DIR ...  psql as the cluster's superuser
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=lib/devnet.sh
. "$ROOT/scripts/lib/devnet.sh"
CMD="${1:-}"
DIR="${2:-}"
[ -n "$CMD" ] && [ -n "$DIR" ] || { echo "usage: $0 start|restart|stop|psql DIR" >&2; exit 2; }

BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -x "$BIN/initdb" ] || { echo "PostgreSQL is not installed: run scripts/setup.sh" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_ctl_do() { as_owner "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/postgres.log" -w -t 60 "$@" >/dev/null; }

case "$CMD" in
  start)
    mkdir -p "$DIR"
    DIR="$(cd "$DIR" && pwd)"
    if [ "$(id -u)" -eq 0 ]; then
      chown postgres: "$DIR"
      chmod 700 "$DIR"
      runuser -u postgres -- test -w "$DIR" \
        || { echo "the postgres user cannot reach $DIR: every directory above it must be searchable (chmod o+x)" >&2; exit 1; }
    fi
    if [ ! -f "$DIR/data/PG_VERSION" ]; then
      PORT=$(free_port)
      PASS="$(head -c 18 /dev/urandom | base64 | tr '+/' 'xy')"
      echo "$PASS" > "$DIR/superuser-password"
      [ "$(id -u)" -eq 0 ] && chown postgres: "$DIR/superuser-password"
      as_owner "$BIN/initdb" -D "$DIR/data" -U postgres --pwfile="$DIR/superuser-password" \
        --auth=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$DIR/initdb.log" 2>&1 \
        || { cat "$DIR/initdb.log" >&2; exit 1; }
      cat >> "$DIR/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DIR'
max_connections = 300
log_min_messages = warning
CONF
      echo "$PORT" > "$DIR/port"
      pg_ctl_do start
      PGPASSWORD="$PASS" "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE ROLE nsl LOGIN CREATEDB PASSWORD '$PASS';
CREATE DATABASE nsl OWNER nsl;
SQL
      echo "postgresql://nsl:$PASS@127.0.0.1:$PORT/nsl" > "$DIR/url"
    else
      pg_ctl_do start
    fi
    cat "$DIR/url"
    ;;
  restart)
    pg_ctl_do -m fast restart
    cat "$DIR/url"
    ;;
  stop)
    [ -f "$DIR/data/postmaster.pid" ] && pg_ctl_do -m fast stop || true
    ;;
  psql)
    shift 2
    PGPASSWORD="$(cat "$DIR/superuser-password")" "$BIN/psql" -h 127.0.0.1 -p "$(cat "$DIR/port")" -U postgres "$@"
    ;;
  *)
    echo "usage: $0 start|restart|stop|psql DIR" >&2
    exit 2
    ;;
esac
