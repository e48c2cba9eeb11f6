-- Enter(event, token, reservation). ARGV: [4] token key, [5] reservation token.
-- Reply: now, granted, by_bypass, repeated, ticket.
if not event_load() then return redis.error_reply('NOT_FOUND unknown token') end
local now = begin()
local r, err = find_record(ARGV[4], now)
if r == nil then return fail(err) end

if r.st == 'a' then
  return done(append_ticket({ now, 1, 0, 1 }, r, now))
end
if r.st ~= 'w' then
  return fail('FAILED_PRECONDITION cannot enter: the user is ' .. STATE_NAME[r.st] ..
              ', not waiting')
end

local position = line_rank(r.seq) + 1
local block = readiness(position, r.j, now)
if block ~= B_NONE then
  set_deadline(r, now + E.ph)
  rec_save(r)
  return done(append_ticket({ now, 0, 0, 0 }, r, now, position))
end

-- A bypass admission (top N, no whole token) borrows: see docs/rules.md.
local by_bypass = 0
if E.bt < 1.0 then
  by_bypass = 1
  E.cb = E.cb + 1
end
E.bt = E.bt - 1.0
line_remove(r.seq)
r.st = 'a'
r.ll = now
set_deadline(r, now + E.pa)
r.rt = ARGV[5]
r.rx = now + E.pv
rec_save(r)
E.ac = E.ac + 1
E.ca = E.ca + 1
if E.fa == nil then E.fa = now end
for _, w in ipairs(E.windows) do record_admission(w, now) end
return done(append_ticket({ now, 1, by_bypass, 0 }, r, now))
