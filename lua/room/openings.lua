-- Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
--
-- Fair openings (docs/rules.md). What only schedules and the random method need is built by
-- the first call of fair() after the library is loaded, and kept: it holds code and
-- constants only, never a call's state, which lives in E and the call's locals (keys.lua).
local E = E
local F = nil
local function fair()
  if F ~= nil then return F end
  F = {}

  -- The keyed randomness of src/room/shuffle.cc, exactly (docs/rules.md, "Keyed randomness,
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
    local b, rest = line_find_block(j)
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

  -- Begin's opening (rules::OpensNow, then MemoryStore::Open) is only a latch: q is in slot
  -- order already.
  function F.open(now)
    load_state_rest()
    if E.opens_at ~= nil then
      if now < E.opens_at then return end
    elseif E.placed_count == 0 then
      return
    end
    E.opened = true
    E.shuffled_at_opening = E.placed_count
    E.candidate, E.first_returned = nil, nil
  end

  -- Advance's draws (random method, opened, not paused): refill the front until it holds
  -- DrawTarget unreached users, at most kMaxDrawsPerCall, and only when no passed deadline is
  -- pending (only live users are drawn). A drawn user leaves the pool: reached no more (their
  -- new draw number is beyond cursor_front), out of the returned set; a grant stays theirs.
  local MAX_DRAWS = 64
  function F.draw(now)
    load_state_rest()
    local target = E.bypass_top_n + E.burst + math.ceil(E.admit_rate_per_sec * 90)
    if E.drawn_count - E.reached_front >= target then return end
    if E.placed_count + E.bitmap_count <= 0 then return end
    -- No draw while a passed deadline waits to be applied; the entries this call left behind
    -- (a record it forgot, whose early entry stays: deadlines.lua) are not such deadlines.
    apply_passed(now, 0)
    if dl_passed(now) then return end
    E.candidate, E.first_returned = nil, nil
    for _ = 1, MAX_DRAWS do
      local pool = E.placed_count + E.bitmap_count
      if E.drawn_count - E.reached_front >= target or pool <= 0 then break end
      local k = draw_index(E.draws, pool)
      local key
      if k < E.placed_count then
        key = redis.call('ZRANGE', K_PRE, k, k)[1]
      else
        key = line_key(line_select(k - E.placed_count))
      end
      local r = rec_load(key)
      if r == nil or not WAITING[r.state] or r.state == 'f' then
        error('corrupt line: drew ' .. hex(key))
      end
      if is_reached(r) then E.reached_pool = E.reached_pool - 1 end
      if r.returned then
        E.first_returned = nil
        redis.call('ZREM', K_RETURNED, key)
        E.returned_count = E.returned_count - 1
        r.returned = false
      end
      if r.state == 'p' then
        redis.call('ZREM', K_PRE, key)
        E.placed_count = E.placed_count - 1
      else
        line_remove(r.sequence)
      end
      r.state = 'f'
      r.sequence = E.draws
      redis.call('ZADD', K_FRONT, I(E.draws), key)
      E.drawn_count = E.drawn_count + 1
      E.draws = E.draws + 1
      rec_save(r)
    end
  end

  return F
end
