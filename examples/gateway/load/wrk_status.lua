-- wrk script for run_scenarios.sh: GET /api/v1/queue/status with a waiting token drawn at
-- random from the file $TOKENS (one per line), browser-like Accept-Encoding and a random
-- client address in X-Real-IP. done() prints: RESULT req/s p50_ms p95_ms p99_ms non2xx errors.
local tokens = {}
for line in io.lines(os.getenv("TOKENS")) do
  tokens[#tokens + 1] = line
end

request = function()
  return wrk.format("GET", "/api/v1/queue/status?token=" .. tokens[math.random(#tokens)], {
    ["Accept-Encoding"] = "gzip, deflate, br",
    ["X-Real-IP"] = string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255),
      math.random(0, 255)),
  })
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %.1f %.3f %.3f %.3f %d %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, e.status,
    e.connect + e.read + e.write + e.timeout))
end
