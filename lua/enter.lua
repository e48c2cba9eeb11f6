-- Enter(event, token, reservation). ARGV: [4] token key, [5] reservation token.
-- Reply: now, granted, by_bypass, repeated, ticket.
if not event_load() then return redis.error_reply('NOT_FOUND unknown token') end
local now = begin()
local r, err = find_record(ARGV[4], now)
if r == nil then return fail(err) end

if r.state == 'a' then
  return done(append_ticket({ now, 1, 0, 1 }, r, now))
end
if not WAITING[r.state] then
  return fail('FAILED_PRECONDITION cannot enter: the user is ' .. STATE_NAME[r.state] ..
              ', not waiting')
end

-- Pre-queued users are refused here too (not_waiting until the opening).
local position, _, block = standing(r, now)
if block ~= B_NONE then
  set_deadline(r, now + E.heartbeat_ttl)
  rec_save(r)
  return done(append_ticket({ now, 0, 0, 0 }, r, now, position))
end
local by_bypass = admit(r, now, ARGV[5], E.method == M_PASSTHROUGH)
return done(append_ticket({ now, 1, by_bypass, 0 }, r, now))
