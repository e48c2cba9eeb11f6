-- Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
--
-- Records, packed with struct (big-endian): a flags byte (the state's code in bits 0-2; 8:
-- left_line is set, 16: reservation_expiry is set, 32: continued, 64: present_until is set,
-- 128: a grants byte follows), sequence (5 bytes, unsigned: an event takes at most 2^40 joins,
-- see join.lua), joined and deadline (7 bytes each, signed: +-1141 years of us), left_line,
-- reservation_expiry and present_until when set (7 bytes each), the grants byte when flagged
-- (1: granted, grant_until follows in 7 bytes; 2: the grant is by credit; 4: returned, in the
-- returned set), the user id's length (1 byte, or 255 and then 4 bytes), the user id, and the
-- reservation token (the rest). A waiting user's record is 28 bytes plus the user id (64 with a
-- 36-character UUID: one field). A record longer than VALUE_MAX is stored continued: the flags
-- byte gets 32 and is followed by the number n of further pieces (2 bytes), then the rest of the
-- record; the first VALUE_MAX bytes of that go in the token key's field, the others in pieces
-- of VALUE_MAX in fields <token key>1 .. <token key>n of the same bucket (token keys are 16
-- bytes, pieces' fields longer, so they never collide).
--
-- Records are cached for the call (rec_cache): a record loaded twice (the caller's own, then
-- again as a candidate of the grants) is one table, so that a change made through either is
-- seen by both.

local CODE_STATE = { [0] = 'w', 'a', 'x', 'l', 'c', 'p', 'f' }
local E, WAITING = E, WAITING
local F_LEFT, F_RESERVED, F_CONTINUED, F_PRESENT, F_GRANTS = 8, 16, 32, 64, 128
local G_GRANTED, G_CREDIT, G_RETURNED = 1, 2, 4
local rec_cache = {}
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
  local flags, sequence, joined, deadline, pos = struct.unpack('>BI5i7i7', s)
  -- Every field in the constructor (false for those set below), so that the table is sized
  -- once.
  local r = { key = key, state = CODE_STATE[flags % 8], sequence = sequence, joined = joined,
              deadline = deadline, left_line = false, reservation_expiry = false,
              present_until = false, grant_until = false, by_credit = false, returned = false,
              user_id = '', reservation_token = '', pieces = 0, bucket = false }
  r.left_line, r.reservation_expiry, r.present_until, r.grant_until = nil, nil, nil, nil
  if r.state == nil or bit.band(flags, F_CONTINUED) ~= 0 then return nil end
  if bit.band(flags, F_LEFT) ~= 0 then r.left_line, pos = struct.unpack('>i7', s, pos) end
  if bit.band(flags, F_RESERVED) ~= 0 then
    r.reservation_expiry, pos = struct.unpack('>i7', s, pos)
  end
  if bit.band(flags, F_PRESENT) ~= 0 then r.present_until, pos = struct.unpack('>i7', s, pos) end
  r.by_credit, r.returned = false, false
  if bit.band(flags, F_GRANTS) ~= 0 then
    local g
    g, pos = struct.unpack('>B', s, pos)
    if bit.band(g, G_GRANTED) ~= 0 then r.grant_until, pos = struct.unpack('>i7', s, pos) end
    r.by_credit = bit.band(g, G_CREDIT) ~= 0
    r.returned = bit.band(g, G_RETURNED) ~= 0
  end
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
  local cached = rec_cache[key]
  if cached ~= nil then return cached end
  local bucket = rec_bucket(key)
  local s = redis.call('HGET', bucket, key)
  if not s then return nil end
  local flags = string.byte(s, 1) or 0
  local pieces = 0
  if bit.band(flags, F_CONTINUED) ~= 0 and #s >= 3 then
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
  r.pieces, r.bucket = pieces, bucket
  rec_cache[key] = r
  return r
end

local function rec_drop_pieces(bucket, key, from, to)
  if from <= to then redis.call('HDEL', bucket, unpack(piece_fields(key, from, to))) end
end

local function rec_save(r)
  local g = (r.grant_until and G_GRANTED or 0) + (r.by_credit and G_CREDIT or 0) +
    (r.returned and G_RETURNED or 0)
  local flags = STATE_CODE[r.state] + (r.left_line and F_LEFT or 0) +
    (r.reservation_expiry and F_RESERVED or 0) + (r.present_until and F_PRESENT or 0) +
    (g ~= 0 and F_GRANTS or 0)
  local n = #r.user_id
  local s = struct.pack('>BI5i7i7', flags, r.sequence, r.joined, r.deadline) ..
    (r.left_line and struct.pack('>i7', r.left_line) or '') ..
    (r.reservation_expiry and struct.pack('>i7', r.reservation_expiry) or '') ..
    (r.present_until and struct.pack('>i7', r.present_until) or '') ..
    (g ~= 0 and string.char(g) or '') ..
    (r.grant_until and struct.pack('>i7', r.grant_until) or '') ..
    (n < 255 and string.char(n) or string.char(255) .. struct.pack('>I4', n)) .. r.user_id ..
    r.reservation_token
  local bucket = r.bucket or rec_bucket(r.key)
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
  rec_cache[r.key] = r
end

local function rec_forget(r)
  local bucket = r.bucket or rec_bucket(r.key)
  redis.call('HDEL', bucket, r.key)
  rec_drop_pieces(bucket, r.key, 1, r.pieces or 0)
  rec_cache[r.key] = nil
end
