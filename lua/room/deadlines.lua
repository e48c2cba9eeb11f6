-- Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
--
-- Deadlines: (deadline, token key) entries, in that order, kept in small sorted sets
-- ("chunks") of at most DL_CHUNK entries, which Redis stores as listpacks
-- (zset-max-listpack-entries, 128 by default): about 33 bytes an entry, against about 130 in
-- one big sorted set (skiplist and dict), the largest item of a waiting user's memory before.
-- 64 rather than 128: a listpack is searched linearly.
--
-- The entries are lazy, as the memory store's deadline queue is: every record has an entry at
-- or before its deadline (r.deadline), and a deadline that moves later (every heartbeat) leaves
-- the entries alone; the sweep moves an entry it finds early (apply_passed). A deadline that
-- moves earlier gets an entry of its own, and the later one is dropped when the sweep reaches
-- it. So a heartbeat costs no deadline command (moving an entry takes about six), and each
-- entry moves about once per heartbeat TTL instead of once per heartbeat.
-- K_DL indexes the chunks by their lower bound, compared as strings (all scores 0): a "head"
-- is the deadline in 7 big-endian bytes (offset, so that string order is numeric order) and
-- the token key's first 16 bytes, padded with zero bytes. Heads never decrease with the entry
-- (token keys are 16 bytes; longer or shorter keys only make heads of different entries
-- equal), and equal heads are never split between chunks. A chunk's index member is its head
-- followed by the chunk's name, a number from the event's counter 'dn'. A chunk holds the
-- entries from its head to the next chunk's head (excluded), so an entry's chunk is one
-- ZREVRANGEBYLEX away; an entry below every head goes into the first chunk, whose head comes
-- down to it (a new first chunk if that one is full). An emptied chunk goes (with its index
-- member), a full one is cut in two before it grows past DL_CHUNK. A chunk's head's deadline
-- is its base: the entries' scores are their deadlines minus the base, small numbers that a
-- listpack keeps in 2 to 5 bytes rather than the 9 of a whole time in us (5 bytes per waiting
-- user); a head that comes down moves the scores up with it. (Heads are compared only by Redis:
-- Lua's < on strings is strcoll.)
local DL_CHUNK = 64
local DL_OFFSET = 4503599627370496  -- 2^52: deadlines within +-142 years of 1970 are exact

-- The last chunk as this call last saw it: { chunk = key, at = its base, count = its
-- entries, pending = the ZADD arguments (score, key, ...) of the entries added to it and not
-- sent yet, or nil }, nil when unknown (reset by call_begin, dropped whenever the index
-- changes). The joins of a batch all get the same deadline, the latest of the event: all but
-- the first land in the last chunk without looking it up, and all of them in one ZADD
-- (dl_add).
local dl_tail = nil

-- Sends the entries buffered for the last chunk. Every function here that reads or changes a
-- chunk, or drops dl_tail, calls it first; the call's reply does too (done and fail).
local function dl_flush()
  local tail = dl_tail
  if tail == nil or tail.pending == nil then return end
  local pending = tail.pending
  tail.pending = nil
  -- (count counted every buffered entry; a key already in the chunk only moved.)
  tail.count = tail.count - #pending / 2 + redis.call('ZADD', tail.chunk, unpack(pending))
end

local function dl_head(at, key)
  local offset_at = at + DL_OFFSET
  if offset_at < 0 or offset_at >= 2 * DL_OFFSET then
    error('deadline out of range: ' .. I(at))
  end
  local key_bytes = string.sub(key, 1, 16)
  if #key_bytes < 16 then key_bytes = key_bytes .. string.rep('\0', 16 - #key_bytes) end
  return struct.pack('>I7', offset_at) .. key_bytes
end

-- The deadline in a head (the inverse of dl_head's first 7 bytes): a chunk's base.
local function dl_head_at(head) return struct.unpack('>I7', head) - DL_OFFSET end

-- The index member, key and base of the chunk with the greatest head at or below `head`, or
-- nil.
local function dl_find(head)
  dl_flush()
  local member =
    redis.call('ZREVRANGEBYLEX', K_DL, '[' .. head .. '\255', '-', 'LIMIT', 0, 1)[1]
  if member == nil then return nil end
  return member, K_DL .. ':' .. string.sub(member, 24), dl_head_at(member)
end

local function dl_index(head, name)
  dl_flush()
  dl_tail = nil
  redis.call('ZADD', K_DL, 0, head .. name)
  return K_DL .. ':' .. name
end

-- Moves the upper half of a full chunk (of base `base`) into a new one; false if all its
-- entries share one head (then it grows: only bigger, still correct).
local function dl_split(chunk, base)
  dl_flush()
  local all = redis.call('ZRANGE', chunk, 0, -1, 'WITHSCORES')
  local n = #all / 2
  local function at(i) return tonumber(all[2 * i]) + base end
  local function head(i) return dl_head(at(i), all[2 * i - 1]) end
  local half = math.floor(n / 2) + 1
  for d = 0, n do  -- the cut nearest the middle; entry `from` starts the upper half
    for _, from in ipairs({ half + d, half - d }) do
      if from > 1 and from <= n then
        local upper_head = head(from)
        if upper_head ~= head(from - 1) then
          local name = I(redis.call('HINCRBY', K_META, META.chunk_counter, 1))
          local args = { 'ZADD', dl_index(upper_head, name) }
          local upper_base = at(from)
          for i = from, n do
            args[#args + 1] = I(at(i) - upper_base)
            args[#args + 1] = all[2 * i - 1]
          end
          redis.call(unpack(args))
          redis.call('ZREMRANGEBYRANK', chunk, from - 1, -1)
          dl_tail = nil
          return true
        end
      end
    end
  end
  return false
end

-- A head's token key part when it is a deadline's lowest head (dl_add's new last chunks).
local LOWEST_KEY = '\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0'

-- The last chunk (dl_tail), looked up if unknown; nil when there is no chunk. `lowest`: its
-- head is its deadline's lowest, so that every entry of that deadline belongs to it too.
local function dl_last()
  if dl_tail == nil then
    local member = redis.call('ZRANGE', K_DL, -1, -1)[1]
    if member == nil then return nil end
    local chunk = K_DL .. ':' .. string.sub(member, 24)
    dl_tail = { chunk = chunk, at = dl_head_at(member), count = redis.call('ZCARD', chunk),
                lowest = string.sub(member, 8, 23) == LOWEST_KEY }
  end
  return dl_tail
end

-- A full last chunk whose entries are no later than `at`, and not all of deadline `at`, is
-- followed by a new last chunk headed by `at`'s lowest head, rather than cut in two; the
-- entries of deadline `at` it ends with (the batch's joins before this one) move into the new
-- chunk with their head. Entries that arrive in deadline order (joins, and the heartbeats'
-- entries the sweep moves on) then fill chunks to DL_CHUNK, less a batch's share, and never
-- move again, and the joins of a batch, which share their deadline, all follow that head
-- whatever their token keys. (Cutting in two left every chunk behind the last half full,
-- and cost a join batch a split every DL_CHUNK / 2 joins.) Returns the new chunk, or nil.
local function dl_open_last(tail, at)
  dl_flush()
  local last = redis.call('ZRANGE', tail.chunk, -1, -1, 'WITHSCORES')[2]
  local score = at - tail.at
  if last == nil or tonumber(last) > score then return nil end
  local moving = {}
  if tonumber(last) == score then
    moving = redis.call('ZRANGE', tail.chunk, score, score, 'BYSCORE')
    if #moving >= tail.count then return nil end
  end
  local chunk = dl_index(dl_head(at, ''), I(redis.call('HINCRBY', K_META, META.chunk_counter, 1)))
  if #moving > 0 then
    local args = { 'ZADD', chunk }
    for _, key in ipairs(moving) do
      args[#args + 1] = 0
      args[#args + 1] = key
    end
    redis.call(unpack(args))
    redis.call('ZREMRANGEBYRANK', tail.chunk, -#moving, -1)
  end
  dl_tail = { chunk = chunk, at = at, count = #moving, lowest = true }
  return dl_tail
end

-- Lowers the first chunk's head to `head` (of deadline `at`), its entries' scores with it, or
-- starts a first chunk when there is none or it is full; returns the chunk's key.
local function dl_lower_first(head, at)
  dl_flush()
  local first = redis.call('ZRANGE', K_DL, 0, 0)[1]
  local chunk = first and K_DL .. ':' .. string.sub(first, 24)
  if first == nil or redis.call('ZCARD', chunk) >= DL_CHUNK then
    return dl_index(head, I(redis.call('HINCRBY', K_META, META.chunk_counter, 1)))
  end
  local all = redis.call('ZRANGE', chunk, 0, -1, 'WITHSCORES')
  local by = dl_head_at(first) - at  -- > 0: every score grows by it
  local args = { 'ZADD', chunk }
  for i = 1, #all, 2 do
    args[#args + 1] = I(tonumber(all[i + 1]) + by)
    args[#args + 1] = all[i]
  end
  redis.call(unpack(args))
  redis.call('ZREM', K_DL, first)
  return dl_index(head, string.sub(first, 24))
end

local function dl_add(at, key)
  if E.next_deadline ~= nil and at < E.next_deadline then E.next_deadline = at end
  -- A deadline later than the last chunk's head: its entry belongs to the last chunk (a head
  -- with the same deadline could sort either way, so those are looked up). The last chunk is
  -- looked up for the deadlines that are likely the latest (a heartbeat's from now on, as a
  -- join sets), known for the rest once it was.
  local tail = dl_tail
  if tail == nil and E.last_now ~= nil and at >= E.last_now + E.heartbeat_ttl then
    tail = dl_last()
  end
  if tail ~= nil and (at > tail.at or (at == tail.at and tail.lowest)) then
    if tail.count >= DL_CHUNK and at > tail.at then tail = dl_open_last(tail, at) end
    if tail ~= nil and tail.count < DL_CHUNK then
      local pending = tail.pending
      if pending == nil then
        pending = {}
        tail.pending = pending
      end
      pending[#pending + 1] = I(at - tail.at)
      pending[#pending + 1] = key
      tail.count = tail.count + 1
      return
    end
  end
  local head = dl_head(at, key)
  local _, chunk, base = dl_find(head)
  if chunk == nil then  -- below every head: the first chunk's head (and base) comes down
    chunk, base = dl_lower_first(head, at), at
  end
  local count = redis.call('ZCARD', chunk)
  if count >= DL_CHUNK and dl_split(chunk, base) then _, chunk, base = dl_find(head) end
  local added = redis.call('ZADD', chunk, I(at - base), key)
  if dl_tail ~= nil and dl_tail.chunk == chunk then dl_tail.count = dl_tail.count + added end
end

-- Removes an entry; false if there was none.
local function dl_remove(at, key)
  local member, chunk = dl_find(dl_head(at, key))
  if member == nil or redis.call('ZREM', chunk, key) == 0 then return false end
  if dl_tail ~= nil and dl_tail.chunk == chunk then dl_tail.count = dl_tail.count - 1 end
  if redis.call('ZCARD', chunk) == 0 then
    redis.call('ZREM', K_DL, member)
    dl_tail = nil
  end
  return true
end

-- The first entry: token key and deadline, or nil; E.next_deadline becomes its deadline
-- (math.huge when there is none).
-- E.next_deadline (at or before the first entry's deadline; nil: unknown) spares every call
-- but the few that find a deadline passed the two lookups: an entry added earlier lowers it,
-- an entry that goes leaves it (then too early, which only costs a lookup).
local function dl_first()
  dl_flush()
  local member = redis.call('ZRANGE', K_DL, 0, 0)[1]
  if member == nil then
    E.next_deadline = math.huge
    return nil
  end
  local entry = redis.call('ZRANGE', K_DL .. ':' .. string.sub(member, 24), 0, 0, 'WITHSCORES')
  if entry[1] == nil then error('corrupt deadlines: empty chunk') end
  local at = tonumber(entry[2]) + dl_head_at(member)
  E.next_deadline = at
  return entry[1], at
end

-- Whether no deadline at or before `now` can be pending.
local function dl_none_passed(now)
  return E.next_deadline ~= nil and E.next_deadline > now
end

-- Whether a deadline at or before `now` is pending.
local function dl_passed(now)
  if dl_none_passed(now) then return false end
  local key, at = dl_first()
  return key ~= nil and at <= now
end

-- A record's deadline (nil for a record not yet saved); see the lazy entries above.
local function set_deadline(r, at)
  if r.deadline == nil or at < r.deadline then dl_add(at, r.key) end
  r.deadline = at
end

-- Takes a waiting record out of the line (docs/rules.md, "Leaving the line"): its place (the
-- bitmap, q or f) and what the grants keep of it. `ended`: the user left or expired at `at`
-- rather than entered, so a grant's token goes back (as for a lapse, without counting one) and
-- a user the cursor has not reached counts a departure. Pre-queued users are not in line yet.
local function leave_line(r, ended, at)
  if E.first_returned ~= nil and order_of(r) <= E.first_returned then E.first_returned = nil end
  if E.opened or r.state ~= 'p' then
    if is_reached(r) then
      if r.state == 'f' then
        E.reached_front = E.reached_front - 1
      else
        E.reached_pool = E.reached_pool - 1
      end
    else
      if E.candidate == order_of(r) then E.candidate = nil end
      if ended then record_all('dep_windows', at) end
    end
  end
  if r.grant_until ~= nil then
    redis.call('ZREM', K_GRANTS, r.key)
    E.granted = E.granted - 1
    if ended then E.tokens = math.min(E.burst, E.tokens + 1) end
    r.grant_until = nil
  end
  r.by_credit = false
  if r.returned then
    redis.call('ZREM', K_RETURNED, r.key)
    E.returned_count = E.returned_count - 1
    r.returned = false
    E.first_returned = nil
  end
  r.present_until = nil
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
    leave_line(r, true, at)
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
  else  -- an ended record's retention is over: forget it (the entry is the caller's to remove)
    rec_forget(r)
  end
end

-- Applies passed deadlines, oldest first, at most `max` of them; returns how many. On the way
-- it moves early entries (the record's deadline is later) to the record's deadline and drops
-- the entries of forgotten records and later duplicates, even once `max` is reached, so that
-- afterwards the first entry is in the future or a deadline that has really passed; but at
-- most MAX_STALE_MOVES of those per call (kMaxStaleMovesPerCall in the memory store), so that a
-- call after a quiet spell stays bounded, the rest left to the next calls.
local MAX_STALE_MOVES = 128
local function apply_passed(now, max)
  if dl_none_passed(now) then return 0 end
  local applied, moved = 0, 0
  while moved < MAX_STALE_MOVES do
    local key, at = dl_first()
    if key == nil or at > now then break end
    local r = rec_load(key)
    if r == nil or r.deadline < at then  -- forgotten, or a later duplicate
      dl_remove(at, key)
      moved = moved + 1
    elseif r.deadline > at then  -- early: heartbeats moved the deadline on
      dl_remove(at, key)
      dl_add(r.deadline, key)
      moved = moved + 1
    elseif applied >= max then
      break
    else
      dl_remove(at, key)
      apply_deadline(r)
      applied = applied + 1
      -- The entry just removed was the record's; it needs one for its next deadline.
      if rec_load(key) ~= nil then dl_add(r.deadline, key) end
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
