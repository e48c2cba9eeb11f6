-- Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
--
-- The rules of src/room/rules.cc the scripts need: the token bucket, the rate windows and
-- readiness.
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

local function estimated_admissions(window, now)
  local w = { length = window.length, period = window.period, current = window.current,
              previous = window.previous }
  roll(w, now)
  local into_period = (now - w.period * w.length) / w.length
  local weight = 1.0 - into_period
  if weight < 0.0 then weight = 0.0 elseif 1.0 < weight then weight = 1.0 end
  return w.previous * weight + w.current
end

-- TierWait: the wait in us and the tier's exact duration (for Ticket.tier_wait).
local function tier_wait(position)
  for _, t in ipairs(E.tiers) do
    if position <= t.max then return t.us, t.exact end
  end
  return 0, ''
end

-- CheckReadiness. Returns the block and what the C++ side needs for retry_after: the raw
-- seconds (needed - tokens) / rate for not_your_turn (false when the rate is 0), the remaining
-- wait in us for tier_wait, false otherwise.
local function readiness(position, joined, now)
  if E.paused then return B_PAUSED, false end
  if E.active >= E.active_capacity then return B_CAPACITY, false end
  local whole_tokens = math.floor(E.tokens)
  if position > E.bypass_top_n + whole_tokens then
    if E.admit_rate_per_sec > 0 then
      local needed = math.min(position - E.bypass_top_n, E.burst)
      return B_NOT_YOUR_TURN, D((needed - E.tokens) / E.admit_rate_per_sec)
    end
    return B_NOT_YOUR_TURN, false
  end
  local wait_us = tier_wait(position)
  local waited_us = now - joined
  if waited_us < wait_us then return B_TIER, wait_us - waited_us end
  return B_NONE, false
end
