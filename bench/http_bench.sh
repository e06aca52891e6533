#!/usr/bin/env bash
# Foundation benchmark (issue: platform foundation): GET /health/live on `nsl serve` with its
# whole pipeline on (ids, routing, deadline, security headers, metrics, JSON access log written
# to a file) against a minimal Beast server built from bench/, both loaded by wrk in the same
# run, one after the other. Prints requests/s, p50 and p99 for each and the ratio nsl/minimal.
# Then (issue: identity) an authenticated route, GET /v1/auth/me with an ES256 bearer token
# (signature check, revocation check, rate limiting with a limit high enough never to refuse, and
# an audit record per request),
# against /health/live on the same server.
#
#   bench/http_bench.sh [DURATION_SECONDS=10] [CONNECTIONS=64]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD_DIR="${NSL_BENCH_BUILD_DIR:-$ROOT/build-release}"
DURATION="${1:-10}"
CONNECTIONS="${2:-64}"
THREADS=2

command -v wrk >/dev/null || { echo "wrk is missing: run scripts/setup.sh" >&2; exit 1; }
echo "building Release binaries in $BUILD_DIR ..." >&2
NSL_BUILD_TYPE=Release NSL_BUILD_DIR="$BUILD_DIR" "$ROOT/scripts/build.sh" -DNSL_BUILD_TESTS=OFF >/dev/null
WORK="$(mktemp -d)"
cleanup() {
  [ -n "${NSL_PID:-}" ] && kill "$NSL_PID" 2>/dev/null || true
  [ -n "${MIN_PID:-}" ] && kill "$MIN_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

wait_port() {  # file, pattern → port
  for _ in $(seq 1 200); do
    if port=$(grep -o "$2[0-9]*" "$1" 2>/dev/null | head -1 | grep -o '[0-9]*$'); then
      [ -n "$port" ] && { echo "$port"; return; }
    fi
    sleep 0.05
  done
  echo "server did not start; log:" >&2; cat "$1" >&2; exit 1
}

run_wrk() {  # url → "rps p50_ms p99_ms"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$1" > "$WORK/wrk.txt"
  local rps p50 p99
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$WORK/wrk.txt")
  p50=$(awk '$1=="50%" {print $2}' "$WORK/wrk.txt")
  p99=$(awk '$1=="99%" {print $2}' "$WORK/wrk.txt")
  errors=$(grep -E "Non-2xx|Socket errors" "$WORK/wrk.txt" || true)
  [ -n "$errors" ] && echo "  wrk reported: $errors" >&2
  echo "$rps $(to_ms "$p50") $(to_ms "$p99")"
}

to_ms() {  # wrk prints 1.23ms / 456.00us / 1.2s
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'
}

"$BUILD_DIR/bench/nsl_bench_minimal_server" 0 > "$WORK/minimal.log" &
MIN_PID=$!
MIN_PORT=$(wait_port "$WORK/minimal.log" "listening on ")

mkdir -p "$WORK/nsl"
(cd "$WORK/nsl" && "$BUILD_DIR/bin/nsl" migrate >/dev/null &&
  "$BUILD_DIR/bin/nsl" admin create --name bench > "$WORK/nsl/admin.txt" &&
  RateLimiting__PermitLimit=1000000000 exec "$BUILD_DIR/bin/nsl" serve --urls http://127.0.0.1:0 > "$WORK/nsl/access.log") &
NSL_PID=$!
NSL_PORT=$(wait_port "$WORK/nsl/access.log" 'Now listening on: http://127.0.0.1:')

echo "GET /health/live, wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, $(nproc) cores, Release build"
# Warm both up briefly, then measure each alone.
wrk -t1 -c8 -d1s "http://127.0.0.1:$MIN_PORT/health/live" >/dev/null
wrk -t1 -c8 -d1s "http://127.0.0.1:$NSL_PORT/health/live" >/dev/null
read -r MIN_RPS MIN_P50 MIN_P99 < <(run_wrk "http://127.0.0.1:$MIN_PORT/health/live")
read -r NSL_RPS NSL_P50 NSL_P99 < <(run_wrk "http://127.0.0.1:$NSL_PORT/health/live")
LOG_LINES=$(grep -c '"category":"http.access"' "$WORK/nsl/access.log" || true)

printf "%-28s %12s %10s %10s\n" "server" "requests/s" "p50 ms" "p99 ms"
printf "%-28s %12.0f %10s %10s\n" "minimal Beast (baseline)" "$MIN_RPS" "$MIN_P50" "$MIN_P99"
printf "%-28s %12.0f %10s %10s\n" "nsl serve (full pipeline)" "$NSL_RPS" "$NSL_P50" "$NSL_P99"
awk -v a="$NSL_RPS" -v b="$MIN_RPS" 'BEGIN { printf "ratio nsl/minimal: %.2f (goal >= 0.80)\n", a / b }'
echo "access-log lines written by nsl during the run: $LOG_LINES"

API_KEY=$(awk '/^api key/ {print $3}' "$WORK/nsl/admin.txt")
TOKEN=$(curl -sf -X POST -d "{\"api_key\":\"$API_KEY\"}" "http://127.0.0.1:$NSL_PORT/v1/auth/token" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$NSL_PORT/v1/auth/me")" = 200 ] ||
  { echo "the bench token is refused" >&2; exit 1; }
run_wrk_auth() {
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "Authorization: Bearer $TOKEN" "$1" > "$WORK/wrk.txt"
  local rps p50 p99
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$WORK/wrk.txt")
  p50=$(awk '$1=="50%" {print $2}' "$WORK/wrk.txt")
  p99=$(awk '$1=="99%" {print $2}' "$WORK/wrk.txt")
  errors=$(grep -E "Non-2xx|Socket errors" "$WORK/wrk.txt" || true)
  [ -n "$errors" ] && echo "  wrk reported: $errors" >&2
  echo "$rps $(to_ms "$p50") $(to_ms "$p99")"
}
read -r AUTH_RPS AUTH_P50 AUTH_P99 < <(run_wrk_auth "http://127.0.0.1:$NSL_PORT/v1/auth/me")
echo
echo "authenticated route on the same server (ES256 token, revocation check, rate limiting, audit record)"
printf "%-28s %12s %10s %10s\n" "route" "requests/s" "p50 ms" "p99 ms"
printf "%-28s %12.0f %10s %10s\n" "GET /health/live" "$NSL_RPS" "$NSL_P50" "$NSL_P99"
printf "%-28s %12.0f %10s %10s\n" "GET /v1/auth/me (bearer)" "$AUTH_RPS" "$AUTH_P50" "$AUTH_P99"
awk -v a="$AUTH_RPS" -v b="$NSL_RPS" 'BEGIN { printf "ratio authenticated/open: %.2f (the security pipeline costs %.0f %%)\n", a / b, (1 - a / b) * 100 }'
