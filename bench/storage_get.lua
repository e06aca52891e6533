-- wrk script: GET /v1/storage/neo-n3/bench_<n> over KEYS preloaded keys, with a bearer token.
-- Arguments: TOKEN KEYS. Prints one JSON line with the totals.
function init(args)
  token = args[1]
  keys = tonumber(args[2])
  wrk.headers["Authorization"] = "Bearer " .. token
  i = math.random(keys)
end

function request()
  i = i % keys + 1
  return wrk.format("GET", "/v1/storage/neo-n3/bench_" .. i)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests": %d, "per_s": %.0f, "non2xx": %d, "socket_errors": %d, "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f}\n',
    summary.requests, summary.requests / (summary.duration / 1e6), e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
