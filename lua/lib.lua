-- Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
--
-- Shared prelude of the Redis store's scripts. At build time it is concatenated in front of
-- each lua/<action>.lua (cmake/AdmissionRedis.cmake), and the result is embedded in the library
-- and run by EVALSHA. It mirrors src/rules.cc and src/memory_store.cc line by line: the
-- conformance and differential tests compare every field, doubles included, with the in-memory
-- store, so the arithmetic below performs the same IEEE operations in the same order.
--
-- Keys (all of one event, sharing the hash tag {<event_id>} so that a script touches one slot;
-- src/redis/key_layout.h names them). Chosen for memory: a waiting user costs a bit, 16 bytes
-- of token key, and three small listpack entries (deadline, record, user).
--   KEYS[1] m       HASH    policy, bucket, counters, windows, sequence (see event_save),
--                           the data layout 'v' (LAYOUT), the deadline chunks' counter 'dn'
--   KEYS[2] l       STRING  the line's block counts: a Fenwick tree of u32
--           l:<b>   STRING  block b of the line: bit i set = sequence number 4096 b + i + 1 waits
--   KEYS[3] d       ZSET    the deadline chunks' index, by head (see "Deadlines" below)
--           d:<n>   ZSET    a chunk of at most 64 deadlines: member token key, score deadline
--                           in us; <n> is the chunk's number (see "Deadlines" below)
--   KEYS[4] migrating       never written (see below)
--           l:<b>:k STRING  block b's token keys: 16 bytes at 16 i for sequence 4096 b + i + 1
--           q       ZSET    fair openings: the pre-queue, member token key, score its slot
--           f       ZSET    random method: the drawn users (the front), score the draw number
--           r:<n>   HASH    record bucket n (of 16381): token key -> packed record (rec_save)
--           u:<n>   HASH    user bucket n (of 16381): user id -> token key, for waiting and
--                           active users (dedupe)
-- The blocks, the chunks, the two sorted sets and the buckets are named after KEYS[1] (its
-- final 'm' replaced) or KEYS[3]. A "token key" is the
-- token's 128 random bits as 16 raw bytes (big-endian), which identify it within its event as in
-- the memory store; raw rather than 32 hex digits because the key is stored several times per
-- user. Deadlines sort by (score, member), members compared with memcmp (as within a ZSET),
-- which is the memory store's (deadline, 128-bit key) btree order.
--
-- The line. A user's position is 1 + the number of waiting users with a smaller sequence number
-- (join hands out one per join, ever). Rather than a sorted set (about 130 bytes per member), the
-- line is a bitmap over sequence numbers cut into blocks of 4096 bits (512 bytes), plus a Fenwick
-- tree of the blocks' counts (u32, big-endian): rank = the Fenwick prefix sum of the earlier blocks
-- (one GETRANGE of the tree's first nodes, at most log2(blocks) of them summed) + BITCOUNT ... BIT
-- of the bits before it in its own block (Redis 7.0 or later). A join sets a bit in the last block
-- and one counter (SETRANGE); leaving the line clears a bit and updates at most log2(blocks)
-- counters in one BITFIELD INCRBY. (Reading through BITFIELD GET costs about 1 us per counter;
-- GETRANGE costs the same for the lot.) A block is deleted as soon as it is empty, and the counts
-- once the whole line is (a missing string reads as zeros), so memory follows the waiting users,
-- not the joins ever.
--
-- A draw of the random method must find the user with a given sequence number, so each block
-- has a companion string of token keys (a join writes its 16 bytes with SETRANGE; it is
-- deleted with its block). That is 16 bytes per join in the block's span, kept for every method
-- because a method can change at any time and a draw cannot wait for an index to be built.
--
-- Fair openings (docs/rules.md). The line in order is the front (drawn users, ZSET f by draw
-- number), then the pool: the users the opening placed (ZSET q by pre-queue slot), then the
-- bitmap's users by sequence. Before the opening q holds the pre-queue, outside the line; the
-- opening only sets a flag, because a slot is fixed at join (PrequeueSlot, a keyed permutation), so
-- q is already in the order the shuffle draws. Their sizes are kept in the event's state
-- (E.drawn_count, E.placed_count) so that positions cost no extra command. A waiting record's state
-- says where it stands: 'w' in the bitmap (sequence: its sequence number), 'p' in q (sequence: its
-- slot), 'f' in f (sequence: its draw number). A draw picks the k-th user of the pool: ZRANGE q k
-- k, or the (k - #q)-th bit of the bitmap (a Fenwick descent, then a scan of one 512-byte block).
--
-- Records and users. A hash of at most 512 entries of at most 64 bytes each stays in Redis'
-- compact listpack encoding (hash-max-listpack-entries and -value, the defaults), which costs
-- the entries' bytes plus two or three each, against about 100 bytes of hash table per field.
-- So both are spread over 16381 buckets (a prime): records by their token key's last six
-- bytes, users by SHA1(user id). At 1M records per event a bucket holds 61 on average and
-- about 100 at most; from about 7M some pass 512 and Redis turns them into hash tables: still
-- correct, only bigger (a listpack is searched linearly, so fewer, fuller buckets would cost
-- time). Records are packed binary (rec_save); one longer than 64 bytes (an admitted user's,
-- with its reservation token) is cut into 64-byte pieces, each a field of its own, so that no
-- value converts its bucket (a user id is a field and is not cut: one over 64 bytes turns its
-- user bucket into a hash table). Empty hashes and strings vanish (Redis deletes an emptied
-- hash, the scripts an emptied block), so no user's keys outlive the user.
--
-- Cluster slot migrations. The blocks and buckets are not declared in KEYS (which are fixed
-- before the script knows what it will touch). On a slot being migrated, a script that reached
-- a key already moved would fail at that command after its earlier writes (Redis never rolls a
-- script back), and one run on the importing node would take a key not yet moved for a missing
-- one. KEYS[4] is declared but never exists, so that Redis refuses every script of the event
-- (TRYAGAIN, which the store retries up to its command timeout) until the migration is over.
--
-- Common ARGV: [1] now in us ('' = the server's TIME), [2] sweep_per_call, [3] event id.
-- The scripts that may create an event (join, set_policy) also get its secret, two u32 halves
-- made by the C++ side, and store them only when they create it.
-- Times are integer microseconds since the Unix epoch. Lua numbers are doubles, exact for
-- integers below 2^53 (about 285 years of microseconds). Every number stored in Redis is
-- formatted explicitly (string.format, I, D) or packed (struct), because Lua's tostring keeps
-- only 14 digits;
-- replies carry integers as numbers (exact integer replies) and doubles as %.17g strings.

local K_META, K_LINE, K_DL = KEYS[1], KEYS[2], KEYS[3]
local ARG_NOW, ARG_SWEEP, EVENT_ID = ARGV[1], tonumber(ARGV[2]) or 0, ARGV[3]

-- Entry blocks and states, numbered as in include/admission/store.h.
local B_NONE, B_PAUSED, B_CAPACITY, B_NOT_YOUR_TURN, B_TIER, B_NOT_WAITING = 0, 1, 2, 3, 4, 5
-- A record's state: as a ticket shows it, except the waiting places 'p' (pre-queue, then the
-- pool's placed users) and 'f' (drawn), which records pack as 5 and 6.
local STATE_CODE = { w = 0, a = 1, x = 2, l = 3, c = 4, p = 5, f = 6 }
local STATE_NAME = { w = 'waiting', a = 'active', x = 'expired', l = 'left', c = 'completed' }
local WAITING = { w = true, p = true, f = true }
local S_PREQUEUE = 5  -- UserState::kPrequeue
-- QueueMethod numbers (include/admission/policy.h).
local M_FIFO, M_RANDOM, M_PASSTHROUGH, M_REJECT = 0, 1, 2, 3

local function I(n) return string.format('%d', n) end
local function D(x) return string.format('%.17g', x) end
local function OI(n) if n == nil then return '' end return I(n) end  -- optional time

-- A token key in hex, for error messages.
local function hex(key)
  return (string.gsub(key, '.', function(c) return string.format('%02x', string.byte(c)) end))
end

-- floor(a / b) for integers, exact even where the rounded double quotient would cross an
-- integer (C++ FloorDiv in rules.cc works on int64).
local function floordiv(a, b)
  local q = math.floor(a / b)
  if q * b > a then
    q = q - 1
  elseif (q + 1) * b <= a then
    q = q + 1
  end
  return q
end

-- The time this call runs at (not yet raised to the event's last seen time).
local function clock_now()
  if ARG_NOW ~= nil and ARG_NOW ~= '' then return tonumber(ARG_NOW) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

---------------------------------------------------------------------------------------------
-- The event: loaded once per call into E, written back by event_save. E is filled in place,
-- never replaced, so that it can be declared again near the closures that capture it (see the
-- note on closures below: capturing a local declared long before costs, and E is captured by
-- almost every closure).

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

-- Windows are stored as "length:period:current:previous;...".
local function parse_windows(s)
  local windows = {}
  for item in string.gmatch(s or '', '[^;]+') do
    local l, p, c, v = string.match(item, '^([^:]+):([^:]+):([^:]+):([^:]+)$')
    windows[#windows + 1] =
      { length = tonumber(l), period = tonumber(p), current = tonumber(c), previous = tonumber(v) }
  end
  return windows
end

local function format_windows(windows)
  local parts = {}
  for i, w in ipairs(windows) do
    parts[i] = string.format('%d:%d:%.17g:%.17g', w.length, w.period, w.current, w.previous)
  end
  return table.concat(parts, ';')
end

-- MakeWindows: a window of the same length keeps what it counted.
local function make_windows(lengths, old)
  local windows = {}
  for i, length in ipairs(lengths) do
    local w = { length = length, period = 0, current = 0, previous = 0 }
    for _, o in ipairs(old) do
      if o.length == length then
        w = { length = o.length, period = o.period, current = o.current, previous = o.previous }
      end
    end
    windows[i] = w
  end
  return windows
end

local POLICY_ARG_DECODERS = {
  rate = tonumber,
  count = tonumber,
  duration = tonumber,
  time = tonumber,
  method = tonumber,
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
}

-- The state and the policy are each packed into one string so that a call reads and writes a
-- few strings rather than dozens of hash fields (HGETALL/HSET of ~30 fields cost more than the
-- rest of a typical script):
--   state   tokens|refilled_at|sequence|first_admission|active|last_now|joined|admitted|
--           admitted_by_bypass|expired|active_timed_out|left|completed|opened|placed_count|
--           drawn_count|windows|secret_hi|secret_lo|shuffled_at_opening|prequeue_joins|draws|
--           admitted_by_safety_net|admitted_by_passthrough|refused
--           (first_admission and last_now empty when unset; windows as in format_windows)
--   policy  admit_rate_per_sec|burst|bypass_top_n|active_capacity|heartbeat_ttl|active_ttl|
--           reservation_ttl|ended_ttl|wait_tiers|paused|method|opens_at|plain|
--           prequeue_opens_at|closes_at|safety_net|length of paused_reason|paused_reason and
--           reject_message, each as its policy argument carries it (durations and times in us,
--           times empty when unset; plain '1' when neither of those two times nor the safety
--           net is set; the texts last: they may contain '|'). A policy field the scripts use
--           must be stored here, which changes the LAYOUT.
-- The fields after `windows` (in the state) and after `plain` (in the policy) are what only
-- fair openings need: they are parsed by load_state_rest() and load_policy_rest() when a call
-- needs them, and written back as loaded otherwise, so that the plain fifo calls pay little
-- for them.
local STATE_PATTERN = '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|' ..
  '([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|(.*)$'
local STATE_REST_PATTERN =
  '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|(.*)$'
local POLICY_PATTERN = '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|' ..
  '([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|(.*)$'
local POLICY_REST_PATTERN = '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|(.*)$'
local loaded_state = nil  -- the state string as loaded, to skip writing it back unchanged

-- The layout of an event's keys (META.layout), raised whenever scripts change how they store
-- an event: 3 since the deadline chunks. An event of another layout (none: written by the
-- scripts before them) is refused rather than misread, so that an upgrade in the middle of an
-- event fails loudly. (Scripts of an older version cannot check; see docs/design.md.)
local LAYOUT = '3'

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
        drawn_count, windows, state_rest = string.match(state, STATE_PATTERN)
  local rate, burst, bypass_top_n, active_capacity, heartbeat_ttl, active_ttl, reservation_ttl,
        ended_ttl, wait_tiers, paused, method, opens_at, plain, policy_rest =
    string.match(policy, POLICY_PATTERN)
  E.admit_rate_per_sec, E.burst = tonumber(rate), tonumber(burst)
  E.bypass_top_n, E.active_capacity = tonumber(bypass_top_n), tonumber(active_capacity)
  E.heartbeat_ttl, E.active_ttl = tonumber(heartbeat_ttl), tonumber(active_ttl)
  E.reservation_ttl, E.ended_ttl = tonumber(reservation_ttl), tonumber(ended_ttl)
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
  E.windows, E.state_rest_text = parse_windows(windows), state_rest
  if E.admit_rate_per_sec == nil or E.burst == nil or E.bypass_top_n == nil or
     E.active_capacity == nil or E.heartbeat_ttl == nil or E.active_ttl == nil or
     E.reservation_ttl == nil or E.ended_ttl == nil or E.wait_tiers == nil or E.method == nil or
     policy_rest == nil or E.tokens == nil or E.refilled_at == nil or E.sequence == nil or
     E.active == nil or E.joined == nil or E.admitted == nil or E.admitted_by_bypass == nil or
     E.expired == nil or E.active_timed_out == nil or E.left == nil or E.completed == nil or
     E.placed_count == nil or E.drawn_count == nil or state_rest == nil then
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
        admitted_by_passthrough, refused = string.match(E.state_rest_text, STATE_REST_PATTERN)
  E.secret_hi, E.secret_lo = tonumber(secret_hi), tonumber(secret_lo)
  E.shuffled_at_opening, E.prequeue_joins = tonumber(shuffled_at_opening), tonumber(prequeue_joins)
  E.draws, E.admitted_by_safety_net = tonumber(draws), tonumber(admitted_by_safety_net)
  E.admitted_by_passthrough, E.refused = tonumber(admitted_by_passthrough), tonumber(refused)
  if E.secret_hi == nil or E.secret_lo == nil or E.shuffled_at_opening == nil or
     E.prequeue_joins == nil or E.draws == nil or E.admitted_by_safety_net == nil or
     E.admitted_by_passthrough == nil or E.refused == nil then
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

-- FindOrCreateEvent: a new event with the given policy, a full bucket and the secret (two u32
-- halves as decimal strings, from the C++ side).
local function event_create(args, i, now, secret_hi, secret_lo)
  E.tokens, E.refilled_at, E.sequence, E.first_admission = 0, now, 0, nil
  E.active, E.last_now, E.joined, E.admitted, E.admitted_by_bypass = 0, nil, 0, 0, 0
  E.expired, E.active_timed_out, E.left, E.completed = 0, 0, 0, 0
  E.opened, E.placed_count, E.drawn_count = false, 0, 0
  E.secret_hi, E.secret_lo = tonumber(secret_hi), tonumber(secret_lo)
  E.shuffled_at_opening, E.prequeue_joins, E.draws = 0, 0, 0
  E.admitted_by_safety_net, E.admitted_by_passthrough, E.refused = 0, 0, 0
  if E.secret_hi == nil or E.secret_lo == nil then error('no event secret') end
  set_policy_fields(args, i)
  E.windows = make_windows(E.rate_windows, {})
  E.tokens = E.burst
end

local function event_save()
  if E.tokens == nil then return end  -- no event loaded
  local rest = E.state_rest_text
  if E.secret_hi ~= nil then
    rest = string.format('%d|%d|%d|%d|%d|%d|%d|%d', E.secret_hi, E.secret_lo,
      E.shuffled_at_opening, E.prequeue_joins, E.draws, E.admitted_by_safety_net,
      E.admitted_by_passthrough, E.refused)
  end
  local state = string.format('%.17g|%d|%d|%s|%d|%s|%d|%d|%d|%d|%d|%d|%d|%s|%d|%d|%s|%s',
    E.tokens, E.refilled_at, E.sequence, OI(E.first_admission), E.active, OI(E.last_now),
    E.joined, E.admitted, E.admitted_by_bypass, E.expired, E.active_timed_out, E.left,
    E.completed, E.opened and '1' or '0', E.placed_count, E.drawn_count,
    format_windows(E.windows), rest)
  if policy_changed then
    local policy = string.format('%.17g|%d|%d|%d|%d|%d|%d|%d|%s|%s|%d|%s|%s|%s|%s|%s|%d|%s%s',
      E.admit_rate_per_sec, E.burst, E.bypass_top_n, E.active_capacity, E.heartbeat_ttl,
      E.active_ttl, E.reservation_ttl, E.ended_ttl, E.wait_tiers, E.paused and '1' or '0',
      E.method, OI(E.opens_at), E.plain and '1' or '0', OI(E.prequeue_opens_at), OI(E.closes_at),
      E.safety_net and '1' or '0', #E.paused_reason, E.paused_reason, E.reject_message)
    redis.call('HSET', K_META, META.state, state, META.policy, policy,
               META.policy_blob, E.policy_blob, META.layout, LAYOUT)
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

---------------------------------------------------------------------------------------------
-- rules.cc: bucket, windows, readiness.
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

---------------------------------------------------------------------------------------------
-- The prelude runs on every call, closures and all, and Lua 5.1 finds each local a closure
-- captures by walking past every captured local declared after it: capturing locals declared
-- long before costs. So the helpers used below are declared again here, near the closures.
local I, floordiv, hex, STATE_CODE, K_LINE, E = I, floordiv, hex, STATE_CODE, K_LINE, E
local K_REC = string.sub(K_META, 1, -2) .. 'r:'  -- + bucket number
local K_USERS = string.sub(K_META, 1, -2) .. 'u:'  -- + bucket number
-- Layout constants (see above). Changing one would need existing events migrated.
local LINE_BLOCK, REC_BUCKETS, USER_BUCKETS, VALUE_MAX = 4096, 16381, 16381, 64

-- The line (see the layout above): the Fenwick tree's node i (1-based) is the u32 at index
-- i - 1 of K_LINE and counts the waiting users of blocks i - lowbit(i) .. i - 1 (0-based).
-- Nodes exist up to the last block a sequence number was handed out in (line_nodes), and a
-- node is written for the first time when that block is opened.

-- The lowest set bit of a positive integer (BitOp works on 32 bits; block numbers beyond 2^31
-- would take 2^43 joins).
local function lowbit(i)
  if i < 2147483648 then return bit.band(i, -i) end
  local p = 1
  while i % (2 * p) == 0 do p = 2 * p end
  return p
end

-- The block (0-based) of a sequence number, and its bit in the block.
local function line_block(sequence)
  local b = floordiv(sequence - 1, LINE_BLOCK)
  return b, sequence - 1 - b * LINE_BLOCK
end

local function line_block_key(b) return K_LINE .. ':' .. I(b) end

local function line_nodes() return floordiv(E.sequence - 1, LINE_BLOCK) + 1 end

-- The first i nodes, for node() and path_sum(): one GETRANGE (reading from the front, it is
-- short for the users at the front of the line; a missing key reads as '').
local function line_read(i)
  if i < 1 then return '' end
  return redis.call('GETRANGE', K_LINE, 0, 4 * i - 1)
end

-- Node j in `counts` (as line_read returned them); 0 beyond their end.
local function node(counts, j)
  local at = 4 * (j - 1) + 1
  if at + 3 > #counts then return 0 end
  return (struct.unpack('>I4', counts, at))
end

local function put_node(j, count)
  redis.call('SETRANGE', K_LINE, 4 * (j - 1), struct.pack('>I4', count))
end

-- The sum of the nodes on the prefix path from node i down to (not including) node `stop`:
-- with stop 0, the waiting users in blocks 0 .. i - 1.
local function path_sum(counts, i, stop)
  local total = 0
  while i > stop do
    total = total + node(counts, i)
    i = i - lowbit(i)
  end
  return total
end

-- The waiting users in blocks 0 .. i - 1.
local function line_sum(i) return path_sum(line_read(i), i, 0) end

-- Puts the newest sequence number (E.sequence), for token key `key`, in line; returns the bitmap's
-- length (everybody else in it is ahead), read on the way.
local function line_add(sequence, key)
  local b, offset = line_block(sequence)
  local block = line_block_key(b)
  redis.call('SETBIT', block, offset, 1)
  -- (Token keys are 16 bytes; the benchmarks' made-up ones are not, and never drawn.)
  if #key == 16 then redis.call('SETRANGE', block .. ':k', 16 * offset, key) end
  local i = b + 1
  local counts = line_read(i)
  if offset == 0 then
    -- A new last block, whose node nobody wrote yet: it counts this user and the blocks
    -- i - lowbit(i) .. i - 2, which are the nodes on the path from i - 1 down to i - lowbit(i);
    -- the rest of that path counts the blocks before.
    put_node(i, 1 + path_sum(counts, i - 1, i - lowbit(i)))
    return 1 + path_sum(counts, i - 1, 0)
  end
  -- The last block's node (no node above it exists yet); with the nodes below it on its prefix
  -- path, it counts the whole line.
  local count = node(counts, i) + 1
  put_node(i, count)
  return count + path_sum(counts, i - lowbit(i), 0)
end

-- Takes a sequence number out of the line; drops its block once empty, and the counts once
-- the whole line is.
local function line_remove(sequence)
  local b, offset = line_block(sequence)
  local key = line_block_key(b)
  redis.call('SETBIT', key, offset, 0)
  local n = line_nodes()
  local args = { 'BITFIELD', K_LINE }
  local i = b + 1
  while i <= n do
    args[#args + 1] = 'INCRBY'
    args[#args + 1] = 'u32'
    args[#args + 1] = '#' .. I(i - 1)
    args[#args + 1] = -1
    i = i + lowbit(i)
  end
  redis.call(unpack(args))
  if redis.call('BITCOUNT', key) == 0 then
    redis.call('DEL', key, key .. ':k')
    if line_sum(n) == 0 then redis.call('DEL', K_LINE) end
  end
end

-- The number of waiting users ahead of a waiting sequence number (position - 1).
local function line_rank(sequence)
  local b, offset = line_block(sequence)
  local rank = line_sum(b)
  if offset > 0 then
    rank = rank + redis.call('BITCOUNT', line_block_key(b), 0, offset - 1, 'BIT')
  end
  return rank
end

local function line_length()
  if E.sequence < 1 then return 0 end
  return line_sum(line_nodes())
end

---------------------------------------------------------------------------------------------
-- Records, packed with struct (big-endian): a flags byte (the state's code in bits 0-2; 8:
-- left_line is set, 16: reservation_expiry is set, 32: continued), sequence (6 bytes, unsigned),
-- joined and deadline (7 bytes each, signed: +-1141 years of us), left_line and
-- reservation_expiry when set (7 bytes each), the user id's length (1 byte, or 255 and then 4
-- bytes), the user id, and the reservation token (the rest). A waiting user's record is 22 bytes
-- plus the user id. A record longer than VALUE_MAX is stored continued: the flags byte gets 32
-- and is followed by the number n of further pieces (2 bytes), then the rest of the record; the
-- first VALUE_MAX bytes of that go in the token key's field, the others in pieces of VALUE_MAX
-- in fields <token key>1 .. <token key>n of the same bucket (token keys are 16 bytes, pieces'
-- fields longer, so they never collide).

local CODE_STATE = { [0] = 'w', 'a', 'x', 'l', 'c', 'p', 'f' }
local E, WAITING = E, WAITING
local F_LEFT, F_RESERVED, F_CONTINUED = 8, 16, 32
local MAX_PIECES = 1000  -- 64 KB per record, far above any user id and reservation token

-- The last six bytes modulo a prime, so that keys that are not random (made up by hand, or by
-- redis-benchmark from decimal digits) spread too. (Token keys are 16 bytes.)
local function rec_bucket(key)
  local n = #key
  local tail = n >= 6 and struct.unpack('>I6', key, n - 5) or 0
  return K_REC .. I(tail % REC_BUCKETS)
end

local user_buckets = {}  -- user id -> bucket, for this call (SHA1 once per user id)
local function users_bucket(uid)
  local bucket = user_buckets[uid]
  if bucket == nil then
    bucket = K_USERS .. I(tonumber(string.sub(redis.sha1hex(uid), 1, 6), 16) % USER_BUCKETS)
    user_buckets[uid] = bucket
  end
  return bucket
end

-- The record in `s` (not continued), or nil if it is not a record; raises on truncation.
local function rec_parse(key, s)
  local flags, sequence, joined, deadline, pos = struct.unpack('>BI6i7i7', s)
  local r = { key = key, state = CODE_STATE[flags % 8], sequence = sequence, joined = joined,
              deadline = deadline }
  if r.state == nil or flags >= F_CONTINUED then return nil end
  if flags % 16 >= F_LEFT then r.left_line, pos = struct.unpack('>i7', s, pos) end
  if flags % 32 >= F_RESERVED then r.reservation_expiry, pos = struct.unpack('>i7', s, pos) end
  local n
  n, pos = struct.unpack('>B', s, pos)
  if n == 255 then n, pos = struct.unpack('>I4', s, pos) end
  if pos + n - 1 > #s then return nil end
  r.user_id = string.sub(s, pos, pos + n - 1)
  r.reservation_token = string.sub(s, pos + n)
  return r
end

local function piece_fields(key, from, to)
  local fields = {}
  for c = from, to do fields[#fields + 1] = key .. I(c) end
  return fields
end

local function rec_load(key)
  local bucket = rec_bucket(key)
  local s = redis.call('HGET', bucket, key)
  if not s then return nil end
  local flags = string.byte(s, 1) or 0
  local pieces = 0
  if flags >= F_CONTINUED and flags < 2 * F_CONTINUED and #s >= 3 then
    pieces = struct.unpack('>H', s, 2)
    if pieces > MAX_PIECES then error('corrupt record ' .. hex(key)) end
    local more = redis.call('HMGET', bucket, unpack(piece_fields(key, 1, pieces)))
    for c = 1, pieces do
      if not more[c] then error('corrupt record ' .. hex(key)) end
    end
    s = string.char(flags - F_CONTINUED) .. string.sub(s, 4) .. table.concat(more)
  end
  local ok, r = pcall(rec_parse, key, s)
  if not ok or r == nil then error('corrupt record ' .. hex(key)) end
  r.pieces = pieces
  return r
end

local function rec_drop_pieces(bucket, key, from, to)
  if from <= to then redis.call('HDEL', bucket, unpack(piece_fields(key, from, to))) end
end

local function rec_save(r)
  local flags = STATE_CODE[r.state] + (r.left_line and F_LEFT or 0) +
    (r.reservation_expiry and F_RESERVED or 0)
  local n = #r.user_id
  local s = struct.pack('>BI6i7i7', flags, r.sequence, r.joined, r.deadline) ..
    (r.left_line and struct.pack('>i7', r.left_line) or '') ..
    (r.reservation_expiry and struct.pack('>i7', r.reservation_expiry) or '') ..
    (n < 255 and string.char(n) or string.char(255) .. struct.pack('>I4', n)) .. r.user_id ..
    r.reservation_token
  local bucket = rec_bucket(r.key)
  local pieces = 0
  if #s <= VALUE_MAX then
    redis.call('HSET', bucket, r.key, s)
  else
    local rest = string.sub(s, 2)
    pieces = math.ceil((#rest + 3) / VALUE_MAX) - 1
    if pieces > MAX_PIECES then error('record too long ' .. hex(r.key)) end
    s = string.char(flags + F_CONTINUED) .. struct.pack('>H', pieces) .. rest
    local args = { 'HSET', bucket, r.key, string.sub(s, 1, VALUE_MAX) }
    for c = 1, pieces do
      args[#args + 1] = r.key .. I(c)
      args[#args + 1] = string.sub(s, c * VALUE_MAX + 1, (c + 1) * VALUE_MAX)
    end
    redis.call(unpack(args))
  end
  rec_drop_pieces(bucket, r.key, pieces + 1, r.pieces or 0)
  r.pieces = pieces
end

local function rec_forget(r)
  local bucket = rec_bucket(r.key)
  redis.call('HDEL', bucket, r.key)
  rec_drop_pieces(bucket, r.key, 1, r.pieces or 0)
end

---------------------------------------------------------------------------------------------
-- Deadlines: every record's (deadline, token key) entry, in that order, kept in small sorted
-- sets ("chunks") of at most DL_CHUNK entries, which Redis stores as listpacks
-- (zset-max-listpack-entries, 128 by default): about 33 bytes an entry, against about 130 in
-- one big sorted set (skiplist and dict), the largest item of a waiting user's memory before.
-- 64 rather than 128: a listpack is searched linearly, and with half as many entries a
-- heartbeat (which moves its entry) cost 0.87x the server time in paired runs. Moving an
-- entry takes about six commands instead of one ZADD: a status costs about 1.2x the server
-- time it did with one sorted set (docs/benchmarks.md), the price of 100 bytes per user.
-- K_DL indexes the chunks by their lower bound, compared as strings (all scores 0): a "head"
-- is the deadline in 7 big-endian bytes (offset, so that string order is numeric order) and
-- the token key's first 16 bytes, padded with zero bytes. Heads never decrease with the entry
-- (token keys are 16 bytes; longer or shorter keys only make heads of different entries
-- equal), and equal heads are never split between chunks. A chunk's index member is its head
-- followed by the chunk's name, a number from the event's counter 'dn'. A chunk holds the
-- entries from its head to the next chunk's head (excluded), so an entry's chunk is one
-- ZREVRANGEBYLEX away; an entry below every head goes into the first chunk, whose head comes
-- down to it. An emptied chunk goes (with its index member), a full one is cut in two before
-- it grows past DL_CHUNK. (Heads are compared only by Redis: Lua's < on strings is strcoll.)
local DL_CHUNK = 64
local DL_OFFSET = 4503599627370496  -- 2^52: deadlines within +-142 years of 1970 are exact

local function dl_head(at, key)
  local n = at + DL_OFFSET
  if n < 0 or n >= 2 * DL_OFFSET then error('deadline out of range: ' .. I(at)) end
  local k = string.sub(key, 1, 16)
  if #k < 16 then k = k .. string.rep('\0', 16 - #k) end
  return struct.pack('>I7', n) .. k
end

-- The index member and key of the chunk with the greatest head at or below h, or nil.
local function dl_find(h)
  local m = redis.call('ZREVRANGEBYLEX', K_DL, '[' .. h .. '\255', '-', 'LIMIT', 0, 1)[1]
  if m == nil then return nil end
  return m, K_DL .. ':' .. string.sub(m, 24)
end

local function dl_index(h, name)
  redis.call('ZADD', K_DL, 0, h .. name)
  return K_DL .. ':' .. name
end

-- Moves the upper half of a full chunk into a new one; false if all its entries share one head
-- (then it grows: only bigger, still correct).
local function dl_split(chunk)
  local all = redis.call('ZRANGE', chunk, 0, -1, 'WITHSCORES')
  local n = #all / 2
  local function head(i) return dl_head(tonumber(all[2 * i]), all[2 * i - 1]) end
  local half = math.floor(n / 2) + 1
  for d = 0, n do  -- the cut nearest the middle; entry `from` starts the upper half
    for _, from in ipairs({ half + d, half - d }) do
      if from > 1 and from <= n then
        local h = head(from)
        if h ~= head(from - 1) then
          local name = I(redis.call('HINCRBY', K_META, META.chunk_counter, 1))
          local args = { 'ZADD', dl_index(h, name) }
          for i = from, n do
            args[#args + 1] = all[2 * i]
            args[#args + 1] = all[2 * i - 1]
          end
          redis.call(unpack(args))
          redis.call('ZREMRANGEBYRANK', chunk, from - 1, -1)
          return true
        end
      end
    end
  end
  return false
end

local function dl_add(at, key)
  local h = dl_head(at, key)
  local _, chunk = dl_find(h)
  if chunk == nil then  -- below every head: the first chunk's head comes down to h
    local first = redis.call('ZRANGE', K_DL, 0, 0)[1]
    local name
    if first == nil then
      name = I(redis.call('HINCRBY', K_META, META.chunk_counter, 1))
    else
      name = string.sub(first, 24)
      redis.call('ZREM', K_DL, first)
    end
    chunk = dl_index(h, name)
  end
  if redis.call('ZCARD', chunk) >= DL_CHUNK and dl_split(chunk) then _, chunk = dl_find(h) end
  redis.call('ZADD', chunk, I(at), key)
end

-- Removes an entry; false if there was none.
local function dl_remove(at, key)
  local m, chunk = dl_find(dl_head(at, key))
  if m == nil or redis.call('ZREM', chunk, key) == 0 then return false end
  if redis.call('ZCARD', chunk) == 0 then redis.call('ZREM', K_DL, m) end
  return true
end

-- The first entry: token key and deadline, or nil.
local function dl_first()
  local m = redis.call('ZRANGE', K_DL, 0, 0)[1]
  if m == nil then return nil end
  local e = redis.call('ZRANGE', K_DL .. ':' .. string.sub(m, 24), 0, 0, 'WITHSCORES')
  if e[1] == nil then error('corrupt deadlines: empty chunk') end
  return e[1], tonumber(e[2])
end

-- Whether a deadline at or before `now` is pending.
local function dl_passed(now)
  local key, at = dl_first()
  return key ~= nil and at <= now
end

-- A record's deadline; r.deadline is its entry's (nil for a record not yet saved).
local function set_deadline(r, at)
  if r.deadline == at then return end
  if r.deadline ~= nil then dl_remove(r.deadline, r.key) end
  dl_add(at, r.key)
  r.deadline = at
end

-- Takes a waiting record out of its place (the bitmap, q or f).
local function leave_line(r)
  if r.state == 'w' then
    line_remove(r.sequence)
  elseif r.state == 'p' then
    redis.call('ZREM', string.sub(K_REC, 1, -3) .. 'q', r.key)
    E.placed_count = E.placed_count - 1
  else
    redis.call('ZREM', string.sub(K_REC, 1, -3) .. 'f', r.key)
    E.drawn_count = E.drawn_count - 1
  end
end

local function end_record(r, state, at)
  if WAITING[r.state] then
    leave_line(r)
    r.left_line = at
  elseif r.state == 'a' then
    E.active = E.active - 1
  end
  redis.call('HDEL', users_bucket(r.user_id), r.user_id)
  r.state = state
  set_deadline(r, at + E.ended_ttl)
end

local function apply_deadline(r)
  if WAITING[r.state] then
    E.expired = E.expired + 1
    end_record(r, 'x', r.deadline)
    rec_save(r)
  elseif r.state == 'a' then
    E.active_timed_out = E.active_timed_out + 1
    end_record(r, 'x', r.deadline)
    rec_save(r)
  else  -- an ended record's retention is over: forget it
    dl_remove(r.deadline, r.key)
    rec_forget(r)
  end
end

-- Applies passed deadlines, oldest first, at most `max` of them; returns how many.
local function apply_passed(now, max)
  local applied = 0
  while applied < max do
    local key, at = dl_first()
    if key == nil or at > now then break end
    local r = rec_load(key)
    if r == nil or r.deadline ~= at then  -- cannot happen: every record has exactly one entry
      if not dl_remove(at, key) then error('corrupt deadlines at ' .. hex(key)) end
    else
      apply_deadline(r)
      applied = applied + 1
    end
  end
  return applied
end

-- Applies the record's own deadline if it has passed; nil if the record was forgotten.
local function settle(key, now)
  while true do  -- at most twice: a ghost whose record is also past its retention
    local r = rec_load(key)
    if r == nil then return nil end
    if r.deadline > now then return r end
    apply_deadline(r)
  end
end

---------------------------------------------------------------------------------------------
-- Fair openings (docs/rules.md). What only schedules and the random method need is built by
-- the first call of fair() in a script, not by every script: the prelude's closures are made
-- on every call (see the note above), and the plain fifo join and status are the hot path.
-- (fair() captures the locals it needs where they are: declaring them again here, as above,
-- measured slower, because every closure below would then walk past them.)
local E = E
local F = nil
local function fair()
  if F ~= nil then return F end
  F = {}
  local K_PRE = string.sub(K_REC, 1, -3) .. 'q'
  local K_FRONT = string.sub(K_REC, 1, -3) .. 'f'
  F.K_PRE, F.K_FRONT = K_PRE, K_FRONT

  -- The keyed randomness of src/shuffle.cc, exactly (docs/rules.md, "Keyed randomness,
  -- exactly", which pins this code; the unit test's known answers hold for it). Numbers are
  -- doubles and the bit library answers signed 32-bit values, so every bit result is brought
  -- back to [0, 2^32) and 32-bit products are split into 16-bit halves to stay exact.
  local M32 = 4294967296
  local function mul32(a, b)  -- (a * b) mod 2^32, a and b in [0, 2^32)
    local al, bl = a % 65536, b % 65536
    local ah, bh = (a - al) / 65536, (b - bl) / 65536
    return (al * bl + ((ah * bl + al * bh) % 65536) * 65536) % M32
  end
  local function mix32(x)
    x = bit.bxor(x, bit.rshift(x, 16)) % M32
    x = mul32(x, 0x85ebca6b)
    x = bit.bxor(x, bit.rshift(x, 13)) % M32
    x = mul32(x, 0xc2b2ae35)
    return bit.bxor(x, bit.rshift(x, 16)) % M32
  end
  local function hash2(a, b) return mix32(bit.bxor(a, mix32(b)) % M32) end

  -- PrequeueSlot(secret, i): an 8-round Feistel network over 16-bit halves.
  function F.prequeue_slot(i)
    load_state_rest()
    local left, right = math.floor(i / 65536), i % 65536
    for r = 0, 7 do
      local f = hash2(hash2(bit.bxor(E.secret_hi, r) % M32, E.secret_lo), right) % 65536
      left, right = right, bit.bxor(left, f) % M32
    end
    return left * 65536 + right
  end

  -- DrawIndex(secret, c, n): Draw52 modulo n, with C's fmod (exact; Lua's % is not near 2^52).
  local function draw_index(c, n)
    if n <= 1 then return 0 end
    local d0 = hash2(bit.bxor(E.secret_hi, 0x100) % M32, E.secret_lo)
    local d1 = hash2(bit.bxor(E.secret_hi, 0x101) % M32, E.secret_lo)
    c = c % M32
    local x = math.floor(hash2(d0, c) / 64) * 67108864 + math.floor(hash2(d1, c) / 64)
    return math.fmod(x, n)
  end

  -- The sequence number of the j-th (0-based) user of the bitmap, j below its length: a
  -- Fenwick descent to the block, then a scan of its 512 bytes (bit 0 is the first byte's high
  -- bit).
  local popcount = nil  -- bits set in each byte value, built by the first draw from the bitmap
  local function line_select(j)
    if popcount == nil then
      popcount = { [0] = 0 }
      for v = 1, 255 do popcount[v] = popcount[floordiv(v, 2)] + v % 2 end
    end
    local n = line_nodes()
    local counts = line_read(n)
    local b, rest = 0, j + 1
    local step = 1
    while 2 * step <= n do step = 2 * step end
    while step >= 1 do
      if b + step <= n then
        local c = node(counts, b + step)
        if c < rest then
          b = b + step
          rest = rest - c
        end
      end
      step = step / 2
    end
    local bits = redis.call('GET', line_block_key(b)) or ''
    for i = 1, #bits do
      local v = string.byte(bits, i)
      if popcount[v] >= rest then
        for offset = 0, 7 do
          local mask = 2 ^ (7 - offset)
          if v % (2 * mask) >= mask then
            rest = rest - 1
            if rest == 0 then return b * LINE_BLOCK + 8 * (i - 1) + offset + 1 end
          end
        end
      end
      rest = rest - popcount[v]
    end
    error('corrupt line: no user ' .. I(j) .. ' in block ' .. I(b))
  end

  -- The token key of a sequence number in the bitmap.
  local function line_key(sequence)
    local b, offset = line_block(sequence)
    return redis.call('GETRANGE', line_block_key(b) .. ':k', 16 * offset, 16 * offset + 15)
  end

  -- Begin's last two steps. The opening (rules::OpensNow, then MemoryStore::Open) is only a
  -- latch: q is in slot order already. Then the random method's draws refill the front
  -- (MemoryStore::Draw): at most kMaxDrawsPerCall, and only when no passed deadline is pending
  -- (only live users are drawn).
  local MAX_DRAWS = 64
  function F.begin(now)
    load_state_rest()
    if not E.opened then
      if E.opens_at ~= nil then
        if now < E.opens_at then return end
      elseif E.placed_count == 0 then
        return
      end
      E.opened = true
      E.shuffled_at_opening = E.placed_count
    end
    if E.method ~= M_RANDOM then return end
    local target = 0  -- rules::DrawTarget
    if not E.paused then
      target = math.min(E.bypass_top_n + math.floor(E.tokens), E.active_capacity - E.active)
    end
    if E.drawn_count >= target then return end
    if dl_passed(now) then return end
    local line = line_length()
    for _ = 1, MAX_DRAWS do
      local pool = E.placed_count + line
      if E.drawn_count >= target or pool <= 0 then break end
      local k = draw_index(E.draws, pool)
      local key
      if k < E.placed_count then
        key = redis.call('ZRANGE', K_PRE, k, k)[1]
        redis.call('ZREM', K_PRE, key)
        E.placed_count = E.placed_count - 1
      else
        local sequence = line_select(k - E.placed_count)
        key = line_key(sequence)
        line_remove(sequence)
        line = line - 1
      end
      local r = rec_load(key)
      if r == nil or not WAITING[r.state] then error('corrupt line: drew ' .. hex(key)) end
      r.state = 'f'
      r.sequence = E.draws
      redis.call('ZADD', K_FRONT, I(E.draws), key)
      E.drawn_count = E.drawn_count + 1
      E.draws = E.draws + 1
      rec_save(r)
    end
  end

  -- StandingOf for a user of the random method's pool, not drawn yet: rules::CheckUndrawn at
  -- D + 1, and the range D + 1 .. D + pool.
  function F.undrawn()
    local position = E.drawn_count + 1
    local high = E.drawn_count + E.placed_count + line_length()
    if E.paused then return position, high, B_PAUSED, false end
    if E.active >= E.active_capacity then return position, high, B_CAPACITY, false end
    if E.admit_rate_per_sec > 0 then
      local needed = math.min(position - E.bypass_top_n, E.burst)
      return position, high, B_NOT_YOUR_TURN, D((needed - E.tokens) / E.admit_rate_per_sec)
    end
    return position, high, B_NOT_YOUR_TURN, false
  end
  return F
end

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

---------------------------------------------------------------------------------------------
local E, WAITING, STATE_CODE, M_RANDOM, M_PASSTHROUGH, S_PREQUEUE =
  E, WAITING, STATE_CODE, M_RANDOM, M_PASSTHROUGH, S_PREQUEUE
local B_NONE, B_PAUSED, B_NOT_WAITING = B_NONE, B_PAUSED, B_NOT_WAITING
-- Replies. The C++ side (src/redis/redis_store.cc) reads them field by field. Integers go back
-- as Lua numbers (Redis turns them into integer replies, exact below 2^53: no formatting
-- cost), "none" as false (a nil reply), doubles as %.17g strings (Redis would truncate them).

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
