-- Join(event, user, token). ARGV: [4] user id, [5] token key ('' when malformed), [6] '1' to
-- create the event with the secret in ARGV[8..9] and the policy in ARGV[10..] when it does not
-- exist, [7] the reservation token for a join that admits at once (passthrough, safety net).
-- Reply: now, ticket. A join the schedule or the method refuses fails with
-- "JOIN_REFUSED <rejected|closed|not_open_yet> <time in us> <reject message>", which the C++
-- side turns into rules::JoinRefusedError (Lua cannot format the time).
local user_id, key, create, reservation = ARGV[4], ARGV[5], ARGV[6] == '1', ARGV[7] or ''

if not event_load() then
  if not create then return redis.error_reply("NOT_FOUND unknown event '" .. EVENT_ID .. "'") end
  event_create(ARGV, 10, clock_now(), ARGV[8], ARGV[9])
end
-- The memory store checks the token after finding (or creating) the event, before Begin.
if key == '' then return fail('INVALID_ARGUMENT malformed token') end

local now = begin()
local users = users_bucket(user_id)
local existing = redis.call('HGET', users, user_id)
if existing then
  settle(existing, now)  -- a ghost's place is not a place
  if redis.call('HEXISTS', users, user_id) == 1 then
    local r = rec_load(existing)
    local what = (r ~= nil and r.st == 'a') and 'admitted to' or 'waiting in'
    return fail("ALREADY_EXISTS user '" .. user_id .. "' is already " .. what .. " event '" ..
                EVENT_ID .. "'")
  end
end
if redis.call('HEXISTS', rec_bucket(key), key) == 1 then
  return fail('ALREADY_EXISTS token already in use')
end

-- rules::CheckJoin (a plain policy has neither of the two times).
local refusal, refusal_at = nil, 0
if E.method == M_REJECT then
  refusal = 'rejected'
elseif not E.plain then
  xp()
  if E.closes_at ~= nil and now >= E.closes_at then
    refusal, refusal_at = 'closed', E.closes_at
  elseif not E.op and E.prequeue_opens_at ~= nil and now < E.prequeue_opens_at then
    refusal, refusal_at = 'not_open_yet', E.prequeue_opens_at
  end
end
if refusal ~= nil then
  xp()
  xs()
  E.cr = E.cr + 1
  return fail('JOIN_REFUSED ' .. refusal .. ' ' .. I(refusal_at) .. ' ' .. E.reject_message)
end
local prequeue = not E.op and E.opens_at ~= nil and now < E.opens_at
if prequeue then xs() end
if prequeue and E.pj >= 4294967296 then
  return fail('RESOURCE_EXHAUSTED the pre-queue has taken 2^32 joins')
end
-- Admission on arrival (docs/rules.md): passthrough, else the safety net into an empty line.
local passthrough, safety_net = false, false
if not prequeue then
  passthrough = E.method == M_PASSTHROUGH and not E.paused
  safety_net = not passthrough and not E.plain and E.safety_net and
               readiness(1, now, now) == B_NONE and E.nf + E.nq + line_length() == 0
  if (passthrough or safety_net) and reservation == '' then
    return fail('INVALID_ARGUMENT the join admits on arrival but has no reservation token')
  end
  if not E.op then  -- an event without opening time opens at its first join
    xs()
    E.op = true
    E.so = E.nq
  end
end

local r = { key = key, st = 'w', seq = 0, j = now, ll = nil, dl = nil, rx = nil, uid = user_id,
            rt = '' }
redis.call('HSET', users, user_id, key)
E.cj = E.cj + 1
if passthrough or safety_net then
  r.st = 'a'  -- never in line
  admit(r, now, reservation, passthrough)
  if safety_net then
    xs()
    E.csn = E.csn + 1
  end
  return done(append_ticket({ now }, r, now))
end
local position = nil
if prequeue then
  r.st = 'p'
  r.seq = fair().prequeue_slot(E.pj)
  E.pj = E.pj + 1
  redis.call('ZADD', fair().K_PRE, I(r.seq), key)
  E.nq = E.nq + 1
else
  E.sq = E.sq + 1
  r.seq = E.sq
  position = line_add(r.seq, key)
  if E.method ~= M_RANDOM then position = E.nf + E.nq + position end
end
set_deadline(r, now + E.heartbeat_ttl)
rec_save(r)
return done(append_ticket({ now }, r, now, position))
