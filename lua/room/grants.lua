-- Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
--
-- Presence, the cursor and grants (docs/rules.md): the refresh of a user who calls, Begin's
-- lapses and Advance (MemoryStore's). The state is in E (cursor_front, cursor_pool,
-- reached_front, reached_pool, granted, returned_count, passed, lapsed; see state.lua), the
-- records (present_until, grant_until, by_credit, returned; see records.lua) and two sorted
-- sets named after the meta key (K_GRANTS, K_RETURNED; see keys.lua): the grants by (grant_until, token key), and the
-- returned users by line order (order_of), which is the order the grants serve them in.
--
-- Advance runs on every call but Sweep and GetPolicy, so its usual outcome, no grant, must cost
-- (nearly) no command. E.candidate caches the line order and present_until of the next
-- unreached user in the grants' order when Advance last stopped at them (present, no grant
-- possible): while it holds, the returned set is empty and no token or credit reaches that
-- user's position, Advance would stop at the same user again and is skipped. The cache is
-- dropped whenever the next unreached user may change (the cursor moves, that user leaves, a
-- draw, a join into a line with nobody unreached, the opening, a policy change) and updated when
-- that user calls. E.first_returned, first_returned_until and first_returned_position do the
-- same for the first returned user, where Advance stops first while the returned set is not
-- empty: dropped when the first returned user may change or move (the set loses a user, gains
-- one ahead of them, anybody ahead leaves the line, a draw, a policy change).
-- What only grants, passes and lapses need is built by the first call of grants() and kept (as
-- fair() is, see openings.lua).
local GR = nil
local function grants()
  if GR ~= nil then return GR end
  GR = {}
  local MAX_GRANTS, MAX_PASSES, MAX_LAPSES = 64, 128, 64  -- kMax{Grants,Passes,Lapses}PerCall

  -- The cursor moves past an unreached user (a grant, a pass or the skip of a granted user):
  -- every reached window counts one, every exposure window the seconds they had waited.
  local function reach(r, now)
    local waited_sec = (now - r.joined) / 1e6
    load_windows()
    for i, w in ipairs(E.reach_windows) do
      record_admission(w, now)
      local x = E.exp_windows[i]
      roll(x, now)
      x.current = x.current + waited_sec
    end
    E.windows_text = nil
    if r.state == 'f' then
      E.cursor_front = r.sequence
      E.reached_front = E.reached_front + 1
    else
      E.cursor_pool = pool_order(r)
      E.reached_pool = E.reached_pool + 1
    end
  end

  local function drop_returned(r)
    redis.call('ZREM', K_RETURNED, r.key)
    E.returned_count = E.returned_count - 1
    r.returned = false
    E.first_returned = nil
  end

  -- lapses() once a grant may have lapsed.
  function GR.lapses(now)
    local first = redis.call('ZRANGE', K_GRANTS, 0, MAX_LAPSES, 'WITHSCORES')
    local due = {}
    E.next_lapse = nil
    for i = 1, #first, 2 do
      local at = tonumber(first[i + 1])
      if at > now or #due == MAX_LAPSES then
        E.next_lapse = at
        break
      end
      due[#due + 1] = first[i]
    end
    if #due == 0 then return end
    redis.call('ZREM', K_GRANTS, unpack(due))
    load_state_rest()
    for _, key in ipairs(due) do
      local r = rec_load(key)
      if r == nil or r.grant_until == nil then error('corrupt grants at ' .. hex(key)) end
      r.grant_until = nil
      r.by_credit = false
      E.granted = E.granted - 1
      E.lapsed = E.lapsed + 1
      -- A grant nobody claimed went, nearly always, to a user who vanished: the ETA counts it
      -- with the passes.
      record_all('pass_windows', now)
      E.tokens = math.min(E.burst, E.tokens + 1.0)
      rec_save(r)
    end
  end


  -- The next unreached user in the grants' order and their position, or nil: the front after
  -- cursor_front, then (not under random) the pool after cursor_pool. Every user before them in
  -- their part of the line is reached, so the position is a count: with unreached drawn users,
  -- reached_front + 1; otherwise (the front all reached) reached_front + reached_pool + 1. The
  -- placed users (q) all come before the bitmap's, so the cursor is in q exactly while q has
  -- unreached users, and once it is past q the bitmap's reached users are reached_pool - #q.
  local function next_unreached()
    local key
    if E.drawn_count > E.reached_front then
      key = redis.call('ZRANGEBYSCORE', K_FRONT, '(' .. I(E.cursor_front), '+inf',
                       'LIMIT', 0, 1)[1]
      if key == nil then error('corrupt front: no unreached user') end
      return rec_load(key), E.reached_front + 1
    end
    if E.method == M_RANDOM or E.placed_count + E.bitmap_count <= E.reached_pool then return nil end
    if E.placed_count > E.reached_pool then
      key = redis.call('ZRANGEBYSCORE', K_PRE, '(' .. I(E.cursor_pool), '+inf',
                       'LIMIT', 0, 1)[1]
    else
      local b = line_find_block(E.reached_pool - E.placed_count)
      local from = 0
      local cursor_sequence = E.cursor_pool - ORDER_LATER
      if cursor_sequence >= 1 then
        local cursor_block, offset = line_block(cursor_sequence)
        if cursor_block == b then from = offset + 1 end
      end
      local offset = redis.call('BITPOS', line_block_key(b), 1, from, LINE_BLOCK - 1, 'BIT')
      if offset < 0 then error('corrupt line: no unreached user in block ' .. I(b)) end
      key = line_key(b * LINE_BLOCK + offset + 1)
    end
    if key == nil then error('corrupt pool: no unreached user') end
    return rec_load(key), E.reached_front + E.reached_pool + 1
  end

  -- Advance's loop, after the checks of advance().
  function GR.advance(now)
    E.candidate, E.first_returned = nil, nil
    local granted_now, passes = 0, 0
    while granted_now < MAX_GRANTS and passes < MAX_PASSES do
      if E.active + E.granted >= E.active_capacity then break end
      local r, position
      local returned = E.returned_count > 0
      if returned then
        local key = redis.call('ZRANGE', K_RETURNED, 0, 0)[1]
        if key == nil then error('corrupt returned set') end
        r = rec_load(key)
        if r == nil or not WAITING[r.state] then error('corrupt returned set at ' .. hex(key)) end
        position = place_of(r)
      else
        r, position = next_unreached()
        if r == nil then break end
      end
      if returned and now >= r.present_until then  -- gone again: it stays reached
        drop_returned(r)
        rec_save(r)
        passes = passes + 1
      elseif not returned and r.grant_until ~= nil then
        -- Granted before a draw put them beyond the cursor: reached again, nothing else.
        reach(r, now)
        passes = passes + 1
      elseif not returned and now >= r.present_until then
        -- Absent: passed, the cursor moves on and the user keeps their place.
        reach(r, now)
        load_state_rest()
        E.passed = E.passed + 1
        record_all('pass_windows', now)
        passes = passes + 1
      elseif not tier_served(turn_place(position, 0), r.joined, now) or
           not may_grant(turn_place(position, 0)) then
        if returned then
          E.first_returned, E.first_returned_until = order_of(r), r.present_until
          E.first_returned_position = position
        else
          E.candidate, E.candidate_until = order_of(r), r.present_until
        end
        break
      else
        r.by_credit = E.tokens < 1.0
        E.tokens = E.tokens - 1.0
        E.granted = E.granted + 1
        r.grant_until = now + E.claim_window
        redis.call('ZADD', K_GRANTS, I(r.grant_until), r.key)
        if E.next_lapse == nil or r.grant_until < E.next_lapse then E.next_lapse = r.grant_until end
        if returned then drop_returned(r) else reach(r, now) end
        rec_save(r)
        granted_now = granted_now + 1
      end
    end
  end
  return GR
end

-- Status and Enter on a waiting (or pre-queued) record, and Join's new record: the heartbeat
-- deadline, present_until (at the place before Advance), and a reached user who holds no grant
-- joins the returned set. Returns the position (valid after Advance unless the method is
-- random). The caller saves the record.
local function refresh(r, now)
  set_deadline(r, now + E.heartbeat_ttl)
  local position, high, ahead = place_of(r)
  if r.state == 'p' and not E.opened then
    r.present_until = now + prequeue_presence_window(now)
    return position
  end
  r.present_until = now + presence_window(ahead + floordiv(high - position, 2))
  if is_reached(r) then
    local order = order_of(r)
    if r.grant_until == nil and not r.returned then
      redis.call('ZADD', K_RETURNED, I(order), r.key)
      E.returned_count = E.returned_count + 1
      r.returned = true
      if E.first_returned ~= nil and order < E.first_returned then E.first_returned = nil end
    elseif r.returned and E.first_returned == order then
      E.first_returned_until = r.present_until
    end
  elseif E.candidate ~= nil and E.candidate == order_of(r) then
    E.candidate_until = r.present_until
  end
  return position
end

-- Begin's last step: up to kMaxLapsesPerCall grants whose grant_until has passed lapse, by
-- (grant_until, token key); their tokens go back to the bucket.
-- E.next_lapse (at or before the earliest grant_until; nil: unknown) spares the lookup while no
-- grant can have lapsed: a grant lowers it, a grant that goes leaves it (then too early, which
-- only costs a lookup), and the lookup sets it to the first grant it leaves in place.
local function lapses(now)
  if E.granted <= 0 or (E.next_lapse ~= nil and now < E.next_lapse) then return end
  grants().lapses(now)
end

-- Advance: the random method's draws, then grants to the first present users in line (the
-- returned first), passing absent ones, until a stop (docs/rules.md).
local function advance(now)
  if not E.opened or E.paused or E.method == M_PASSTHROUGH then return end
  if E.method == M_RANDOM then fair().draw(now) end
  if E.active + E.granted >= E.active_capacity then return end
  if E.returned_count > 0 then
    -- The cached first returned user would stop the grants again (see the top).
    if E.first_returned ~= nil and E.tokens < 1.0 and now < E.first_returned_until and
       turn_place(E.first_returned_position, 0) > E.bypass_top_n + math.floor(E.tokens) then
      return
    end
  else
    -- Nobody to grant, or the cached candidate would stop the grants again (see the top).
    local front_left = E.drawn_count > E.reached_front
    if not front_left and
       (E.method == M_RANDOM or E.placed_count + E.bitmap_count <= E.reached_pool) then
      return
    end
    if E.candidate ~= nil and E.tokens < 1.0 and now < E.candidate_until then
      local position = E.reached_front + 1
      if not front_left then position = position + E.reached_pool end
      if turn_place(position, 0) > E.bypass_top_n + math.floor(E.tokens) then return end
    end
  end
  grants().advance(now)
end
