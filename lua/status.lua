-- Status(event, token): renews a waiting user's heartbeat and presence. ARGV: [4] token key.
-- Reply: now, ticket.
if not event_load() then return redis.error_reply('NOT_FOUND unknown token') end
local now = begin()
local r, err = find_record(ARGV[4], now)
if r == nil then return advance_fail(now, err) end
local position = nil
if WAITING[r.state] then
  position = refresh(r, now)
  rec_save(r)
end
advance(now)
if E.method == M_RANDOM then position = nil end  -- the draws may have moved it
return done(append_ticket({ now }, r, now, position))
