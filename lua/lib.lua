-- Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
--
-- Shared prelude of the Redis store's scripts. At build time it is concatenated in front of
-- each lua/<action>.lua (cmake/AdmissionRedis.cmake), and the result is embedded in the library
-- and run by EVALSHA. It mirrors src/rules.cc and src/memory_store.cc line by line: the
-- conformance and differential tests compare every field, doubles included, with the in-memory
-- store, so the arithmetic below performs the same IEEE operations in the same order.
--
-- Keys (all of one event, sharing the hash tag {<event_id>} so that a script touches one slot;
-- src/redis/key_layout.h names them). Chosen for memory: a waiting user costs one sorted-set
-- entry (the deadline), a bit, and two small listpack entries.
--   KEYS[1] m       HASH    policy, bucket, counters, windows, sequence (see event_save)
--   KEYS[2] l       STRING  the line's block counts: a Fenwick tree of u32
--           l:<b>   STRING  block b of the line: bit i set = sequence number 4096 b + i + 1 waits
--   KEYS[3] d       ZSET    every record's deadline: member token key, score deadline in us
--   KEYS[4] migrating       never written (see below)
--           r:<n>   HASH    record bucket n (of 16381): token key -> packed record (rec_save)
--           u:<n>   HASH    user bucket n (of 16381): user id -> token key, for waiting and
--                           active users (dedupe)
-- The blocks and buckets are named after KEYS[1] (its final 'm' replaced). A "token key" is the
-- token's 128 random bits as 16 raw bytes (big-endian), which identify it within its event as in
-- the memory store; raw rather than 32 hex digits because the key is stored several times per
-- user. Deadlines sort by (score, member) in a ZSET, members compared with memcmp, which is the
-- memory store's (deadline, 128-bit key) btree order.
--
-- The line. A user's position is 1 + the number of waiting users with a smaller sequence
-- number (join hands out one per join, ever). Rather than a sorted set (about 130 bytes per
-- member), the line is a bitmap over sequence numbers cut into blocks of 4096 bits (512 bytes),
-- plus a Fenwick tree of the blocks' counts (u32, big-endian): rank = the Fenwick prefix sum
-- of the earlier blocks (one GETRANGE of the tree's first nodes, at most log2(blocks) of them
-- summed) + BITCOUNT ... BIT of the bits before it in its own block (Redis 7.0 or later). A join
-- sets a bit in the last block and one counter (SETRANGE); leaving the line clears a bit and
-- updates at most log2(blocks) counters in one BITFIELD INCRBY. (Reading through BITFIELD GET
-- costs about 1 us per counter; GETRANGE costs the same for the lot.) A block is deleted as soon as it is empty, and the counts once the whole line is (a
-- missing string reads as zeros), so memory follows the waiting users, not the joins ever.
--
-- Records and users. A hash of at most 128 entries of at most 64 bytes each stays in Redis'
-- compact listpack encoding (hash-max-listpack-entries and -value, the defaults), which costs the
-- entries' bytes plus two or three each, against about 100 bytes of hash table per field. So
-- both are spread over 16381 buckets (a prime): records by their token key's last six bytes,
-- users by SHA1(user id). At 1M records per event a bucket holds 61 on average and about 100 at
-- most; from about 1.5M some pass 128 and Redis turns them into hash tables: still correct,
-- only bigger. Records are packed binary (rec_save); one longer than 64 bytes (an admitted
-- user's, with its reservation token) is cut into 64-byte pieces, each a field of its own, so
-- that no value converts its bucket (a user id is a field and is not cut: one over 64 bytes
-- turns its user bucket into a hash table). Empty hashes and strings vanish (Redis deletes an
-- emptied hash, the scripts an emptied block), so no user's keys outlive the user.
--
-- Cluster slot migrations. The blocks and buckets are not declared in KEYS (which are fixed
-- before the script knows what it will touch). On a slot being migrated, a script that reached
-- a key already moved would fail at that command after its earlier writes (Redis never rolls a
-- script back), and one run on the importing node would take a key not yet moved for a missing
-- one. KEYS[4] is declared but never exists, so that Redis refuses every script of the event
-- (TRYAGAIN, which the store retries up to its command timeout) until the migration is over.
--
-- Common ARGV: [1] now in us ('' = the server's TIME), [2] sweep_per_call, [3] event id.
-- Times are integer microseconds since the Unix epoch. Lua numbers are doubles, exact for
-- integers below 2^53 (about 285 years of microseconds). Every number stored in Redis is
-- formatted explicitly (string.format, I, D) or packed (struct), because Lua's tostring keeps
-- only 14 digits;
-- replies carry integers as numbers (exact integer replies) and doubles as %.17g strings.

local K_META, K_LINE, K_DL = KEYS[1], KEYS[2], KEYS[3]
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
-- The prelude runs on every call, closures and all, and Lua 5.1 finds each local a closure
-- captures by walking past every captured local declared after it: capturing locals declared
-- long before costs. So the helpers used below are declared again here, near the closures.
local I, floordiv, hex, STATE_CODE, K_LINE = I, floordiv, hex, STATE_CODE, K_LINE
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
local function line_block(seq)
  local b = floordiv(seq - 1, LINE_BLOCK)
  return b, seq - 1 - b * LINE_BLOCK
end

local function line_block_key(b) return K_LINE .. ':' .. I(b) end

local function line_nodes() return floordiv(E.sq - 1, LINE_BLOCK) + 1 end

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

-- Puts the newest sequence number (E.sq) in line; returns its position (the line's length,
-- since everybody else waiting is ahead), read on the way.
local function line_add(seq)
  local b, offset = line_block(seq)
  redis.call('SETBIT', line_block_key(b), offset, 1)
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
local function line_remove(seq)
  local b, offset = line_block(seq)
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
    redis.call('DEL', key)
    if line_sum(n) == 0 then redis.call('DEL', K_LINE) end
  end
end

-- The number of waiting users ahead of a waiting sequence number (position - 1).
local function line_rank(seq)
  local b, offset = line_block(seq)
  local rank = line_sum(b)
  if offset > 0 then
    rank = rank + redis.call('BITCOUNT', line_block_key(b), 0, offset - 1, 'BIT')
  end
  return rank
end

local function line_length()
  if E.sq < 1 then return 0 end
  return line_sum(line_nodes())
end

---------------------------------------------------------------------------------------------
-- Records, packed with struct (big-endian): a flags byte (the state's code in bits 0-2; 8:
-- left_line is set, 16: reservation_expiry is set, 32: continued), seq (6 bytes, unsigned),
-- joined and deadline (7 bytes each, signed: +-1141 years of us), left_line and
-- reservation_expiry when set (7 bytes each), the user id's length (1 byte, or 255 and then 4
-- bytes), the user id, and the reservation token (the rest). A waiting user's record is 22 bytes
-- plus the user id. A record longer than VALUE_MAX is stored continued: the flags byte gets 32
-- and is followed by the number n of further pieces (2 bytes), then the rest of the record; the
-- first VALUE_MAX bytes of that go in the token key's field, the others in pieces of VALUE_MAX
-- in fields <token key>1 .. <token key>n of the same bucket (token keys are 16 bytes, pieces'
-- fields longer, so they never collide).

local CODE_STATE = { [0] = 'w', 'a', 'x', 'l', 'c' }
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
  local flags, seq, j, dl, pos = struct.unpack('>BI6i7i7', s)
  local r = { key = key, st = CODE_STATE[flags % 8], seq = seq, j = j, dl = dl }
  if r.st == nil or flags >= F_CONTINUED then return nil end
  if flags % 16 >= F_LEFT then r.ll, pos = struct.unpack('>i7', s, pos) end
  if flags % 32 >= F_RESERVED then r.rx, pos = struct.unpack('>i7', s, pos) end
  local n
  n, pos = struct.unpack('>B', s, pos)
  if n == 255 then n, pos = struct.unpack('>I4', s, pos) end
  if pos + n - 1 > #s then return nil end
  r.uid = string.sub(s, pos, pos + n - 1)
  r.rt = string.sub(s, pos + n)
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
  local flags = STATE_CODE[r.st] + (r.ll and F_LEFT or 0) + (r.rx and F_RESERVED or 0)
  local n = #r.uid
  local s = struct.pack('>BI6i7i7', flags, r.seq, r.j, r.dl) ..
    (r.ll and struct.pack('>i7', r.ll) or '') .. (r.rx and struct.pack('>i7', r.rx) or '') ..
    (n < 255 and string.char(n) or string.char(255) .. struct.pack('>I4', n)) .. r.uid .. r.rt
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

local function set_deadline(r, at)
  r.dl = at
  redis.call('ZADD', K_DL, I(at), r.key)
end

local function end_record(r, state, at)
  if r.st == 'w' then
    line_remove(r.seq)
    r.ll = at
  elseif r.st == 'a' then
    E.ac = E.ac - 1
  end
  redis.call('HDEL', users_bucket(r.uid), r.uid)
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
    rec_forget(r)
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
-- (`position`: the waiting user's position when the caller knows it already.)
local function append_ticket(out, r, now, position)
  local block, retry, tier_exact, reason = B_NOT_WAITING, false, '', ''
  if r.st ~= 'w' then
    position = 0
  else
    position = position or line_rank(r.seq) + 1
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
