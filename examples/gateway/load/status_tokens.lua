-- wrk script: GET /api/v1/queue/status, each request with a token drawn at random from the
-- file named by $TOKENS (one waiting token per line), so the store sees many users, not one.
local tokens = {}
for line in io.lines(os.getenv("TOKENS")) do
  tokens[#tokens + 1] = line
end

request = function()
  return wrk.format("GET", "/api/v1/queue/status?token=" .. tokens[math.random(#tokens)])
end
