-- Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
--
-- The event: its state and policy, loaded once per call into E, written back by event_save;
-- the policy arguments of the functions that set it. E is emptied by call_begin (calls.lua)
-- and filled in place, never replaced, so that the modules' own `local E = E` stay the same
-- table.

local E = {}
local policy_changed = false

-- Policy ARGV (src/redis/room/policy_codec.cc, EncodePolicyArgs): from index i, the blob,
-- then the fields of POLICY_ARGS (generated from the C++ table of fields) in its order, each
-- decoded by its kind:
--   rate, count, duration, time, method  a number: durations and times in us (a time '' when
--                                        unset), the method's M_* number
--   bool                                 '1' or '0'
--   text                                 as it is
--   tiers                                "max,wait_us,exact;..." with max 'inf' for the
--                                        unbounded tier, kept as text (parsed into E.tiers)
--   windows                              the window lengths, "us,us,..."
-- Each lands in E under the field's name.

local function parse_tiers(s)
  local tiers = {}
  for item in string.gmatch(s, '[^;]+') do
    local m, us, exact = string.match(item, '^([^,]+),([^,]+),(.*)$')
    local max = (m == 'inf') and math.huge or tonumber(m)
    tiers[#tiers + 1] = { max = max, us = tonumber(us), exact = exact, raw = item }
  end
  return tiers
end

local function parse_lengths(s)
  local lengths = {}
  for item in string.gmatch(s, '[^,]+') do lengths[#lengths + 1] = tonumber(item) end
  return lengths
end

-- Windows are stored as "length:period:current:previous:..." per window length, with the five
-- counters of that length one after the other (in the order of WINDOW_SERIES: period, current,
-- previous each), ';' between lengths. E.windows[i] counts admissions, E.reach_windows[i] the
-- users the cursor reached, E.pass_windows[i] passes, E.exp_windows[i] the seconds the reached
-- users had waited, E.dep_windows[i] departures: each a counter { length, period, current,
-- previous } (docs/rules.md, "rate windows").
local WINDOW_SERIES = { 'windows', 'reach_windows', 'pass_windows', 'exp_windows', 'dep_windows' }

local function counter(length, period, current, previous)
  return { length = length, period = period, current = current, previous = previous }
end

-- A length, then five (current, previous, period) triples. Written out: a library's top level
-- runs without Lua's standard library (Redis functions load that way).
local WINDOW_PATTERN = '^([^:]+)' .. ':([^:]+):([^:]+):([^:]+)' .. ':([^:]+):([^:]+):([^:]+)' ..
  ':([^:]+):([^:]+):([^:]+)' .. ':([^:]+):([^:]+):([^:]+)' .. ':([^:]+):([^:]+):([^:]+)' .. '$'
local function parse_windows(s)
  local a, r, p, x, d = {}, {}, {}, {}, {}
  E.windows, E.reach_windows, E.pass_windows, E.exp_windows, E.dep_windows = a, r, p, x, d
  for item in string.gmatch(s or '', '[^;]+') do
    local length, a1, a2, a3, r1, r2, r3, p1, p2, p3, x1, x2, x3, d1, d2, d3 =
      string.match(item, WINDOW_PATTERN)
    if d3 == nil then error('corrupt event meta ' .. K_META) end
    length = tonumber(length)
    local n = #a + 1
    a[n] = counter(length, tonumber(a1), tonumber(a2), tonumber(a3))
    r[n] = counter(length, tonumber(r1), tonumber(r2), tonumber(r3))
    p[n] = counter(length, tonumber(p1), tonumber(p2), tonumber(p3))
    x[n] = counter(length, tonumber(x1), tonumber(x2), tonumber(x3))
    d[n] = counter(length, tonumber(d1), tonumber(d2), tonumber(d3))
  end
end

-- The windows are parsed only when a call counts in them (or replaces them): a ticket's rate
-- sample carries their text, which the C++ side estimates from (rules::EstimatedAdmissions).
local function load_windows()
  if E.windows == nil then parse_windows(E.windows_raw) end
end

local function format_windows()
  load_windows()
  local parts = {}
  for i, w in ipairs(E.windows) do
    local items = { string.format('%d', w.length) }
    for _, name in ipairs(WINDOW_SERIES) do
      local c = E[name][i]
      items[#items + 1] = string.format('%d:%.17g:%.17g', c.period, c.current, c.previous)
    end
    parts[i] = table.concat(items, ':')
  end
  return table.concat(parts, ';')
end

-- MakeWindows: a window of the same length keeps what it counted (each of its counters).
local function make_windows(lengths, old)
  local windows = {}
  for i, length in ipairs(lengths) do
    local w = counter(length, 0, 0, 0)
    for _, o in ipairs(old) do
      if o.length == length then w = counter(o.length, o.period, o.current, o.previous) end
    end
    windows[i] = w
  end
  return windows
end

local function make_all_windows(lengths)
  load_windows()
  E.windows_text = nil
  for _, name in ipairs(WINDOW_SERIES) do E[name] = make_windows(lengths, E[name] or {}) end
end

local function number(text) return tonumber(text) end  -- tonumber is no value at load time
local POLICY_ARG_DECODERS = {
  rate = number,
  count = number,
  duration = number,
  time = number,
  method = number,
  bool = function(text) return text == '1' end,
  text = function(text) return text end,
  tiers = function(text) return text end,
  windows = parse_lengths,
}

local function set_policy_fields(args, i)
  E.policy_blob = args[i]
  for k, field in ipairs(POLICY_ARGS) do
    local name, kind = field[1], field[2]
    E[name] = POLICY_ARG_DECODERS[kind](args[i + k])
  end
  E.tiers = parse_tiers(E.wait_tiers)
  -- Join need not look further than the method.
  E.plain = E.prequeue_opens_at == nil and E.closes_at == nil and not E.safety_net
  policy_changed = true
end

-- The meta HASH's fields. Their names are stored data (the short names keep every event's
-- hash small), so they are spelled only here.
local META = {
  state = 's',        -- the state, packed (below)
  policy = 'p',       -- the policy for the scripts, packed (below)
  policy_blob = 'pol',  -- the C++ side's exact encoding of the Policy, returned by get_policy
  layout = 'v',       -- LAYOUT
  chunk_counter = 'dn',  -- the deadline chunks' counter (see "Deadlines")
  -- The policy's queue_message, absent when empty. Display-only text the scripts echo and
  -- never compute with, so it is kept out of the packed policy: a call that renders no waiting
  -- user never reads it, and adding it changed no LAYOUT (an event written before it simply
  -- has no message).
  queue_message = 'qm',
}

-- The state and the policy are each packed into one string so that a call reads and writes a
-- few strings rather than dozens of hash fields (HGETALL/HSET of ~30 fields cost more than the
-- rest of a typical script):
--   state   tokens|refilled_at|sequence|first_admission|active|last_now|joined|admitted|
--           admitted_by_bypass|expired|active_timed_out|left|completed|opened|placed_count|
--           drawn_count|bitmap_count|cursor_front|cursor_pool|reached_front|reached_pool|
--           granted|returned_count|candidate|candidate_until|first_returned|
--           first_returned_until|first_returned_position|next_lapse|windows|secret_hi|secret_lo|
--           shuffled_at_opening|prequeue_joins|draws|admitted_by_safety_net|
--           admitted_by_passthrough|refused|passed|lapsed
--           (first_admission, last_now and the six cached fields empty when unset; windows
--           as in format_windows)
--   policy  admit_rate_per_sec|burst|bypass_top_n|active_capacity|heartbeat_ttl|active_ttl|
--           reservation_ttl|ended_ttl|claim_window|wait_tiers|paused|method|opens_at|plain|
--           prequeue_opens_at|closes_at|safety_net|length of paused_reason|paused_reason and
--           reject_message, each as its policy argument carries it (durations and times in us,
--           times empty when unset; plain '1' when neither of those two times nor the safety
--           net is set; the texts last: they may contain '|'). A policy field the scripts use
--           must be stored here, which changes the LAYOUT.
-- The fields after `windows` (in the state) and after `plain` (in the policy) are what only
-- fair openings and the counters need: they are parsed by load_state_rest() and
-- load_policy_rest() when a call needs them, and written back as loaded otherwise, so that the
-- plain fifo calls pay little for them.
-- The grants (docs/rules.md, "Presence, the cursor and grants"): cursor_front is the greatest
-- draw number reached (-1: none), cursor_pool the greatest pool order reached (-1: none; a
-- placed user's order is their slot, a later arrival's 2^32 + sequence: see grants.lua);
-- bitmap_count the users in the bitmap. candidate/candidate_until cache the line order and
-- present_until of the next unreached user when Advance last stopped at them, and
-- first_returned* the same and the position of the first returned user; next_lapse is at or
-- before the earliest grant_until (empty: look it up; see grants.lua).
local STATE_PATTERN = '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|' ..
  '([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|' ..
  '([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|(.*)$'
local STATE_REST_PATTERN =
  '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|(.*)$'
local POLICY_PATTERN = '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|' ..
  '([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|(.*)$'
local POLICY_REST_PATTERN = '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|(.*)$'
local loaded_state = nil  -- the state string as loaded, to skip writing it back unchanged

-- The layout of an event's keys (META.layout), raised whenever scripts change how they store
-- an event: 3 since the deadline chunks, 4 since the grants, 5 since the deadline entries are
-- lazy (an older version would take an early entry for corruption). An event of another layout (none:
-- written by the scripts before them) is refused rather than misread, so that an upgrade in the
-- middle of an event fails loudly. (Scripts of an older version cannot check; see
-- docs/design.md.)
local LAYOUT = '5'

local function corrupt_meta() error('corrupt event meta ' .. K_META) end

-- Loads the event into E; false when it does not exist.
local function event_load()
  local fields = redis.call('HMGET', K_META, META.state, META.policy, META.layout)
  local state, policy, layout = fields[1], fields[2], fields[3]
  if not state and not policy then return false end
  if layout ~= LAYOUT then
    error({ err = "FAILED_PRECONDITION event '" .. EVENT_ID .. "' was written by another " ..
      "version of the store (data layout " .. (layout or 'before 3') .. '; this one reads ' ..
      LAYOUT .. '): every process serving an event must run the same version' })
  end
  if not state or not policy then corrupt_meta() end
  local tokens, refilled_at, sequence, first_admission, active, last_now, joined, admitted,
        admitted_by_bypass, expired, active_timed_out, left, completed, opened, placed_count,
        drawn_count, bitmap_count, cursor_front, cursor_pool, reached_front, reached_pool,
        granted, returned_count, candidate, candidate_until, first_returned, first_returned_until,
        first_returned_position, next_lapse, windows, state_rest =
    string.match(state, STATE_PATTERN)
  local rate, burst, bypass_top_n, active_capacity, heartbeat_ttl, active_ttl, reservation_ttl,
        ended_ttl, claim_window, wait_tiers, paused, method, opens_at, plain, policy_rest =
    string.match(policy, POLICY_PATTERN)
  E.admit_rate_per_sec, E.burst = tonumber(rate), tonumber(burst)
  E.bypass_top_n, E.active_capacity = tonumber(bypass_top_n), tonumber(active_capacity)
  E.heartbeat_ttl, E.active_ttl = tonumber(heartbeat_ttl), tonumber(active_ttl)
  E.reservation_ttl, E.ended_ttl = tonumber(reservation_ttl), tonumber(ended_ttl)
  E.claim_window = tonumber(claim_window)
  E.wait_tiers, E.paused, E.method = wait_tiers, paused == '1', tonumber(method)
  E.opens_at, E.plain = tonumber(opens_at), plain == '1'
  E.policy_rest_text = policy_rest
  E.tokens, E.refilled_at = tonumber(tokens), tonumber(refilled_at)
  E.sequence, E.first_admission = tonumber(sequence), tonumber(first_admission)
  E.active, E.last_now = tonumber(active), tonumber(last_now)
  E.joined, E.admitted = tonumber(joined), tonumber(admitted)
  E.admitted_by_bypass, E.expired = tonumber(admitted_by_bypass), tonumber(expired)
  E.active_timed_out, E.left = tonumber(active_timed_out), tonumber(left)
  E.completed, E.opened = tonumber(completed), opened == '1'
  E.placed_count, E.drawn_count = tonumber(placed_count), tonumber(drawn_count)
  E.bitmap_count = tonumber(bitmap_count)
  E.cursor_front, E.cursor_pool = tonumber(cursor_front), tonumber(cursor_pool)
  E.reached_front, E.reached_pool = tonumber(reached_front), tonumber(reached_pool)
  E.granted, E.returned_count = tonumber(granted), tonumber(returned_count)
  E.candidate, E.candidate_until = tonumber(candidate), tonumber(candidate_until)
  E.first_returned = tonumber(first_returned)
  E.first_returned_until = tonumber(first_returned_until)
  E.first_returned_position = tonumber(first_returned_position)
  E.next_lapse = tonumber(next_lapse)
  E.windows, E.windows_raw = nil, windows  -- parsed on first use (load_windows)
  E.windows_text = windows  -- as loaded, until a window counts something (record_all)
  E.state_rest_text = state_rest
  if E.admit_rate_per_sec == nil or E.burst == nil or E.bypass_top_n == nil or
     E.active_capacity == nil or E.heartbeat_ttl == nil or E.active_ttl == nil or
     E.reservation_ttl == nil or E.ended_ttl == nil or E.claim_window == nil or
     E.wait_tiers == nil or E.method == nil or
     policy_rest == nil or E.tokens == nil or E.refilled_at == nil or E.sequence == nil or
     E.active == nil or E.joined == nil or E.admitted == nil or E.admitted_by_bypass == nil or
     E.expired == nil or E.active_timed_out == nil or E.left == nil or E.completed == nil or
     E.placed_count == nil or E.drawn_count == nil or E.bitmap_count == nil or
     E.cursor_front == nil or E.cursor_pool == nil or E.reached_front == nil or
     E.reached_pool == nil or E.granted == nil or E.returned_count == nil or
     state_rest == nil then
    corrupt_meta()
  end
  E.tiers = parse_tiers(E.wait_tiers)
  loaded_state = state
  return true
end

-- The rest of the state (see above), parsed on first use.
local function load_state_rest()
  if E.secret_hi ~= nil then return end
  local secret_hi, secret_lo, shuffled_at_opening, prequeue_joins, draws, admitted_by_safety_net,
        admitted_by_passthrough, refused, passed, lapsed =
    string.match(E.state_rest_text, STATE_REST_PATTERN)
  E.secret_hi, E.secret_lo = tonumber(secret_hi), tonumber(secret_lo)
  E.shuffled_at_opening, E.prequeue_joins = tonumber(shuffled_at_opening), tonumber(prequeue_joins)
  E.draws, E.admitted_by_safety_net = tonumber(draws), tonumber(admitted_by_safety_net)
  E.admitted_by_passthrough, E.refused = tonumber(admitted_by_passthrough), tonumber(refused)
  E.passed, E.lapsed = tonumber(passed), tonumber(lapsed)
  if E.secret_hi == nil or E.secret_lo == nil or E.shuffled_at_opening == nil or
     E.prequeue_joins == nil or E.draws == nil or E.admitted_by_safety_net == nil or
     E.admitted_by_passthrough == nil or E.refused == nil or E.passed == nil or
     E.lapsed == nil then
    corrupt_meta()
  end
end

-- The rest of the policy (see above), parsed on first use.
local function load_policy_rest()
  if E.paused_reason ~= nil then return end
  local prequeue_opens_at, closes_at, safety_net, reason_length, texts =
    string.match(E.policy_rest_text, POLICY_REST_PATTERN)
  reason_length = tonumber(reason_length)
  if reason_length == nil then corrupt_meta() end
  E.prequeue_opens_at, E.closes_at = tonumber(prequeue_opens_at), tonumber(closes_at)
  E.safety_net = safety_net == '1'
  E.paused_reason = string.sub(texts, 1, reason_length)
  E.reject_message = string.sub(texts, reason_length + 1)
end

-- The operator's message to the line (see META.queue_message), read on first use; '' none.
local function load_queue_message()
  if E.queue_message ~= nil then return E.queue_message end
  E.queue_message = redis.call('HGET', K_META, META.queue_message) or ''
  return E.queue_message
end

-- FindOrCreateEvent: a new event with the given policy, a full bucket and the secret (two u32
-- halves as decimal strings, from the C++ side).
local function event_create(args, i, now, secret_hi, secret_lo)
  E.tokens, E.refilled_at, E.sequence, E.first_admission = 0, now, 0, nil
  E.active, E.last_now, E.joined, E.admitted, E.admitted_by_bypass = 0, nil, 0, 0, 0
  E.expired, E.active_timed_out, E.left, E.completed = 0, 0, 0, 0
  E.opened, E.placed_count, E.drawn_count, E.bitmap_count = false, 0, 0, 0
  E.cursor_front, E.cursor_pool, E.reached_front, E.reached_pool = -1, -1, 0, 0
  E.granted, E.returned_count, E.candidate, E.candidate_until = 0, 0, nil, nil
  E.first_returned, E.first_returned_until, E.first_returned_position = nil, nil, nil
  E.next_lapse = nil
  E.secret_hi, E.secret_lo = tonumber(secret_hi), tonumber(secret_lo)
  E.shuffled_at_opening, E.prequeue_joins, E.draws = 0, 0, 0
  E.admitted_by_safety_net, E.admitted_by_passthrough, E.refused = 0, 0, 0
  E.passed, E.lapsed = 0, 0
  if E.secret_hi == nil or E.secret_lo == nil then error('no event secret') end
  set_policy_fields(args, i)
  make_all_windows(E.rate_windows)
  E.tokens = E.burst
end

local function event_save()
  if E.tokens == nil then return end  -- no event loaded
  local rest = E.state_rest_text
  if E.secret_hi ~= nil then
    rest = string.format('%d|%d|%d|%d|%d|%d|%d|%d|%d|%d', E.secret_hi, E.secret_lo,
      E.shuffled_at_opening, E.prequeue_joins, E.draws, E.admitted_by_safety_net,
      E.admitted_by_passthrough, E.refused, E.passed, E.lapsed)
  end
  local state = string.format('%.17g|%d|%d|%s|%d|%s|%d|%d|%d|%d|%d|%d|%d|%s|%d|%d|%d|%d|%d|' ..
    '%d|%d|%d|%d|%s|%s|%s|%s|%s|%s|%s|%s',
    E.tokens, E.refilled_at, E.sequence, OI(E.first_admission), E.active, OI(E.last_now),
    E.joined, E.admitted, E.admitted_by_bypass, E.expired, E.active_timed_out, E.left,
    E.completed, E.opened and '1' or '0', E.placed_count, E.drawn_count, E.bitmap_count,
    E.cursor_front, E.cursor_pool, E.reached_front, E.reached_pool, E.granted,
    E.returned_count, OI(E.candidate), OI(E.candidate_until), OI(E.first_returned),
    OI(E.first_returned_until), OI(E.first_returned_position), OI(E.next_lapse),
    E.windows_text or format_windows(), rest)
  if policy_changed then
    local policy = string.format(
      '%.17g|%d|%d|%d|%d|%d|%d|%d|%d|%s|%s|%d|%s|%s|%s|%s|%s|%d|%s%s',
      E.admit_rate_per_sec, E.burst, E.bypass_top_n, E.active_capacity, E.heartbeat_ttl,
      E.active_ttl, E.reservation_ttl, E.ended_ttl, E.claim_window, E.wait_tiers,
      E.paused and '1' or '0', E.method, OI(E.opens_at), E.plain and '1' or '0',
      OI(E.prequeue_opens_at), OI(E.closes_at), E.safety_net and '1' or '0', #E.paused_reason,
      E.paused_reason, E.reject_message)
    redis.call('HSET', K_META, META.state, state, META.policy, policy,
               META.policy_blob, E.policy_blob, META.layout, LAYOUT)
    if E.queue_message ~= '' then
      redis.call('HSET', K_META, META.queue_message, E.queue_message)
    else
      redis.call('HDEL', K_META, META.queue_message)
    end
  elseif state ~= loaded_state then
    redis.call('HSET', K_META, META.state, state)
  end
end

-- Every reply goes through one of these two so that the event's state is written back even
-- when the call fails after Begin (the memory store keeps Begin's refill and sweep too).
local function done(result)
  event_save()
  return result
end

local function fail(message)
  event_save()
  return redis.error_reply(message)
end
