-- Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
--
-- The waiting room's scripts share a prelude made of the modules of lua/room/, concatenated at
-- build time in the order of ADMISSION_REDIS_LUA_MODULES (src/redis/CMakeLists.txt) in front of
-- each lua/<action>.lua; the result is embedded in the library and run by EVALSHA. They are one
-- chunk of Lua, so a module uses the locals of the modules before it. Together they mirror
-- src/room/rules.cc and src/room/memory_store.cc line by line: the conformance and differential
-- tests compare every field, doubles included, with the in-memory store, so the arithmetic
-- performs the same IEEE operations in the same order.
--
-- This module: the keys of an event and how they are laid out, the arguments every script
-- gets, and the constants and helpers every module uses.
--
-- Keys (all of one event, sharing the hash tag {<event_id>} so that a script touches one slot;
-- src/redis/room/key_layout.h names them). Chosen for memory: a waiting user costs a bit, 16
-- bytes of token key, and three small listpack entries (deadline, record, user).
--   KEYS[1] m       HASH    policy, bucket, counters, windows, sequence (see event_save),
--                           the data layout 'v' (LAYOUT), the deadline chunks' counter 'dn'
--   KEYS[2] l       STRING  the line's block counts: a Fenwick tree of u32
--           l:<b>   STRING  block b of the line: bit i set = sequence number 4095 b + i + 1 waits
--   KEYS[3] d       ZSET    the deadline chunks' index, by head (see deadlines.lua)
--           d:<n>   ZSET    a chunk of at most 64 deadlines: member token key, score deadline
--                           in us; <n> is the chunk's number (see deadlines.lua)
--   KEYS[4] migrating       never written (see below)
--           l:<b>:k STRING  block b's token keys: 16 bytes at 16 i for sequence 4095 b + i + 1
--           q       ZSET    fair openings: the pre-queue, member token key, score its slot
--           f       ZSET    random method: the drawn users (the front), score the draw number
--           g       ZSET    the grants: member token key, score grant_until in us (see grants.lua)
--           t       ZSET    the returned users: member token key, score their line order
--           r:<n>   HASH    record bucket n (of 16381): token key -> packed record (rec_save)
--           u:<n>   HASH    user bucket n (of 16381): user id -> token key, for waiting and
--                           active users (dedupe)
-- The blocks, the chunks, the four sorted sets and the buckets are named after KEYS[1] (its
-- final 'm' replaced) or KEYS[3]. A "token key" is the
-- token's 128 random bits as 16 raw bytes (big-endian), which identify it within its event as in
-- the memory store; raw rather than 32 hex digits because the key is stored several times per
-- user. Deadlines sort by (score, member), members compared with memcmp (as within a ZSET),
-- which is the memory store's (deadline, 128-bit key) btree order.
--
-- The line. A user's position is 1 + the number of waiting users with a smaller sequence number
-- (join hands out one per join, ever). Rather than a sorted set (about 130 bytes per member), the
-- line is a bitmap over sequence numbers cut into blocks of 4095 bits (in 512 bytes; see
-- LINE_BLOCK), plus a Fenwick tree of the blocks' counts (u32, big-endian): rank = the Fenwick prefix sum of the earlier blocks
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

-- The call's keys and common arguments, and the keys named after them: set by call_begin
-- (calls.lua) at the start of every call. The prelude is compiled once per server (a Redis
-- function library), so everything that belongs to one call lives in locals like these, which
-- every function of the library shares, and call_begin resets them all.
local K_META, K_LINE, K_DL, ARG_NOW, ARG_SWEEP, EVENT_ID = nil, nil, nil, nil, 0, nil
local K_REC, K_USERS, K_GRANTS, K_RETURNED, K_PRE, K_FRONT = nil, nil, nil, nil, nil, nil

-- The call's keys: KEYS as declared, and the keys derived from the meta key.
local function set_call_keys(keys, args)
  K_META, K_LINE, K_DL = keys[1], keys[2], keys[3]
  ARG_NOW, ARG_SWEEP, EVENT_ID = args[1], tonumber(args[2]) or 0, args[3]
  local base = string.sub(K_META, 1, -2)
  K_REC = base .. 'r:'  -- + bucket number
  K_USERS = base .. 'u:'  -- + bucket number
  K_GRANTS = base .. 'g'  -- ZSET token key by grant_until
  K_RETURNED = base .. 't'  -- ZSET token key by line order
  K_PRE = base .. 'q'  -- the pre-queue (openings.lua)
  K_FRONT = base .. 'f'  -- the random method's front (openings.lua)
end

-- Entry blocks and states, numbered as in include/admission/room/store.h.
local B_NONE, B_PAUSED, B_CAPACITY, B_NOT_YOUR_TURN, B_TIER, B_NOT_WAITING = 0, 1, 2, 3, 4, 5
-- A record's state: as a ticket shows it, except the waiting places 'p' (pre-queue, then the
-- pool's placed users) and 'f' (drawn), which records pack as 5 and 6.
local STATE_CODE = { w = 0, a = 1, x = 2, l = 3, c = 4, p = 5, f = 6 }
local STATE_NAME = { w = 'waiting', a = 'active', x = 'expired', l = 'left', c = 'completed' }
local WAITING = { w = true, p = true, f = true }
local S_PREQUEUE = 5  -- UserState::kPrequeue
-- QueueMethod numbers (include/admission/room/policy.h).
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
