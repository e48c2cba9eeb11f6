-- Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
--
-- What every call does first (Begin, FindRecord) and the admission itself.

local E = E

-- The event's time for this call (Begin): the bucket refilled, a few deadlines applied, the
-- opening if due and the random method's draws.
local function begin()
  local now = clock_now()
  if E.last_now ~= nil and E.last_now > now then now = E.last_now end
  E.last_now = now
  refill(now)
  apply_passed(now, ARG_SWEEP)
  if not E.opened or E.method == M_RANDOM then fair().begin(now) end
  return now
end

-- FindRecord: the record, or nil and the error to fail with.
local function find_record(key, now)
  if key == nil or key == '' then return nil, 'INVALID_ARGUMENT malformed token' end
  local r = settle(key, now)
  if r == nil then return nil, 'NOT_FOUND unknown token' end
  return r, nil
end

-- Admit: a waiting record (or a new one, state 'a' already) becomes active, handing out the
-- reservation. The bucket pays unless `passthrough`. Returns 1 for a bypass admission.
local function admit(r, now, reservation, passthrough)
  local by_bypass = 0
  if passthrough then
    load_state_rest()
    -- The operator's quiet-time choice: the bucket does not pace it.
    E.admitted_by_passthrough = E.admitted_by_passthrough + 1
  else
    -- A bypass admission (top N, no whole token) borrows: see docs/rules.md.
    if E.tokens < 1.0 then
      by_bypass = 1
      E.admitted_by_bypass = E.admitted_by_bypass + 1
    end
    E.tokens = E.tokens - 1.0
  end
  if WAITING[r.state] then leave_line(r) end
  r.state = 'a'
  r.left_line = now
  set_deadline(r, now + E.active_ttl)
  r.reservation_token = reservation
  r.reservation_expiry = now + E.reservation_ttl
  rec_save(r)
  E.active = E.active + 1
  E.admitted = E.admitted + 1
  if E.first_admission == nil then E.first_admission = now end
  for _, w in ipairs(E.windows) do record_admission(w, now) end
  return by_bypass
end
