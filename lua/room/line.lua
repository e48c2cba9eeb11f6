-- Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
--
-- The line: a bitmap over sequence numbers with a Fenwick tree of its blocks' counts (see the
-- layout in keys.lua); the layout constants of the keys a script finds by name.

-- Layout constants (keys.lua). Changing one would need existing events migrated. A block has
-- 4095 sequence numbers rather than 4096 so that its full string of token keys, 65,520 bytes,
-- fits jemalloc's 64 KiB class (65,536 bytes take the 80 KiB one: 4 bytes per user).
local LINE_BLOCK, REC_BUCKETS, USER_BUCKETS, VALUE_MAX = 4095, 16381, 16381, 64
-- A block's token keys grow by SETRANGE, which doubles a string's room as it grows (and would
-- end in the 80 KiB class too), until this many; then the string is written once at its full
-- length, so that a small line keeps small strings and a full block takes 64 KiB.
local KEYS_PRESIZE_AT = 1024

-- The line (see the layout in keys.lua): the Fenwick tree's node i (1-based) is the u32 at index
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
-- short for the users at the front of the line; a missing key reads as ''). What a call read
-- is kept (line_counts, reset by call_begin), with the call's own writes of a node (put_node)
-- applied to it, so that the positions of a batch of statuses or joins cost one read; a
-- removal from the line (line_remove) drops it.
local line_counts = nil

-- The nodes lo .. hi of line_counts hold writes of this call not sent yet (nil: none): a batch
-- of joins writes the last block's node once per join, and it goes out once, by line_flush,
-- before the nodes are read again or changed in Redis, and with the call's reply (done, fail).
local line_unsent_lo, line_unsent_hi = nil, nil

-- The places line_add took in this call and not sent yet, nil when none: `n` consecutive
-- offsets from `first` in block `b` (key `block`), and their token keys (nil when they are not
-- 16 bytes, and not written). A batch of joins takes consecutive places, and one BITFIELD and
-- one SETRANGE send them, rather than a SETBIT and a SETRANGE each.
local line_new = nil

