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
    local what = (r ~= nil and r.state == 'a') and 'admitted to' or 'waiting in'
    return advance_fail(now, "ALREADY_EXISTS user '" .. user_id .. "' is already " .. what ..
                        " event '" .. EVENT_ID .. "'")
  end
end
if redis.call('HEXISTS', rec_bucket(key), key) == 1 then
  return advance_fail(now, 'ALREADY_EXISTS token already in use')
end

-- rules::CheckJoin (a plain policy has neither of the two times).
local refusal, refusal_at = nil, 0
if E.method == M_REJECT then
  refusal = 'rejected'
elseif not E.plain then
  load_policy_rest()
  if E.closes_at ~= nil and now >= E.closes_at then
    refusal, refusal_at = 'closed', E.closes_at
  elseif not E.opened and E.prequeue_opens_at ~= nil and now < E.prequeue_opens_at then
    refusal, refusal_at = 'not_open_yet', E.prequeue_opens_at
  end
end
if refusal ~= nil then
  load_policy_rest()
  load_state_rest()
  E.refused = E.refused + 1
  return advance_fail(now,
                      'JOIN_REFUSED ' .. refusal .. ' ' .. I(refusal_at) .. ' ' .. E.reject_message)
end
local prequeue = not E.opened and E.opens_at ~= nil and now < E.opens_at
if prequeue then load_state_rest() end
if prequeue and E.prequeue_joins >= 4294967296 then
  return advance_fail(now, 'RESOURCE_EXHAUSTED the pre-queue has taken 2^32 joins')
end
-- Admission on arrival (docs/rules.md): passthrough, else the safety net into an empty line
-- (rules::SafetyNetAdmits).
local passthrough, safety_net = false, false
if not prequeue then
  passthrough = E.method == M_PASSTHROUGH and not E.paused
  safety_net = not passthrough and not E.plain and E.safety_net and not E.paused and
               E.active < E.active_capacity and may_grant(1) and tier_served(1, now, now) and
               E.drawn_count + E.placed_count + E.bitmap_count == 0
  if (passthrough or safety_net) and reservation == '' then
    return advance_fail(now,
                        'INVALID_ARGUMENT the join admits on arrival but has no reservation token')
  end
  if not E.opened then  -- an event without opening time opens at its first join
    load_state_rest()
    E.opened = true
    E.shuffled_at_opening = E.placed_count
    E.candidate, E.first_returned = nil, nil
  end
end

local r = { key = key, state = 'w', sequence = 0, joined = now, left_line = nil, deadline = nil,
            reservation_expiry = nil, user_id = user_id, reservation_token = '' }
redis.call('HSET', users, user_id, key)
E.joined = E.joined + 1
if passthrough or safety_net then
  r.state = 'a'  -- never in line
  admit(r, now, reservation, passthrough and 'passthrough' or 'safety_net')
  if safety_net then
    load_state_rest()
    E.admitted_by_safety_net = E.admitted_by_safety_net + 1
  end
  advance(now)
  return done(append_ticket({ now }, r, now))
end
local position = nil
if prequeue then
  r.state = 'p'
  r.sequence = fair().prequeue_slot(E.prequeue_joins)
  E.prequeue_joins = E.prequeue_joins + 1
  redis.call('ZADD', K_PRE, I(r.sequence), key)
  E.placed_count = E.placed_count + 1
else
  -- Nobody unreached in the grants' order before: the newcomer is the next one.
  if E.method ~= M_RANDOM and E.drawn_count == E.reached_front and
     E.placed_count + E.bitmap_count == E.reached_pool then
    E.candidate = nil
  end
  E.sequence = E.sequence + 1
  r.sequence = E.sequence
  position = line_add(r.sequence, key)
  if E.method ~= M_RANDOM then position = E.drawn_count + E.placed_count + position end
end
-- The heartbeat deadline and present_until, at the place before Advance (refresh()).
set_deadline(r, now + E.heartbeat_ttl)
if prequeue then
  r.present_until = now + prequeue_presence_window(now)
else
  local at, high, ahead = place_of(r, position)
  r.present_until = now + presence_window(ahead + floordiv(high - at, 2))
end
rec_save(r)
advance(now)
if E.method == M_RANDOM then position = nil end
return done(append_ticket({ now }, r, now, position))
