-- Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
--
-- Replies. The C++ side (src/redis/room/redis_store.cc) reads them field by field. Integers go
-- back as Lua numbers (Redis turns them into integer replies, exact below 2^53: no formatting
-- cost), "none" as false (a nil reply), doubles as %.17g strings (Redis would truncate them).

local E, WAITING, STATE_CODE, M_RANDOM, M_PASSTHROUGH, S_PREQUEUE =
  E, WAITING, STATE_CODE, M_RANDOM, M_PASSTHROUGH, S_PREQUEUE
local B_NONE, B_PAUSED, B_NOT_WAITING = B_NONE, B_PAUSED, B_NOT_WAITING

-- RateSample: first_admission (false: never), policy rate, bypass_top_n, paused (0/1), window
-- count, then (length_us, estimate) per window.
local function append_rate(out, now)
  local n = #out
  out[n + 1] = E.first_admission or false
  out[n + 2] = D(E.admit_rate_per_sec)
  out[n + 3] = E.bypass_top_n
  out[n + 4] = E.paused and 1 or 0
  out[n + 5] = #E.windows
  n = n + 5
  for _, w in ipairs(E.windows) do
    out[n + 1] = w.length
    out[n + 2] = D(estimated_admissions(w, now))
    n = n + 2
  end
  return out
end

-- StandingOf, for a waiting record: position, position_high, block and retry (as readiness
-- returns it; for a pre-queued user the us until the opening). `position`: the waiting user's
-- position when the caller knows it already.
local function standing(r, now, position)
  if r.state == 'p' and not E.opened then
    return 0, E.placed_count, B_NOT_WAITING, (E.opens_at or now) - now
  end
  if r.state == 'f' then
    position = position or redis.call('ZRANK', fair().K_FRONT, r.key) + 1
  elseif E.method == M_RANDOM then
    return fair().undrawn()
  elseif r.state == 'p' then
    position = position or E.drawn_count + redis.call('ZRANK', fair().K_PRE, r.key) + 1
  else
    position = position or E.drawn_count + E.placed_count + line_rank(r.sequence) + 1
  end
  if E.method == M_PASSTHROUGH then
    if E.paused then return position, position, B_PAUSED, false end
    return position, position, B_NONE, false
  end
  local block, retry = readiness(position, r.joined, now)
  return position, position, block, retry
end

-- MakeTicket: user id, state, position, joined, left_line (false: never), deadline, block,
-- retry (see standing; false when none), tier wait (exact duration, '' zero), paused reason,
-- reservation token, reservation expiry (false: no grant), position_high, opens_at (false:
-- not pre-queued), then the rate sample.
local function append_ticket(out, r, now, position)
  local block, retry, tier_exact, reason = B_NOT_WAITING, false, '', ''
  local state, high, opens = STATE_CODE[r.state], 0, false
  if not WAITING[r.state] then
    position = 0
  else
    position, high, block, retry = standing(r, now, position)
    if r.state == 'p' and not E.opened then
      state = S_PREQUEUE
      opens = E.opens_at
    else
      state = 0
      local _, exact = tier_wait(position)
      tier_exact = exact
    end
    if block == B_PAUSED then
      load_policy_rest()
      reason = E.paused_reason
    end
  end
  local n = #out
  out[n + 1] = r.user_id
  out[n + 2] = state
  out[n + 3] = position
  out[n + 4] = r.joined
  out[n + 5] = r.left_line or false
  out[n + 6] = r.deadline
  out[n + 7] = block
  out[n + 8] = retry
  out[n + 9] = tier_exact
  out[n + 10] = reason
  out[n + 11] = r.reservation_token
  out[n + 12] = r.reservation_expiry or false
  out[n + 13] = high
  out[n + 14] = opens
  return append_rate(out, now)
end
