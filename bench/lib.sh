# Shared by the benchmarks that drive `nsl serve` over HTTP. Source it, then:
#   nsl_start BUILD_DIR WORKDIR   migrates, creates an admin, starts the server on a free port and
#                                 sets NSL_PID, BASE (http://127.0.0.1:PORT), KEY (its API key)
#                                 and TOKEN (a bearer token for it)
#   nsl_stop                      stops it
# Configuration comes from the caller's environment (ConnectionStrings__..., RateLimiting__...).

nsl_start() {
  local build="$1" work="$2" port=""
  mkdir -p "$work"
  (cd "$work" && "$build/bin/nsl" migrate >/dev/null)
  KEY=$(cd "$work" && "$build/bin/nsl" admin create --name bench | awk '/^api key/ {print $3}')
  (cd "$work" && exec "$build/bin/nsl" serve --urls http://127.0.0.1:0 > "$work/nsl.log" 2>&1) &
  NSL_PID=$!
  for _ in $(seq 1 200); do
    port=$(grep -o '"port":[0-9]*' "$work/nsl.log" 2>/dev/null | head -1 | grep -o '[0-9]*$' || true)
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] || { echo "nsl did not start:" >&2; cat "$work/nsl.log" >&2; return 1; }
  BASE="http://127.0.0.1:$port"
  TOKEN=$(curl -sf -X POST -H 'Content-Type: application/json' -d "{\"api_key\":\"$KEY\"}" "$BASE/v1/auth/token" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
}

nsl_stop() {
  if [ -n "${NSL_PID:-}" ]; then
    kill "$NSL_PID" 2>/dev/null || true
    wait "$NSL_PID" 2>/dev/null || true
    NSL_PID=""
  fi
}
