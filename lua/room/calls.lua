-- Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
--
-- What every call does first (call_begin, Begin, FindRecord) and last (done, fail), and the
-- admission itself.

local E = E

-- The start of every function of the library (its prologue, src/redis/CMakeLists.txt): the
-- call's keys and arguments, and nothing left of the previous call's state. (What fair() and
-- grants() build is code, kept from call to call.)
local function call_begin(keys, args)
  set_call_keys(keys, args)
  for field in pairs(E) do E[field] = nil end
  policy_changed, loaded_state = false, nil
  rec_cache, user_buckets, line_counts, dl_tail = {}, {}, nil, nil
  line_unsent_lo, line_unsent_hi, line_new = nil, nil, nil
end

-- Every reply goes through one of these two so that the event's state, and the deadline
-- entries and line counts the call buffered, are written back even when the call fails after
-- Begin (the memory store keeps Begin's refill and sweep too).
local function done(result)
  dl_flush()
  line_flush()
  event_save()
  return result
end

local function fail(message)
  dl_flush()
  line_flush()
  event_save()
  return redis.error_reply(message)
end

-- Begin: the event's time for this call, the bucket refilled, a few deadlines applied, the
-- opening if due and the lapsed grants.
local function begin()
  local now = clock_now()
  if E.last_now ~= nil and E.last_now > now then now = E.last_now end
  E.last_now = now
  refill(now)
  apply_passed(now, ARG_SWEEP)
  if not E.opened then fair().open(now) end
  lapses(now)
  return now
end

-- FindRecord: the record, or nil and the error to fail with (after Advance, as every answer).
local function find_record(key, now)
  if key == nil or key == '' then return nil, 'INVALID_ARGUMENT malformed token' end
  local r = settle(key, now)
  if r == nil then return nil, 'NOT_FOUND unknown token' end
  return r, nil
end

-- Advance, then the error reply.
local function advance_fail(now, message)
  advance(now)
  return fail(message)
end

-- Admit: a waiting record (or a new one, state 'a' already) becomes active, handing out the
-- reservation. `kind`: 'grant' (the grant paid: by_bypass is its by_credit), 'passthrough'
-- (no token), 'safety_net' (a grant claimed at once: the bucket pays now). Returns 1 for an
-- admission by credit.
local function admit(r, now, reservation, kind)
  local by_bypass = 0
  if kind == 'passthrough' then
    load_state_rest()
    -- The operator's quiet-time choice: the bucket does not pace it.
    E.admitted_by_passthrough = E.admitted_by_passthrough + 1
  elseif kind == 'grant' then
    if r.by_credit then by_bypass = 1 end
  else
    -- A grant on credit (top N, no whole token) borrows: see docs/rules.md.
    if E.tokens < 1.0 then by_bypass = 1 end
    E.tokens = E.tokens - 1.0
  end
  if by_bypass == 1 then E.admitted_by_bypass = E.admitted_by_bypass + 1 end
  if WAITING[r.state] then leave_line(r, false, now) end
  r.state = 'a'
  r.left_line = now
  set_deadline(r, now + E.active_ttl)
  r.reservation_token = reservation
  r.reservation_expiry = now + E.reservation_ttl
  rec_save(r)
  E.active = E.active + 1
  E.admitted = E.admitted + 1
  if E.first_admission == nil then E.first_admission = now end
  record_all('windows', now)
  return by_bypass
end
