-- Join(event, joins): the concurrent joins of one event that a process coalesced (see
-- src/redis/room/ticket_batcher.h; one for a lone call). ARGV: [4] the index F of the first
-- join, [5] '1' to create the event with the secret in ARGV[6..7] and the policy in ARGV[8..]
-- when it does not exist, then from F one triple per join: user id, token key ('' when
-- malformed), the reservation token for a join that admits at once (passthrough, safety net).
-- Reply: now, the rate sample, then one entry per join, in order: the packed ticket
-- (packed_ticket), or an error reply. A join the schedule or the method refuses fails
-- with "JOIN_REFUSED <rejected|closed|not_open_yet> <time in us> <reject message>", which the
-- C++ side turns into rules::JoinRefusedError (Lua cannot format the time). Begin and Advance
-- run once for the batch.
local first, create = tonumber(ARGV[4]), ARGV[5] == '1'

if not event_load() then
  if not create then return redis.error_reply("NOT_FOUND unknown event '" .. EVENT_ID .. "'") end
  event_create(ARGV, 8, clock_now(), ARGV[6], ARGV[7])
end

-- One join: { r = the record, position = its position (nil: to be computed) }, or nil and the
-- error.
local function join_one(user_id, key, reservation, now)
  local users = users_bucket(user_id)
  local existing = redis.call('HGET', users, user_id)
  if existing then
    settle(existing, now)  -- a ghost's place is not a place
    if redis.call('HEXISTS', users, user_id) == 1 then
      local r = rec_load(existing)
      local what = (r ~= nil and r.state == 'a') and 'admitted to' or 'waiting in'
      return nil, "ALREADY_EXISTS user '" .. user_id .. "' is already " .. what ..
                  " event '" .. EVENT_ID .. "'"
    end
  end
  if redis.call('HEXISTS', rec_bucket(key), key) == 1 then
    return nil, 'ALREADY_EXISTS token already in use'
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
    return nil, 'JOIN_REFUSED ' .. refusal .. ' ' .. I(refusal_at) .. ' ' .. E.reject_message
  end
  local prequeue = not E.opened and E.opens_at ~= nil and now < E.opens_at
  if prequeue then load_state_rest() end
  if prequeue and E.prequeue_joins >= 4294967296 then
    return nil, 'RESOURCE_EXHAUSTED the pre-queue has taken 2^32 joins'
  end
  -- A record keeps its sequence number in 5 bytes (records.lua): 127 days of 100,000 joins/s.
  if E.sequence >= 1099511627775 then
    return nil, 'RESOURCE_EXHAUSTED the line has taken 2^40 joins'
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
      return nil, 'INVALID_ARGUMENT the join admits on arrival but has no reservation token'
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
    return { r = r }
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
  return { r = r, position = position }
end

-- The memory store checks the token after finding (or creating) the event, before Begin: a
-- batch of malformed tokens only does not begin.
local any = false
for i = first, #ARGV, 3 do
  if ARGV[i + 1] ~= '' then any = true end
end
local now = nil
if any then now = begin() end
local records, positions, errors = {}, {}, {}
for i = first, #ARGV, 3 do
  if ARGV[i + 1] == '' then
    errors[i] = 'INVALID_ARGUMENT malformed token'
  else
    local joined, err = join_one(ARGV[i], ARGV[i + 1], ARGV[i + 2] or '', now)
    if joined == nil then errors[i] = err else records[i] = joined end
  end
end
if not any then
  local at = clock_now()
  local out = append_rate({ at }, at)
  for i = first, #ARGV, 3 do out[#out + 1] = redis.error_reply(errors[i]) end
  return done(out)
end
advance(now)
local out = append_rate({ now }, now)
for i = first, #ARGV, 3 do
  if errors[i] ~= nil then
    out[#out + 1] = redis.error_reply(errors[i])
  else
    local position = records[i].position
    if E.method == M_RANDOM then position = nil end  -- the draws may have moved it
    out[#out + 1] = packed_ticket(records[i].r, now, position)
  end
end
return done(out)
