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
-- rest of a typical script). Each starts with its numbers as little-endian doubles, packed and
-- unpacked by one struct call (exact: integers below 2^53; an unset optional field is a NaN),
-- since matching and formatting them as text was most of a plain call's fixed cost:
--   state   the 30 numbers of unpack_state (below), then as text windows|secret_hi|secret_lo|
--           shuffled_at_opening|prequeue_joins|draws|admitted_by_safety_net|
--           admitted_by_passthrough|refused|passed|lapsed (windows as in format_windows)
--   policy  the 13 numbers of unpack_policy (below), then as text wait_tiers|
--           prequeue_opens_at|closes_at|safety_net|length of paused_reason|paused_reason and
--           reject_message, each as its policy argument carries it (durations and times in
--           us, times empty when unset; the texts last: they may contain '|'). plain is 1 when neither of those two times nor
--           the safety net is set. A policy field the scripts use must be stored here, which
--           changes the LAYOUT.
-- The text after the windows (in the state) and after the tiers (in the policy) is what only
-- fair openings and the counters need: it is parsed by load_state_rest() and
-- load_policy_rest() when a call needs it, and written back as loaded otherwise, so that the
-- plain fifo calls pay little for it.
-- The grants (docs/rules.md, "Presence, the cursor and grants"): cursor_front is the greatest
-- draw number reached (-1: none), cursor_pool the greatest pool order reached (-1: none; a
-- placed user's order is their slot, a later arrival's 2^32 + sequence: see grants.lua);
-- bitmap_count the users in the bitmap. candidate/candidate_until cache the line order and
-- present_until of the next unreached user when Advance last stopped at them, and
-- first_returned* the same and the position of the first returned user; next_lapse is at or
-- before the earliest grant_until (unset: look it up; see grants.lua); next_deadline at or
-- before the earliest deadline entry (math.huge: none; unset: look it up; see deadlines.lua).
-- Written out: a library's top level runs without Lua's standard library (see WINDOW_PATTERN).
local STATE_FORMAT = '<dddddddddddddddddddddddddddddd'  -- 30 numbers, see unpack_state
local POLICY_FORMAT = '<ddddddddddddd'  -- 13 numbers, see unpack_policy
local STATE_TEXT_PATTERN = '^([^|]*)|(.*)$'
local STATE_REST_PATTERN =
  '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|(.*)$'
local POLICY_REST_PATTERN = '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|(.*)$'
local NAN = 0 / 0
local loaded_state = nil  -- the state string as loaded, to skip writing it back unchanged

-- The state's and the policy's numbers, unpacked into E and packed from it; false when the
-- string is too short (struct raises) or a number that is never unset is. Spelled out field by
-- field: a loop over the names (select, or a table of the values) cost more than the rest of
-- loading the event.
local function unset(x) if x ~= x then return nil end return x end
local function optional(x) if x == nil then return NAN end return x end

local function unpack_state(s)
  local ok, at
  ok, E.tokens, E.refilled_at, E.sequence, E.first_admission, E.active, E.last_now, E.joined,
    E.admitted, E.admitted_by_bypass, E.expired, E.active_timed_out, E.left, E.completed,
    E.opened, E.placed_count, E.drawn_count, E.bitmap_count, E.cursor_front, E.cursor_pool,
    E.reached_front, E.reached_pool, E.granted, E.returned_count, E.candidate,
    E.candidate_until, E.first_returned, E.first_returned_until, E.first_returned_position,
    E.next_lapse, E.next_deadline, at = pcall(struct.unpack, STATE_FORMAT, s)
  -- Every required number is a number (NaN only where a field may be unset, see below).
  if not ok or E.tokens ~= E.tokens or E.refilled_at ~= E.refilled_at or
     E.sequence ~= E.sequence or E.active ~= E.active or E.joined ~= E.joined or
     E.bitmap_count ~= E.bitmap_count or E.granted ~= E.granted then
    return false
  end
  E.first_admission, E.last_now = unset(E.first_admission), unset(E.last_now)
  E.opened = E.opened == 1
  E.candidate, E.candidate_until = unset(E.candidate), unset(E.candidate_until)
  E.first_returned = unset(E.first_returned)
  E.first_returned_until = unset(E.first_returned_until)
  E.first_returned_position = unset(E.first_returned_position)
  E.next_lapse, E.next_deadline = unset(E.next_lapse), unset(E.next_deadline)
  return at