-- Sends what the call wrote of the line and did not send yet; before anything reads a block or
-- the nodes from Redis (line.lua's readers, and line_find_block before its callers read the
-- block it found), and with the call's reply (done, fail).
local function line_flush()
  local new = line_new
  if new ~= nil then
    line_new = nil
    -- The new places' bits were 0: set them up to 32 at a time (BITFIELD SET u<width>).
    local args, at, left = { 'BITFIELD', new.block }, new.first, new.n
    while left > 0 do
      local width = math.min(left, 32)
      args[#args + 1] = 'SET'
      args[#args + 1] = 'u' .. width
      args[#args + 1] = I(at)
      args[#args + 1] = I(2 ^ width - 1)
      at, left = at + width, left - width
    end
    redis.call(unpack(args))
    if new.keys ~= nil then
      redis.call('SETRANGE', new.block .. ':k', 16 * new.first, table.concat(new.keys))
    end
  end
  if line_unsent_lo ~= nil then
    redis.call('SETRANGE', K_LINE, 4 * (line_unsent_lo - 1),
               string.sub(line_counts, 4 * (line_unsent_lo - 1) + 1, 4 * line_unsent_hi))
    line_unsent_lo, line_unsent_hi = nil, nil
  end
end

local function line_read(i)
  if i < 1 then return '' end
  if line_counts ~= nil and #line_counts >= 4 * i then return line_counts end
  line_flush()
  line_counts = redis.call('GETRANGE', K_LINE, 0, 4 * line_nodes() - 1)
  return line_counts
end

-- Node j in `counts` (as line_read returned them); 0 beyond their end.
local function node(counts, j)
  local at = 4 * (j - 1) + 1
  if at + 3 > #counts then return 0 end
  return (struct.unpack('>I4', counts, at))
end

-- Writes node j: into what the call read of the nodes when that covers the nodes before it (a
-- batch of joins then reads them once, and sends them once: line_flush), else to Redis.
local function put_node(j, count)
  local packed = struct.pack('>I4', count)
  if line_counts ~= nil and #line_counts >= 4 * (j - 1) then
    line_counts = string.sub(line_counts, 1, 4 * (j - 1)) .. packed ..
      string.sub(line_counts, 4 * j + 1)
    if line_unsent_lo == nil or j < line_unsent_lo then line_unsent_lo = j end
    if line_unsent_hi == nil or j > line_unsent_hi then line_unsent_hi = j end
  else
    line_flush()
    redis.call('SETRANGE', K_LINE, 4 * (j - 1), packed)
    line_counts = nil
  end
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
  E.bitmap_count = E.bitmap_count + 1
  local b, offset = line_block(sequence)
  -- (Token keys are 16 bytes; the benchmarks' made-up ones are not, and never drawn.)
  local keyed = #key == 16
  local new = line_new
  if new ~= nil and (new.b ~= b or new.first + new.n ~= offset or keyed ~= (new.keys ~= nil)) then
    line_flush()
    new = nil
  end
  if keyed and offset == KEYS_PRESIZE_AT then
    line_flush()
    local block = line_block_key(b)
    redis.call('SETBIT', block, offset, 1)
    -- (SETRANGE into a missing key makes a string of exactly the length written.)
    local before = redis.call('GET', block .. ':k') or ''
    before = string.sub(before, 1, 16 * offset) .. string.rep('\0', 16 * offset - #before)
    redis.call('DEL', block .. ':k')
    redis.call('SETRANGE', block .. ':k', 0,
               before .. key .. string.rep('\0', 16 * (LINE_BLOCK - offset - 1)))
  else
    if new == nil then
      new = { b = b, block = line_block_key(b), first = offset, n = 0, keys = keyed and {} or nil }
      line_new = new
    end
    new.n = new.n + 1
    if keyed then new.keys[new.n] = key end
  end
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
  line_flush()
  E.bitmap_count = E.bitmap_count - 1
  local b, offset = line_block(sequence)
  local key = line_block_key(b)
  redis.call('SETBIT', key, offset, 0)
  local n = line_nodes()
  line_counts = nil
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
    if line_sum(n) == 0 then
      redis.call('DEL', K_LINE)
      line_counts = nil
    end
  end
end

-- The number of waiting users ahead of a waiting sequence number (position - 1).
local function line_rank(sequence)
  line_flush()
  local b, offset = line_block(sequence)
  local rank = line_sum(b)
  if offset > 0 then
    rank = rank + redis.call('BITCOUNT', line_block_key(b), 0, offset - 1, 'BIT')
  end
  return rank
end

local function line_length() return E.bitmap_count end

-- The block (0-based) holding the j-th (0-based) user of the bitmap, j below its length, and
-- that user's rank (1-based) among the block's users: a descent of the Fenwick tree.
local function line_find_block(j)
  line_flush()
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
  return b, rest
end

-- The token key of a sequence number in the bitmap.
local function line_key(sequence)
  line_flush()
  local b, offset = line_block(sequence)
  return redis.call('GETRANGE', line_block_key(b) .. ':k', 16 * offset, 16 * offset + 15)
end

-- The grants' line order (docs/rules.md, "Presence, the cursor and grants"). A waiting user's
-- place in line order as one number: a drawn user's draw number, a placed user's slot +
-- ORDER_POOL, a later arrival's sequence + ORDER_POOL + 2^32. The pool part (minus ORDER_POOL)
-- is what cursor_pool holds: a pool user is reached when it is <= cursor_pool, a drawn one
-- when the draw number is <= cursor_front. Exact in doubles (draws and sequences below 2^44).
-- It is also the score of the returned set, which therefore sorts in line order.
local ORDER_POOL, ORDER_LATER = 17592186044416, 4294967296  -- 2^44, 2^32

local function pool_order(r)
  if r.state == 'p' then return r.sequence end
  return ORDER_LATER + r.sequence
end

local function order_of(r)
  if r.state == 'f' then return r.sequence end
  return ORDER_POOL + pool_order(r)
end

-- Whether the cursor has reached a waiting record (pre-queued users before the opening never
-- are: cursor_pool does not move before it).
local function is_reached(r)
  if r.state == 'f' then return r.sequence <= E.cursor_front end
  return pool_order(r) <= E.cursor_pool
end
