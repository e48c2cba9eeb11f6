-- Enter(event, token, reservation). ARGV: [4] token key, [5] reservation token.
-- Reply: now, granted, by_bypass, repeated, ticket.
if not event_load() then return redis.error_reply('NOT_FOUND unknown token') end
local now = begin()
local r, err = find_record(ARGV[4], now)
if r == nil then return advance_fail(now, err) end

if r.state == 'a' then
  advance(now)
  return done(append_ticket({ now, 1, 0, 1 }, r, now))
end
if not WAITING[r.state] then
  return advance_fail(now, 'FAILED_PRECONDITION cannot enter: the user is ' ..
                      STATE_NAME[r.state] .. ', not waiting')
end

-- The refresh of Status, then Advance (which may grant this user), then the entry itself.
local position = refresh(r, now)
rec_save(r)
advance(now)
if E.method == M_RANDOM then position = nil end
local in_line = r.state ~= 'p' or E.opened  -- pre-queued users are refused (not_waiting)
if in_line and not E.paused then
  if r.grant_until ~= nil then
    local by_bypass = admit(r, now, ARGV[5], 'grant')
    return done(append_ticket({ now, 1, by_bypass, 0 }, r, now))
  elseif E.method == M_PASSTHROUGH then
    admit(r, now, ARGV[5], 'passthrough')
    return done(append_ticket({ now, 1, 0, 0 }, r, now))
  end
end
return done(append_ticket({ now, 0, 0, 0 }, r, now, position))