end

local function pack_state()
  return struct.pack(STATE_FORMAT, E.tokens, E.refilled_at, E.sequence,
    optional(E.first_admission), E.active, optional(E.last_now), E.joined, E.admitted,
    E.admitted_by_bypass, E.expired, E.active_timed_out, E.left, E.completed,
    E.opened and 1 or 0, E.placed_count, E.drawn_count, E.bitmap_count, E.cursor_front,
    E.cursor_pool, E.reached_front, E.reached_pool, E.granted, E.returned_count,
    optional(E.candidate), optional(E.candidate_until), optional(E.first_returned),
    optional(E.first_returned_until), optional(E.first_returned_position),
    optional(E.next_lapse), optional(E.next_deadline))
end

local function unpack_policy(s)
  local ok, paused, plain, at
  ok, E.admit_rate_per_sec, E.burst, E.bypass_top_n, E.active_capacity, E.heartbeat_ttl,
    E.active_ttl, E.reservation_ttl, E.ended_ttl, E.claim_window, paused, E.method, E.opens_at,
    plain, at = pcall(struct.unpack, POLICY_FORMAT, s)
  if not ok or E.admit_rate_per_sec ~= E.admit_rate_per_sec or E.method ~= E.method or
     E.claim_window ~= E.claim_window then
    return false
  end
  E.paused, E.plain, E.opens_at = paused == 1, plain == 1, unset(E.opens_at)
  return at
end

local function pack_policy()
  return struct.pack(POLICY_FORMAT, E.admit_rate_per_sec, E.burst, E.bypass_top_n,
    E.active_capacity, E.heartbeat_ttl, E.active_ttl, E.reservation_ttl, E.ended_ttl,
    E.claim_window, E.paused and 1 or 0, E.method, optional(E.opens_at), E.plain and 1 or 0)
end

-- The layout of an event's keys (META.layout), raised whenever scripts change how they store
-- an event: 3 since the deadline chunks, 4 since the grants, 5 since the deadline entries are
-- lazy (an older version would take an early entry for corruption), 6 since the state and the
-- policy start with packed numbers. An event of another layout (none: written by the scripts
-- before them) is refused rather than misread, so that an upgrade in the middle of an event
-- fails loudly. (Scripts of an older version cannot check; see docs/design.md.)
local LAYOUT = '6'

local function corrupt_meta() error('corrupt event meta ' .. K_META) end

-- Parsed wait tiers by their text (a pure function of it, so kept from call to call), at most
-- a few dozen texts.
local tiers_memo, tiers_memo_count = {}, 0
local function memo_tiers(text)
  local tiers = tiers_memo[text]
  if tiers == nil then
    if tiers_memo_count >= 32 then tiers_memo, tiers_memo_count = {}, 0 end
    tiers = parse_tiers(text)
    tiers_memo[text] = tiers
    tiers_memo_count = tiers_memo_count + 1
  end
  return tiers
end

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
  local at = unpack_state(state)
  if not at then corrupt_meta() end
  local windows, state_rest = string.match(string.sub(state, at), STATE_TEXT_PATTERN)
  at = unpack_policy(policy)
  if not at or windows == nil then corrupt_meta() end
  local wait_tiers, policy_rest = string.match(string.sub(policy, at), STATE_TEXT_PATTERN)
  if wait_tiers == nil then corrupt_meta() end
  E.wait_tiers, E.policy_rest_text = wait_tiers, policy_rest
  E.windows, E.windows_raw = nil, windows  -- parsed on first use (load_windows)
  E.windows_text = windows  -- as loaded, until a window counts something (record_all)
  E.state_rest_text = state_rest
  E.tiers = memo_tiers(wait_tiers)
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
  E.next_lapse, E.next_deadline = nil, math.huge
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
  local state = pack_state() ..
    (E.windows_text or format_windows()) .. '|' .. rest
  if policy_changed then
    load_policy_rest()
    local policy = pack_policy() .. E.wait_tiers .. '|' ..
      string.format('%s|%s|%s|%d|%s%s', OI(E.prequeue_opens_at), OI(E.closes_at),
        E.safety_net and '1' or '0', #E.paused_reason, E.paused_reason, E.reject_message)
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
