-- wrk script: POST /api/v1/queue/join with a fresh user id on every request (a burst of
-- arrivals into one event). Each wrk thread has its own Lua state, so setup() hands every
-- thread a distinct prefix.
local next_thread = 0
function setup(thread)
  next_thread = next_thread + 1
  thread:set("prefix", "t" .. next_thread .. "-")
end

local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "/api/v1/queue/join", { ["Content-Type"] = "application/json" },
    '{"event_id":"load-join","user_id":"' .. prefix .. n .. '"}')
end
