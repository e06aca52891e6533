-- wrk script: POST /v1/storage/store/neo-n3 with unique keys, encrypted values, a bearer token.
-- Arguments: TOKEN ENCRYPTED(true|false). Prints one JSON line with the totals.
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end

function init(args)
  token = args[1]
  encrypted = args[2] or "true"
  n = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. token
end

function request()
  n = n + 1
  return wrk.format(nil, nil, nil, '{"key":"w_' .. id .. '_' .. n .. '","value":{"data":"test data","n":' .. n ..
    '},"encrypted":' .. encrypted .. '}')
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests": %d, "per_s": %.0f, "non2xx": %d, "socket_errors": %d, "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f}\n',
    summary.requests, summary.requests / (summary.duration / 1e6), e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
