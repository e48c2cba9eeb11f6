-- Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
--
-- A sale event's seat inventory, holds and reservations (src/ticketing/memory_inventory.cc is
-- the same in memory, step by step). Every operation on an event is this one script, so each is atomic.
-- KEYS[1] inv    HASH  kind ('named' | 'ga'), total, held, sold, currency ('' without
--                      prices), price (of a place without its own), limits l_hold (seats per
--                      hold), l_open (open holds per user), l_user (seats per user)
-- KEYS[2] seats  HASH  seat id -> state letter (A available, H held, S sold) .. position
-- KEYS[3] avail  ZSET  available named seats, scored by position
-- KEYS[4] holds  ZSET  reservation id -> hold expiry (us)
-- KEYS[5] res    HASH  reservation id -> status|user|ref|quantity|created|expires|updated|
--                      total|currency|seats (status letter H, C confirmed, X cancelled,
--                      E expired; seats by ','). Earlier versions stored no total|currency.
-- KEYS[6] ended  ZSET  reservation id -> when it ended (us)
-- KEYS[7] users  HASH  user id -> seats held or sold|open hold ids by ',' (kept while not 0|)
-- KEYS[8] prices HASH  named seat id -> its own price
-- KEYS[9] pays   HASH  reservation id -> when its payment intent was recorded (us)|the intent
-- KEYS[10] (hold with a request key only) the key's HASH: fp (the request's fingerprint), until
--          (us: when it is forgotten), rid (the reservation made) or err (the refusal)
-- ARGV[1] operation, ARGV[2] now (us), ARGV[3] expire_per_call, ARGV[4] retention (us),
-- ARGV[5] event id (for messages), then the operation's arguments:
--   set       ARGV[6] 'named' | 'ga', ARGV[7] general admission places, ARGV[8] currency,
--             ARGV[9] price, ARGV[10..12] l_hold, l_open, l_user, ARGV[13] P seat prices, then
--             P pairs seat id, price, then the seat ids
--   avail     ARGV[6] '1' to list the seats
--   hold      ARGV[6] reservation id, ARGV[7] user id, ARGV[8] quantity, ARGV[9] hold (us),
--             ARGV[10] external ref, ARGV[11] fingerprint ('' without a request key),
--             ARGV[12] how long the key is kept (us), ARGV[13..] seat ids (none: any
--             available seats)
--   pay       ARGV[6] reservation id, ARGV[7] the payment intent
--   confirm | cancel | expire | get   ARGV[6] reservation id; confirm from a payment:
--             ARGV[7] '1', ARGV[8] amount paid, ARGV[9] its currency ('' unstated)
--   list_expired | sweep              ARGV[6] max
-- A reservation is answered as {changed, id, user, ref, status, seats, quantity, created,
-- expires, updated, total, currency}. avail answers {kind, total, held, sold, currency, price,
-- l_hold, l_open, l_user} and then seat id, state letter, price for each seat. Refusals are error replies: 'NOT_FOUND msg', 'INVALID_ARGUMENT msg' and
-- 'FAILED_PRECONDITION <inventory error>: msg' (sold_out, seat_unavailable, ...).
local K_INV, K_SEATS, K_AVAIL, K_HOLDS, K_RES, K_ENDED, K_USERS, K_PRICES, K_PAYS, K_REQUEST =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10]
local op = ARGV[1]
local now = tonumber(ARGV[2])
local expire_per_call = tonumber(ARGV[3])
local retention = tonumber(ARGV[4])
local event_id = ARGV[5]

-- Ended reservations dropped per call; seats named in a message; HSET/ZADD chunk size.
local PRUNE_ENDED = 16
local SEATS_IN_MESSAGE = 10
local CHUNK = 500
-- SaleLimits' defaults (inventory.h), for inventories stored before limits existed.
local DEFAULT_LIMITS = {10, 1, 10}

local function int(n) return string.format('%d', n) end

local function refuse(code, message)
  return redis.error_reply(code .. ' ' .. message)
end
local function no_inventory()
  return refuse('NOT_FOUND', "event '" .. event_id .. "' has no inventory")
