# Shared by scripts/neo-devnet.sh and scripts/neox-devnet.sh (sourced, not run).

# A free TCP port on loopback.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# devnet_wait DIR URL NAME CHECK: calls CHECK URL every 0.2 s until it succeeds (then writes
# DIR/url and prints the URL), the process in DIR/pid exits, or 60 s pass (then shows its log).
devnet_wait() {
  local dir="$1" url="$2" name="$3" check="$4"
  for _ in $(seq 1 300); do
    if "$check" "$url"; then
      echo "$url" > "$dir/url"
      echo "$url"
      return 0
    fi
    kill -0 "$(cat "$dir/pid")" 2>/dev/null || { echo "$name exited:" >&2; tail -20 "$dir/$name.log" >&2; return 1; }
    sleep 0.2
  done
  echo "$name was not ready within 60 s; log:" >&2
  tail -20 "$dir/$name.log" >&2
  return 1
}

# devnet_stop DIR: stops the process in DIR/pid.
devnet_stop() {
  local dir="$1"
  if [ -f "$dir/pid" ]; then
    kill "$(cat "$dir/pid")" 2>/dev/null || true
    rm -f "$dir/pid" "$dir/url"
  fi
}
