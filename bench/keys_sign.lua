-- wrk script: POST /v1/keys/{id}/sign with a different 32-byte digest each time, a bearer token.
-- Arguments: TOKEN. Prints one JSON line with the totals.
function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. args[1]
  n = math.random(1000000)
end

function request()
  n = n + 1
  return wrk.format(nil, nil, nil, string.format('{"digest":"%064x"}', n))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests": %d, "per_s": %.0f, "non2xx": %d, "socket_errors": %d, "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f}\n',
    summary.requests, summary.requests / (summary.duration / 1e6), e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
