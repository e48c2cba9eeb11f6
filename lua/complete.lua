-- Complete(event, token). ARGV: [4] token key. Reply: now, ticket.
if not event_load() then return redis.error_reply('NOT_FOUND unknown token') end
local now = begin()
local r, err = find_record(ARGV[4], now)
if r == nil then return advance_fail(now, err) end
if r.state == 'a' then
  E.completed = E.completed + 1
  end_record(r, 'c', now)
  rec_save(r)
elseif r.state ~= 'c' then
  local name = STATE_NAME[r.state] or 'waiting'  -- the state as the ticket shows it
  if r.state == 'p' and not E.opened then name = 'prequeue' end
  return advance_fail(now, 'FAILED_PRECONDITION cannot complete: the user is ' .. name ..
                      ', not admitted')
end
advance(now)
return done(append_ticket({ now }, r, now))
