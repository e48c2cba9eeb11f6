-- Leave(event, token). ARGV: [4] token key. Reply: now, ticket.
if not event_load() then return redis.error_reply('NOT_FOUND unknown token') end
local now = begin()
local r, err = find_record(ARGV[4], now)
if r == nil then return advance_fail(now, err) end
if WAITING[r.state] or r.state == 'a' then
  E.left = E.left + 1
  end_record(r, 'l', now)
  rec_save(r)
end
advance(now)
return done(append_ticket({ now }, r, now))
