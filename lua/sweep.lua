-- Sweep(event, max_entries). ARGV: [4] max entries. Reply: now, removed, done.
-- Unlike the other calls it does not refill the bucket (as in the memory store: refilling at
-- more instants would round differently).
if not event_load() then return redis.error_reply("NOT_FOUND unknown event '" .. EVENT_ID .. "'") end
local now = clock_now()
if E.last_now ~= nil and E.last_now > now then now = E.last_now end
E.last_now = now
local max = tonumber(ARGV[4]) or 0
if max < 0 then max = 0 end
local removed = apply_passed(now, max)
local finished = dl_passed(now) and 0 or 1
return done({ now, removed, finished })
