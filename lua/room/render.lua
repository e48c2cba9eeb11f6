-- Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
--
-- Replies. The C++ side (src/redis/room/redis_store.cc) reads them field by field. Integers go
-- back as Lua numbers (Redis turns them into integer replies, exact below 2^53: no formatting
-- cost), "none" as false (a nil reply), doubles as %.17g strings (Redis would truncate them);
-- a ticket goes back packed into one string (packed_ticket).

local E, WAITING, STATE_CODE, M_RANDOM, M_PASSTHROUGH, S_PREQUEUE =
  E, WAITING, STATE_CODE, M_RANDOM, M_PASSTHROUGH, S_PREQUEUE
local B_NONE, B_PAUSED, B_NOT_WAITING = B_NONE, B_PAUSED, B_NOT_WAITING

-- The waiting users in line (the front and the pool; the pre-queue is not in line).
local function line_waiting()
  local placed = E.opened and E.placed_count or 0
  return E.drawn_count + placed + E.bitmap_count
end

-- RateSample: first_admission (false: never), policy rate, bypass_top_n, paused (0/1),
-- unreached, at_capacity (0/1), then the windows' counters as stored (state.lua, format_windows), from which the
-- C++ side computes the estimates at `now` (rules::EstimatedAdmissions, as the memory store).
local function append_rate(out, now)
  local n = #out
  out[n + 1] = E.first_admission or false
  out[n + 2] = D(E.admit_rate_per_sec)
  out[n + 3] = E.bypass_top_n
  out[n + 4] = E.paused and 1 or 0
  out[n + 5] = line_waiting() - E.reached_front - E.reached_pool
  out[n + 6] = (E.active + E.granted >= E.active_capacity) and 1 or 0
  out[n + 7] = E.windows_text or format_windows()
  return out
end

-- Where a waiting record stands: position, position_high and ahead_unreached (docs/rules.md).
-- `position`: the waiting user's position when the caller knows it already.
local function place_of(r, position)
  if r.state == 'p' and not E.opened then return 0, E.placed_count, 0 end
  if r.state == 'f' then
    position = position or redis.call('ZRANK', K_FRONT, r.key) + 1
  elseif E.method == M_RANDOM then  -- in the pool, not drawn yet
    local ahead = 0
    if not is_reached(r) then ahead = E.drawn_count - E.reached_front end
    return E.drawn_count + 1, E.drawn_count + E.placed_count + E.bitmap_count, ahead
  elseif r.state == 'p' then
    position = position or E.drawn_count + redis.call('ZRANK', K_PRE, r.key) + 1
  else
    position = position or E.drawn_count + E.placed_count + line_rank(r.sequence) + 1
  end
  if is_reached(r) then return position, position, 0 end
  if r.state == 'f' then return position, position, position - 1 - E.reached_front end
  return position, position, position - 1 - E.reached_front - E.reached_pool
end

-- StandingOf, for a waiting record: position, position_high, ahead_unreached, block and retry
-- (as check_waiting returns it; for a pre-queued user the us until the opening).
local function standing(r, now, position)
  local high, ahead
  position, high, ahead = place_of(r, position)
  if r.state == 'p' and not E.opened then
    return position, high, ahead, B_NOT_WAITING, (E.opens_at or now) - now
  end
  if E.method == M_PASSTHROUGH or r.grant_until ~= nil then
    if E.paused then return position, high, ahead, B_PAUSED, false end
    return position, high, ahead, B_NONE, false
  end
  local block, retry = check_waiting(position, ahead, r.joined, now)
  return position, high, ahead, block, retry
end

-- MakeTicket without the rate sample (append_ticket adds it; a batch of statuses shares one),
-- packed into one string (src/redis/client/packed_reader.h reads it): numbers as
-- little-endian doubles, NaN for none; strings as a u32 length and their bytes. In order: user
-- id, state, position, joined, left_line (none: never), deadline, block, retry (see standing;
-- none when none), tier wait (exact duration, '' zero), paused reason, reservation token,
-- reservation expiry (none: no grant), position_high, opens_at (none: not pre-queued),
-- ahead_unreached, present_until, grant_until, queue message ('' for users not in line, or
-- none). (One string per user rather than an array of 18 replies: Redis builds, and the
-- client parses, one reply for it; a batch of statuses is mostly tickets.)
local TICKET_FORMAT = '<I4c0dddddddI4c0I4c0I4c0ddddddI4c0'
local function none(x) if not x then return NAN end return x end

local function packed_ticket(r, now, position)
  local block, retry, tier_exact, reason, message = B_NOT_WAITING, false, '', '', ''
  local state, high, opens, ahead, present = STATE_CODE[r.state], 0, false, 0, false
  if not WAITING[r.state] then
    position = 0
  else
    position, high, ahead, block, retry = standing(r, now, position)
    present = r.present_until or false
    if r.state == 'p' and not E.opened then
      state = S_PREQUEUE
      opens = E.opens_at
    else
      state = 0
      local _, exact = tier_wait(turn_place(position, ahead))
      tier_exact = exact
    end
    if block == B_PAUSED then
      load_policy_rest()
      reason = E.paused_reason
    end
    message = load_queue_message()
  end
  local user_id, reservation = r.user_id, r.reservation_token
  return struct.pack(TICKET_FORMAT, #user_id, user_id, state, position, r.joined,
                     none(r.left_line), r.deadline, block, none(retry), #tier_exact, tier_exact,
                     #reason, reason, #reservation, reservation, none(r.reservation_expiry), high,
                     none(opens), ahead, none(present), none(r.grant_until), #message, message)
end

-- MakeTicket: the packed ticket, then the rate sample.
local function append_ticket(out, r, now, position)
  out[#out + 1] = packed_ticket(r, now, position)
  return append_rate(out, now)
end
