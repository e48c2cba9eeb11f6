-- Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
--
-- Shared prelude of the Redis store's scripts. At build time it is concatenated in front of
-- each lua/<action>.lua (cmake/AdmissionRedis.cmake), and the result is embedded in the library
-- and run by EVALSHA. It mirrors src/rules.cc and src/memory_store.cc line by line: the
-- conformance and differential tests compare every field, doubles included, with the in-memory
-- store, so the arithmetic below performs the same IEEE operations in the same order.
--
-- Keys (all of one event, sharing the hash tag {<event_id>} so that a script touches one slot):
--   KEYS[1] meta   HASH  policy, bucket, counters, windows, sequence (see event_save)
--   KEYS[2] line   ZSET  waiting users: member token key, score sequence (ZRANK = position - 1)
--   KEYS[3] dl     ZSET  every record's deadline: member token key, score deadline in us
--   KEYS[4] rec    HASH  token key -> packed record (rec_save)
--   KEYS[5] users  HASH  user id -> token key, for waiting and active users (dedupe)
-- A "token key" is the token's 128 random bits as 16 raw bytes (big-endian), which identify it
-- within its event as in the memory store; raw rather than 32 hex digits because the key is
-- stored four times per user. Deadlines sort by (score, member) in a ZSET, members compared
-- with memcmp, which is the memory store's (deadline, 128-bit key) btree order.
--
-- Common ARGV: [1] now in us ('' = the server's TIME), [2] sweep_per_call, [3] event id.
-- Times are integer microseconds since the Unix epoch. Lua numbers are doubles, exact for
-- integers below 2^53 (about 285 years of microseconds). Every number stored in Redis is
-- formatted explicitly (string.format, I, D), because Lua's tostring keeps only 14 digits;
-- replies carry integers as numbers (exact integer replies) and doubles as %.17g strings.

local K_META, K_LINE, K_DL, K_REC, K_USERS = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local ARG_NOW, ARG_SWEEP, EVENT_ID = ARGV[1], tonumber(ARGV[2]) or 0, ARGV[3]

-- Entry blocks and states, numbered as in include/admission/store.h.
local B_NONE, B_PAUSED, B_CAPACITY, B_NOT_YOUR_TURN, B_TIER, B_NOT_WAITING = 0, 1, 2, 3, 4, 5
local STATE_CODE = { w = 0, a = 1, x = 2, l = 3, c = 4 }
local STATE_NAME = { w = 'waiting', a = 'active', x = 'expired', l = 'left', c = 'completed' }

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
-- The event: loaded once per call into E, written back by event_save.

local E = nil
local policy_changed = false

-- Policy ARGV (written by the C++ side, src/redis/policy_codec.cc EncodePolicyArgs), 13 of
-- them from index i: blob, rate, burst, bypass, capacity, heartbeat_us, active_us,
-- reservation_us, ended_us, tiers ("max,wait_us,exact;..." with max 'inf' for the unbounded
-- tier), window lengths ("us,us"), paused ('1'/'0'), paused reason.

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

local function set_policy_fields(args, i)
  E.pol = args[i]
  E.pr = tonumber(args[i + 1])
  E.pb = tonumber(args[i + 2])
  E.pn = tonumber(args[i + 3])
  E.pc = tonumber(args[i + 4])
  E.ph = tonumber(args[i + 5])
  E.pa = tonumber(args[i + 6])
  E.pv = tonumber(args[i + 7])
  E.pe = tonumber(args[i + 8])
  E.pt = args[i + 9]
  E.tiers = parse_tiers(E.pt)
  E.lengths = parse_lengths(args[i + 10])
  E.pp = args[i + 11] == '1'
  E.pz = args[i + 12]
  policy_changed = true
end

-- The meta HASH has three fields, each packed into one string so that a call reads and writes
-- a few strings rather than dozens of hash fields (HGETALL/HSET of ~30 fields cost more than
-- the rest of a typical script):
--   s    state: tokens|refilled_at|sequence|first_admission|active|last_now|joined|admitted|
--        admitted_by_bypass|expired|active_timed_out|left|completed|windows
--        (first_admission and last_now empty when unset; windows as in format_windows)
--   p    policy for the scripts: rate|burst|bypass|capacity|heartbeat_us|active_us|
--        reservation_us|ended_us|tiers|paused|reason (the reason last: it may contain '|')
--   pol  the C++ side's exact encoding of the Policy, returned by get_policy untouched
local STATE_PATTERN = '^' .. string.rep('([^|]*)|', 13) .. '(.*)$'
local POLICY_PATTERN = '^' .. string.rep('([^|]*)|', 10) .. '(.*)$'
local loaded_state = nil  -- the state string as loaded, to skip writing it back unchanged

-- Loads the event into E; false when it does not exist.
local function event_load()
  local fields = redis.call('HMGET', K_META, 's', 'p')
  local s, p = fields[1], fields[2]
  if not s and not p then return false end
  if not s or not p then error('corrupt event meta ' .. K_META) end
  local bt, br, sq, fa, ac, ln, cj, ca, cb, ce, ct, cl, cc, w = string.match(s, STATE_PATTERN)
  local pr, pb, pn, pc, ph, pa, pv, pe, pt, pp, pz = string.match(p, POLICY_PATTERN)
  E = {
    pr = tonumber(pr), pb = tonumber(pb), pn = tonumber(pn), pc = tonumber(pc),
    ph = tonumber(ph), pa = tonumber(pa), pv = tonumber(pv), pe = tonumber(pe),
    pt = pt, pp = pp == '1', pz = pz,
    bt = tonumber(bt), br = tonumber(br), sq = tonumber(sq), fa = tonumber(fa),
    ac = tonumber(ac), ln = tonumber(ln), cj = tonumber(cj), ca = tonumber(ca),
    cb = tonumber(cb), ce = tonumber(ce), ct = tonumber(ct), cl = tonumber(cl),
    cc = tonumber(cc), windows = parse_windows(w),
  }
  if E.pr == nil or E.pb == nil or E.pn == nil or E.pc == nil or E.ph == nil or
     E.pa == nil or E.pv == nil or E.pe == nil or E.pt == nil or E.bt == nil or
     E.br == nil or E.sq == nil or E.ac == nil or E.cj == nil or E.ca == nil or
     E.cb == nil or E.ce == nil or E.ct == nil or E.cl == nil or E.cc == nil then
    error('corrupt event meta ' .. K_META)
  end
  E.tiers = parse_tiers(E.pt)
  loaded_state = s
  return true
end

-- FindOrCreateEvent: a new event with the given policy and a full bucket.
local function event_create(args, i, now)
  E = { bt = 0, br = now, sq = 0, fa = nil, ac = 0, ln = nil,
        cj = 0, ca = 0, cb = 0, ce = 0, ct = 0, cl = 0, cc = 0 }
  set_policy_fields(args, i)
  E.windows = make_windows(E.lengths, {})
  E.bt = E.pb
end

local function event_save()
  if E == nil then return end
  local s = string.format('%.17g|%d|%d|%s|%d|%s|%d|%d|%d|%d|%d|%d|%d|%s', E.bt, E.br, E.sq,
    OI(E.fa), E.ac, OI(E.ln), E.cj, E.ca, E.cb, E.ce, E.ct, E.cl, E.cc,
    format_windows(E.windows))
  if policy_changed then
    local p = string.format('%.17g|%d|%d|%d|%d|%d|%d|%d|%s|%s|%s', E.pr, E.pb, E.pn, E.pc,
      E.ph, E.pa, E.pv, E.pe, E.pt, E.pp and '1' or '0', E.pz)
    redis.call('HSET', K_META, 's', s, 'p', p, 'pol', E.pol)
  elseif s ~= loaded_state then
    redis.call('HSET', K_META, 's', s)
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

local function refill(now)
  if now > E.br then
    local elapsed_sec = (now - E.br) / 1e6
    E.bt = math.min(E.pb, E.bt + E.pr * elapsed_sec)
    E.br = now
  end
  E.bt = math.min(E.bt, E.pb)
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
  if E.pp then return B_PAUSED, false end
  if E.ac >= E.pc then return B_CAPACITY, false end
  local whole_tokens = math.floor(E.bt)
  if position > E.pn + whole_tokens then
    if E.pr > 0 then
      local needed = math.min(position - E.pn, E.pb)
      return B_NOT_YOUR_TURN, D((needed - E.bt) / E.pr)
    end
    return B_NOT_YOUR_TURN, false
  end
  local wait_us = tier_wait(position)
  local waited_us = now - joined
  if waited_us < wait_us then return B_TIER, wait_us - waited_us end
  return B_NONE, false
end

---------------------------------------------------------------------------------------------
-- Records: "state|seq|joined|left_line|deadline|reservation_expiry|<len>:<user id><reservation>"
-- (left_line and reservation_expiry empty when unset). The user id is length-prefixed and the
-- reservation token is the rest, so neither needs escaping.

local function rec_load(key)
  local s = redis.call('HGET', K_REC, key)
  if not s then return nil end
  local st, seq, j, ll, dl, rx, n, rest = string.match(s,
    '^(%a)|(%-?%d+)|(%-?%d+)|(%-?%d*)|(%-?%d+)|(%-?%d*)|(%d+):(.*)$')
  if st == nil or STATE_CODE[st] == nil then error('corrupt record ' .. hex(key)) end
  n = tonumber(n)
  return { key = key, st = st, seq = tonumber(seq), j = tonumber(j), ll = tonumber(ll),
           dl = tonumber(dl), rx = tonumber(rx), uid = string.sub(rest, 1, n),
           rt = string.sub(rest, n + 1) }
end

local function rec_save(r)
  redis.call('HSET', K_REC, r.key, string.format('%s|%d|%d|%s|%d|%s|%d:%s%s', r.st, r.seq, r.j,
    OI(r.ll), r.dl, OI(r.rx), #r.uid, r.uid, r.rt))
end

local function set_deadline(r, at)
  r.dl = at
  redis.call('ZADD', K_DL, I(at), r.key)
end

local function end_record(r, state, at)
  if r.st == 'w' then
    redis.call('ZREM', K_LINE, r.key)
    r.ll = at
  elseif r.st == 'a' then
    E.ac = E.ac - 1
  end
  redis.call('HDEL', K_USERS, r.uid)
  r.st = state
  set_deadline(r, at + E.pe)
end

local function apply_deadline(r)
  if r.st == 'w' then
    E.ce = E.ce + 1
    end_record(r, 'x', r.dl)
    rec_save(r)
  elseif r.st == 'a' then
    E.ct = E.ct + 1
    end_record(r, 'x', r.dl)
    rec_save(r)
  else  -- an ended record's retention is over: forget it
    redis.call('ZREM', K_DL, r.key)
    redis.call('HDEL', K_REC, r.key)
  end
end

-- Applies passed deadlines, oldest first, at most `max` of them; returns how many.
local function apply_passed(now, max)
  local applied = 0
  while applied < max do
    local first = redis.call('ZRANGE', K_DL, 0, 0, 'WITHSCORES')
    if #first == 0 or tonumber(first[2]) > now then break end
    local r = rec_load(first[1])
    if r == nil then  -- cannot happen: every record has exactly one entry
      redis.call('ZREM', K_DL, first[1])
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
    if r.dl > now then return r end
    apply_deadline(r)
  end
end

-- The event's time for this call, with the bucket refilled and a few deadlines applied.
local function begin()
  local now = clock_now()
  if E.ln ~= nil and E.ln > now then now = E.ln end
  E.ln = now
  refill(now)
  apply_passed(now, ARG_SWEEP)
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
-- Replies. The C++ side (src/redis/redis_store.cc) reads them field by field. Integers go back
-- as Lua numbers (Redis turns them into integer replies, exact below 2^53: no formatting
-- cost), "none" as false (a nil reply), doubles as %.17g strings (Redis would truncate them).

-- RateSample: first_admission (false: never), policy rate, bypass_top_n, paused (0/1), window
-- count, then (length_us, estimate) per window.
local function append_rate(out, now)
  local n = #out
  out[n + 1] = E.fa or false
  out[n + 2] = D(E.pr)
  out[n + 3] = E.pn
  out[n + 4] = E.pp and 1 or 0
  out[n + 5] = #E.windows
  n = n + 5
  for _, w in ipairs(E.windows) do
    out[n + 1] = w.length
    out[n + 2] = D(estimated_admissions(w, now))
    n = n + 2
  end
  return out
end

-- MakeTicket: user id, state, position, joined, left_line (false: never), deadline, block,
-- retry (see readiness; false when none), tier wait (exact duration, '' zero), paused reason,
-- reservation token, reservation expiry (false: no grant), then the rate sample.
local function append_ticket(out, r, now)
  local position, block, retry, tier_exact, reason = 0, B_NOT_WAITING, false, '', ''
  if r.st == 'w' then
    local rank = redis.call('ZRANK', K_LINE, r.key)
    if not rank then error('waiting record not in line ' .. hex(r.key)) end
    position = rank + 1
    local _, exact = tier_wait(position)
    tier_exact = exact
    block, retry = readiness(position, r.j, now)
    if block == B_PAUSED then reason = E.pz end
  end
  local n = #out
  out[n + 1] = r.uid
  out[n + 2] = STATE_CODE[r.st]
  out[n + 3] = position
  out[n + 4] = r.j
  out[n + 5] = r.ll or false
  out[n + 6] = r.dl
  out[n + 7] = block
  out[n + 8] = retry
  out[n + 9] = tier_exact
  out[n + 10] = reason
  out[n + 11] = r.rt
  out[n + 12] = r.rx or false
  return append_rate(out, now)
end