end

local function split_seats(s)
  local out = {}
  for seat in string.gmatch(s, '[^,]+') do out[#out + 1] = seat end
  return out
end

local function load(rid)
  local v = redis.call('HGET', K_RES, rid)
  if not v then return nil end
  local status, user, ref, qty, created, expires, updated, total, currency, seats =
    string.match(v, '^(%a)|([^|]*)|([^|]*)|(%d+)|(%d+)|(%d+)|(%d+)|(%d+)|(%u*)|(.*)$')
  if not status then  -- stored without a price
    status, user, ref, qty, created, expires, updated, seats =
      string.match(v, '^(%a)|([^|]*)|([^|]*)|(%d+)|(%d+)|(%d+)|(%d+)|(.*)$')
    total, currency = '0', ''
  end
  return {status = status, user = user, ref = ref, qty = tonumber(qty),
          created = tonumber(created),
          expires = tonumber(expires), updated = tonumber(updated), total = tonumber(total),
          currency = currency, seats = split_seats(seats)}
end

local function store(rid, r)
  redis.call('HSET', K_RES, rid, table.concat({r.status, r.user, r.ref, int(r.qty),
    int(r.created),
    int(r.expires), int(r.updated), int(r.total), r.currency, table.concat(r.seats, ',')}, '|'))
end

local function answer(rid, r, changed)
  return {changed and 1 or 0, rid, r.user, r.ref, r.status, table.concat(r.seats, ','), r.qty,
          r.created, r.expires, r.updated, r.total, r.currency}
end

-- A user's account: seats held or sold, and open hold ids (oldest first).
local function account(user)
  local v = redis.call('HGET', K_USERS, user)
  if not v then return 0, {} end
  local seats, open = string.match(v, '^(%d+)|(.*)$')
  return tonumber(seats), split_seats(open)
end

local function store_account(user, seats, open)
  if seats <= 0 and #open == 0 then
    redis.call('HDEL', K_USERS, user)
  else
    redis.call('HSET', K_USERS, user, int(seats) .. '|' .. table.concat(open, ','))
  end
end

-- Takes the reservation off its user's open holds, and its seats off the user's count when
-- they go back.
local function settle(rid, r, seats_back)
  local seats, open = account(r.user)
  local kept = {}
  for _, id in ipairs(open) do
    if id ~= rid then kept[#kept + 1] = id end
  end
  if seats_back then seats = seats - r.qty end
  store_account(r.user, seats, kept)
end

-- The seat's state letter and position.
local function seat(id)
  local v = redis.call('HGET', K_SEATS, id)
  if not v then return nil end
  return string.sub(v, 1, 1), tonumber(string.sub(v, 2))
end

-- Gives the reservation's seats back and ends it with `status`.
local function finish(rid, r, status)
  settle(rid, r, true)
  for _, id in ipairs(r.seats) do
    local _, pos = seat(id)
    if pos then
      redis.call('HSET', K_SEATS, id, 'A' .. int(pos))
      redis.call('ZADD', K_AVAIL, pos, id)
    end
  end
  redis.call('HINCRBY', K_INV, 'held', -r.qty)
  redis.call('ZREM', K_HOLDS, rid)
  r.status = status
  r.updated = now
  store(rid, r)
  redis.call('ZADD', K_ENDED, now, rid)
end

-- Expires up to `max` holds past expiry; true when none is left.
local function expire_due(max)
  local ids = redis.call('ZRANGEBYSCORE', K_HOLDS, '-inf', now, 'LIMIT', 0, max + 1)
  local expired = 0
  for i = 1, math.min(#ids, max) do
    local r = load(ids[i])
    if r then
      finish(ids[i], r, 'E')
      expired = expired + 1
    else
      redis.call('ZREM', K_HOLDS, ids[i])  -- cannot happen; never loop on it
    end
  end
  return expired, #ids <= max
end

local function prune_ended()
  local ids = redis.call('ZRANGEBYSCORE', K_ENDED, '-inf', now - retention, 'LIMIT', 0,
    PRUNE_ENDED)
  for _, rid in ipairs(ids) do
    redis.call('HDEL', K_RES, rid)
    redis.call('HDEL', K_PAYS, rid)
    redis.call('ZREM', K_ENDED, rid)
  end
end

local function prologue()
  expire_due(expire_per_call)
  prune_ended()
end

local function counts()
  local c = redis.call('HMGET', K_INV, 'kind', 'total', 'held', 'sold')
  return c[1], tonumber(c[2]), tonumber(c[3]), tonumber(c[4])
end

-- Currency ('' without prices), price of a place, and the limits {l_hold, l_open, l_user}.
local function sale()
  local c = redis.call('HMGET', K_INV, 'currency', 'price', 'l_hold', 'l_open', 'l_user')
  local limits = {}
  for i = 1, 3 do limits[i] = tonumber(c[i + 2]) or DEFAULT_LIMITS[i] end
  return c[1] or '', tonumber(c[2]) or 0, limits
end

-- Expires the user's holds that are past expiry, so that they never count against a limit.
local function expire_user_holds(user)
  local _, open = account(user)
  for _, rid in ipairs(open) do
    local r = load(rid)
    if r and r.status == 'H' and r.expires <= now then finish(rid, r, 'E') end
  end
end

-- The refusal of a hold of `qty` seats by `user` under `limits`, or nil.
local function check_limits(user, qty, limits)
  if qty > limits[1] then
    return refuse('FAILED_PRECONDITION', 'hold_too_large: at most ' .. int(limits[1]) ..
      ' seats per hold in this event')
  end
  local seats, open = account(user)
  if #open == 0 and seats == 0 then
    if qty > limits[3] then
      return refuse('FAILED_PRECONDITION', 'user_limit: at most ' .. int(limits[3]) ..
        ' seats per person in this event')
    end
    return nil
  end
  if #open >= limits[2] then
    return refuse('FAILED_PRECONDITION', 'hold_limit: at most ' .. int(limits[2]) ..
      ' open holds per person in this event: pay for or cancel reservation ' .. open[1] ..
      ' first')
  end
  if seats + qty > limits[3] then
    return refuse('FAILED_PRECONDITION', 'user_limit: at most ' .. int(limits[3]) ..
      ' seats per person in this event; ' .. int(seats) .. ' are held or bought already')
  end
  return nil
end

-- Runs a command over a long argument list in chunks (unpack has a limit).
local function chunked(command, key, args)
  for first = 1, #args, CHUNK do
    redis.call(command, key, unpack(args, first, math.min(first + CHUNK - 1, #args)))
  end
end

local ops = {}

-- The sale settings of a set: prices and limits.
local function store_sale(first_seat)
  redis.call('HSET', K_INV, 'currency', ARGV[8], 'price', ARGV[9], 'l_hold', ARGV[10],
    'l_open', ARGV[11], 'l_user', ARGV[12])
  redis.call('DEL', K_PRICES)
  local pairs_args = {}
  for i = 14, first_seat - 1 do pairs_args[#pairs_args + 1] = ARGV[i] end
  chunked('HSET', K_PRICES, pairs_args)
end

function ops.set()
  local kind_wanted = ARGV[6]
  -- Seat ids follow the seat prices.
  local first = 14 + 2 * tonumber(ARGV[13])
  local exists = redis.call('EXISTS', K_INV) == 1
  if exists then prologue() end
  local kind, _, held, sold = counts()
  local in_use = exists and (held > 0 or sold > 0)
  if in_use and kind ~= kind_wanted then
    return refuse('FAILED_PRECONDITION', 'inventory_in_use: cannot switch between named ' ..
      'seats and general admission while seats are held or sold')
  end
  if kind_wanted == 'ga' then
    local n = tonumber(ARGV[7])
    if in_use and n < held + sold then
      return refuse('FAILED_PRECONDITION', 'inventory_in_use: general admission cannot ' ..
        'shrink below the ' .. int(held + sold) .. ' places held or sold')
    end
    redis.call('DEL', K_SEATS, K_AVAIL)
    if not exists or kind == 'named' then
      redis.call('HSET', K_INV, 'held', 0, 'sold', 0)
    end
    redis.call('HSET', K_INV, 'kind', 'ga', 'total', n)
    store_sale(first)
    return {1}
  end
  -- Named seats: every seat that is held or sold must stay.
  local old = {}
  if in_use then
    local all = redis.call('HGETALL', K_SEATS)
    local wanted = {}
    for i = first, #ARGV do wanted[ARGV[i]] = true end
    local missing, positions = {}, {}
    for i = 1, #all, 2 do
      local state = string.sub(all[i + 1], 1, 1)
      old[all[i]] = state
      if state ~= 'A' and not wanted[all[i]] then
        missing[#missing + 1] = all[i]
        positions[all[i]] = tonumber(string.sub(all[i + 1], 2))
      end
    end
    if #missing > 0 then
      -- In inventory order, as the memory store names them.
      table.sort(missing, function(a, b) return positions[a] < positions[b] end)
      local named = {}
      for i = 1, math.min(#missing, SEATS_IN_MESSAGE) do named[i] = missing[i] end
      return refuse('FAILED_PRECONDITION', 'inventory_in_use: seats held or sold cannot be ' ..
        'removed: ' .. table.concat(named, ', '))
    end
  end
  redis.call('DEL', K_SEATS, K_AVAIL)
  local seat_args, avail_args = {}, {}
  for i = first, #ARGV do
    local pos = i - first
    local state = old[ARGV[i]] or 'A'
    seat_args[#seat_args + 1] = ARGV[i]
    seat_args[#seat_args + 1] = state .. int(pos)
    if state == 'A' then
      avail_args[#avail_args + 1] = pos
      avail_args[#avail_args + 1] = ARGV[i]
    end
  end
  chunked('HSET', K_SEATS, seat_args)
  chunked('ZADD', K_AVAIL, avail_args)
  if not in_use then redis.call('HSET', K_INV, 'held', 0, 'sold', 0) end
  redis.call('HSET', K_INV, 'kind', 'named', 'total', #ARGV - first + 1)
  store_sale(first)
  return {1}
end

function ops.avail()
  if redis.call('EXISTS', K_INV) == 0 then return no_inventory() end
  prologue()
  local kind, total, held, sold = counts()
  local currency, price, limits = sale()
  local out = {kind, total, held, sold, currency, price, limits[1], limits[2], limits[3]}
  if ARGV[6] == '1' and kind == 'named' then
    local all = redis.call('HGETALL', K_SEATS)
    local own = {}
    if currency ~= '' then
      local p = redis.call('HGETALL', K_PRICES)
      for i = 1, #p, 2 do own[p[i]] = tonumber(p[i + 1]) end
    end
    local ordered = {}
    for i = 1, #all, 2 do
      ordered[tonumber(string.sub(all[i + 1], 2)) + 1] = {all[i], string.sub(all[i + 1], 1, 1)}
    end
    for _, s in ipairs(ordered) do
      out[#out + 1] = s[1]
      out[#out + 1] = s[2]
      out[#out + 1] = currency ~= '' and (own[s[1]] or price) or 0
    end
  end
  return out
end

local FIRST_SEAT = 13

-- The hold itself, once its request key (if any) is known to be new.
local function take()
  local rid, user, qty, ttl = ARGV[6], ARGV[7], tonumber(ARGV[8]), tonumber(ARGV[9])
  expire_user_holds(user)
  local currency, price, limits = sale()
  local refused = check_limits(user, qty, limits)
  if refused then return refused end
  local kind, total, held, sold = counts()
  local r = {status = 'H', user = user, ref = ARGV[10], qty = qty, created = now,
             expires = now + ttl, updated = now, total = 0, currency = currency, seats = {}}
  if kind == 'ga' then
    if #ARGV >= FIRST_SEAT then
      return refuse('INVALID_ARGUMENT', "event '" .. event_id ..
        "' has general admission: ask for a quantity")
    end
    local available = total - held - sold
    if qty > available then
      return refuse('FAILED_PRECONDITION', 'sold_out: only ' .. int(available) ..
        ' places left')
    end
  elseif #ARGV >= FIRST_SEAT then
    local wanted, taken = {}, {}
    for i = FIRST_SEAT, #ARGV do
      local state, pos = seat(ARGV[i])
      if not state then
        return refuse('INVALID_ARGUMENT', "event '" .. event_id .. "' has no seat '" ..
          ARGV[i] .. "'")
      end
      if state ~= 'A' and #taken < SEATS_IN_MESSAGE then taken[#taken + 1] = ARGV[i] end
      wanted[#wanted + 1] = {pos, ARGV[i]}
    end
    if #taken > 0 then
      return refuse('FAILED_PRECONDITION', 'seat_unavailable: seats not available: ' ..
        table.concat(taken, ', '))
    end
    table.sort(wanted, function(a, b) return a[1] < b[1] end)
    for i, w in ipairs(wanted) do r.seats[i] = w[2] end
  else
    local available = redis.call('ZCARD', K_AVAIL)
    if qty > available then
      return refuse('FAILED_PRECONDITION', 'sold_out: only ' .. int(available) ..
        ' seats left')
    end
    r.seats = redis.call('ZRANGE', K_AVAIL, 0, qty - 1)
  end
  -- All available: take them, price them, count them for the user.
  if currency ~= '' then
    if kind == 'ga' then
      r.total = price * qty
    else
      local own = redis.call('HMGET', K_PRICES, unpack(r.seats))
      for i = 1, #r.seats do r.total = r.total + (tonumber(own[i]) or price) end
    end
  end
  for _, id in ipairs(r.seats) do
    local _, pos = seat(id)
    redis.call('HSET', K_SEATS, id, 'H' .. int(pos))
    redis.call('ZREM', K_AVAIL, id)
  end
  redis.call('HINCRBY', K_INV, 'held', qty)
  redis.call('ZADD', K_HOLDS, r.expires, rid)
  local seats_of_user, open = account(user)
  open[#open + 1] = rid
  store_account(user, seats_of_user + qty, open)
  store(rid, r)
  return answer(rid, r, false)
end

function ops.hold()
  if redis.call('EXISTS', K_INV) == 0 then return no_inventory() end
  prologue()
  if not K_REQUEST then return take() end
  local fp = ARGV[11]
  local seen = redis.call('HMGET', K_REQUEST, 'fp', 'until', 'rid', 'err')
  if seen[1] and now < tonumber(seen[2]) then
    if seen[1] ~= fp then
      return refuse('FAILED_PRECONDITION', 'request_key_reused: this request key was used ' ..
        'for another hold; use a new key for a new request')
    end
    if seen[4] then return redis.error_reply(seen[4]) end
    local r = load(seen[3])
    if not r then return refuse('NOT_FOUND', 'unknown reservation') end
    return answer(seen[3], r, false)
  end
  local out = take()
  -- Only what the event's state decided is kept: a refusal that depends on the input alone
  -- (INVALID_ARGUMENT) is answered the same way again anyway.
  local err = type(out) == 'table' and out.err
  if err and string.sub(err, 1, 20) ~= 'FAILED_PRECONDITION ' then return out end
  local until_us = now + tonumber(ARGV[12])
  redis.call('DEL', K_REQUEST)
  if err then
    redis.call('HSET', K_REQUEST, 'fp', fp, 'until', int(until_us), 'err', err)
  else
    redis.call('HSET', K_REQUEST, 'fp', fp, 'until', int(until_us), 'rid', ARGV[6])
  end
  -- The logical 'until' decides; the expiry only collects the garbage, a little later.
  redis.call('PEXPIRE', K_REQUEST, math.floor(tonumber(ARGV[12]) / 1000) + 1000)
  return out
end

local STATUS_NAMES = {H = 'HOLD', C = 'CONFIRMED', X = 'CANCELLED', E = 'EXPIRED'}

-- confirm, cancel and expire.
local function transition(which)
  prune_ended()
  local rid = ARGV[6]
  local r = load(rid)
  if not r then return refuse('NOT_FOUND', 'unknown reservation') end
  local live = r.status == 'H' and now < r.expires
  local expired_hold = r.status == 'H' and not live
  local changed = false
  if which == 'confirm' then
    if ARGV[7] == '1' and r.currency ~= '' and
        (tonumber(ARGV[8]) ~= r.total or ARGV[9] ~= r.currency) then
      local what = 'a payment of unstated amount'
      if ARGV[9] ~= '' then what = 'a payment of ' .. ARGV[8] .. ' ' .. ARGV[9] end
      return refuse('FAILED_PRECONDITION', 'payment_mismatch: ' .. what ..
        ' does not match the total of reservation ' .. rid .. ', ' .. int(r.total) .. ' ' ..
        r.currency .. ': not confirmed; refund or settle it, then confirm it by hand')
    end
    if expired_hold then
      finish(rid, r, 'E')
      return refuse('FAILED_PRECONDITION', 'hold_expired: the hold has expired')
    end
    if live then
      for _, id in ipairs(r.seats) do
        local _, pos = seat(id)
        redis.call('HSET', K_SEATS, id, 'S' .. int(pos))
      end
      redis.call('HINCRBY', K_INV, 'held', -r.qty)
      redis.call('HINCRBY', K_INV, 'sold', r.qty)
      redis.call('ZREM', K_HOLDS, rid)
      settle(rid, r, false)
      r.status = 'C'
      r.updated = now
      store(rid, r)
      redis.call('ZADD', K_ENDED, now, rid)
      changed = true
    elseif r.status ~= 'C' then
      return refuse('FAILED_PRECONDITION', 'invalid_transition: cannot confirm a reservation ' ..
        'that is ' .. STATUS_NAMES[r.status])
    end
  elseif which == 'cancel' then
    if r.status == 'C' then
      return refuse('FAILED_PRECONDITION',
        'invalid_transition: cannot cancel a reservation that is CONFIRMED')
    end
    if r.status == 'H' then
      finish(rid, r, live and 'X' or 'E')
      changed = true
    end
  else  -- expire
    if expired_hold then
      finish(rid, r, 'E')
      changed = true
    end
  end
  return answer(rid, r, changed)
end

function ops.confirm() return transition('confirm') end
function ops.cancel() return transition('cancel') end
function ops.expire() return transition('expire') end

function ops.pay()
  prune_ended()
  local rid, intent = ARGV[6], ARGV[7]
  local r = load(rid)
  if not r then return refuse('NOT_FOUND', 'unknown reservation') end
  local changed = false
  local at, recorded = string.match(redis.call('HGET', K_PAYS, rid) or '', '^(%d+)|(.*)$')
  if recorded then
    if recorded ~= intent then
      return refuse('FAILED_PRECONDITION', 'payment_exists: another payment was already ' ..
        'started for reservation ' .. rid)
    end
  elseif r.status ~= 'H' then
    return refuse('FAILED_PRECONDITION', 'invalid_transition: cannot pay for a reservation ' ..
      'that is ' .. STATUS_NAMES[r.status])
  elseif now >= r.expires then
    finish(rid, r, 'E')
    return refuse('FAILED_PRECONDITION', 'hold_expired: the hold has expired')
  else
    at, recorded = int(now), intent
    redis.call('HSET', K_PAYS, rid, at .. '|' .. intent)
    changed = true
  end
  return {answer(rid, r, changed), recorded, at}
end

function ops.get()
  prune_ended()
  local r = load(ARGV[6])
  if not r then return refuse('NOT_FOUND', 'unknown reservation') end
  return answer(ARGV[6], r, false)
end

function ops.list_expired()
  if redis.call('EXISTS', K_INV) == 0 then return no_inventory() end
  return redis.call('ZRANGEBYSCORE', K_HOLDS, '-inf', now, 'LIMIT', 0, tonumber(ARGV[6]))
end

function ops.sweep()
  if redis.call('EXISTS', K_INV) == 0 then return no_inventory() end
  prune_ended()
  local expired, done = expire_due(tonumber(ARGV[6]))
  return {expired, done and 1 or 0}
end

local f = ops[op]
if not f then return refuse('INVALID_ARGUMENT', 'unknown inventory operation') end
return f()
