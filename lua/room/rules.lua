-- Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
--
-- The rules of src/room/rules.cc the scripts need: the token bucket, the rate windows,
-- presence and readiness.
local E = E

local function refill(now)
  if now > E.refilled_at then
    local elapsed_sec = (now - E.refilled_at) / 1e6
    E.tokens = math.min(E.burst, E.tokens + E.admit_rate_per_sec * elapsed_sec)
    E.refilled_at = now
  end
  E.tokens = math.min(E.tokens, E.burst)
end

local function roll(w, now)
  local period = floordiv(now, w.length)
  if period <= w.period then return end  -- same period (or time went back)
  if period == w.period + 1 then w.previous = w.current else w.previous = 0 end
  w.current = 0
  w.period = period
end

local function record_admission(w, now)
  roll(w, now)
  w.current = w.current + 1
end

-- One count in every window of a series ('windows', 'pass_windows' or 'dep_windows').
local function record_all(series, now)
  load_windows()
  for _, w in ipairs(E[series]) do record_admission(w, now) end
  E.windows_text = nil  -- written again by event_save
end

local function estimated_admissions(w, now)
  -- An empty counter estimates 0 whenever (previous * weight + current, weight in [0, 1]):
  -- most series are, and a ticket shows five per window length.
  if w.current == 0 and w.previous == 0 then return 0 end
  -- roll() on a copy, without the copy.
  local period, current, previous = floordiv(now, w.length), w.current, w.previous
  if period <= w.period then
    period = w.period
  else
    if period == w.period + 1 then previous = current else previous = 0 end
    current = 0
  end
  local into_period = (now - period * w.length) / w.length
  local weight = 1.0 - into_period
  if weight < 0.0 then weight = 0.0 elseif 1.0 < weight then weight = 1.0 end
  return previous * weight + current
end

-- TierWait: the wait in us and the tier's exact duration (for Ticket.tier_wait).
local function tier_wait(position)
  for _, t in ipairs(E.tiers) do
    if position <= t.max then return t.us, t.exact end
  end
  return 0, ''
end

-- PresenceWindowUs: how long after a call a waiting user with `ahead` unreached users ahead
-- counts as present, clamp(ahead / rate, claim_window, heartbeat_ttl) in us (floored).
local function presence_window(ahead)
  local floor_us = E.claim_window
  local ceiling_us = math.max(floor_us, E.heartbeat_ttl)
  if E.admit_rate_per_sec <= 0 then return ceiling_us end
  if ahead < 0 then ahead = 0 end
  local us = math.floor(ahead / E.admit_rate_per_sec * 1e6)
  if us >= ceiling_us then return ceiling_us end
  return math.max(floor_us, us)
end

-- PrequeuePresenceWindowUs: clamp(opens_at - now, claim_window, heartbeat_ttl).
local function prequeue_presence_window(now)
  local floor_us = E.claim_window
  local ceiling_us = math.max(floor_us, E.heartbeat_ttl)
  if E.opens_at == nil then return floor_us end
  local us = E.opens_at - now
  if us < floor_us then return floor_us end
  if us > ceiling_us then return ceiling_us end
  return us
end

-- TurnPlace: where a waiting user stands for the tier waits and the credit,
-- min(position, 1 + granted + ahead_unreached).
local function turn_place(position, ahead)
  return math.min(position, 1 + E.granted + ahead)
end

-- TierServed and MayGrant.
local function tier_served(position, joined, now)
  return now - joined >= tier_wait(position)
end

local function may_grant(position)
  return E.tokens >= 1.0 or position <= E.bypass_top_n + math.floor(E.tokens)
end

-- CheckWaiting, for a waiting user who holds no grant. Returns the block and what the C++ side
-- needs for retry_after: the raw seconds (ahead_unreached + 1 - tokens) / rate for
-- not_your_turn (false when the rate is 0), the remaining wait in us for tier_wait, false
-- otherwise.
local function check_waiting(position, ahead_unreached, joined, now)
  if E.paused then return B_PAUSED, false end
  if E.active + E.granted >= E.active_capacity then return B_CAPACITY, false end
  if ahead_unreached == 0 then
    local wait_us = tier_wait(turn_place(position, ahead_unreached))
    local waited_us = now - joined
    if waited_us < wait_us then return B_TIER, wait_us - waited_us end
  end
  if E.admit_rate_per_sec > 0 then
    return B_NOT_YOUR_TURN, D((ahead_unreached + 1 - E.tokens) / E.admit_rate_per_sec)
  end
  return B_NOT_YOUR_TURN, false
end
