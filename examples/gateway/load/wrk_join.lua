-- wrk script for run_scenarios.sh: POST /api/v1/queue/join, a new user each time (event from
-- $EVENT), with browser-like Accept-Encoding and a client address of the user's own in
-- X-Real-IP (the gateway runs with --client_address_header=X-Real-IP, limits on). done()
-- prints one machine-readable line: RESULT req/s p50_ms p95_ms p99_ms non2xx socket_errors.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

local n = 0
local event = os.getenv("EVENT") or "wrk-join"
request = function()
  n = n + 1
  return wrk.format("POST", "/api/v1/queue/join", {
    ["Content-Type"] = "application/json",
    ["Accept-Encoding"] = "gzip, deflate, br",
    ["X-Real-IP"] = string.format("10.%d.%d.%d", 100 + id, math.floor(n / 256) % 256, n % 256),
  }, '{"event_id":"' .. event .. '","user_id":"w' .. id .. '-' .. n .. '"}')
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %.1f %.3f %.3f %.3f %d %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, e.status,
    e.connect + e.read + e.write + e.timeout))
end
