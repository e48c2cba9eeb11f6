-- Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
--
-- The outcome queue, durable, on a Redis Stream with a consumer group
-- (src/ticketing/memory_outcome_queue.cc is the same state machine in memory). One script, so
-- that every step is atomic. It carries outcome messages; the key "e" and the errors' word
-- "event" name a message too.
-- KEYS[1] s  STREAM  ready and in-flight messages (fields id, type); consumer group 'workers'
-- KEYS[2] e  HASH    message id -> MessagePack record {type, payload, not_before, published,
--                    attempts, state, entry, due, lease, last_error, parked}; state is
--                    r (ready), d (delayed), f (in flight) or x (dead); entry is the message's
--                    id in the stream (r, f) or in the dead-letter stream (x)
-- KEYS[3] d  ZSET    delayed message ids -> due (us)
-- KEYS[4] l  ZSET    in-flight message ids -> lease expiry (us)
-- KEYS[5] x  STREAM  dead letters (fields id, type), oldest first
-- KEYS[6] c  ZSET    completed message ids -> completion time (us), for dedupe
-- KEYS[7] n  HASH    counters: published, duplicates, completed, retried, parked, redelivered
-- ARGV[1] operation, ARGV[2] now (us), then:
--   publish   ARGV[3] id, ARGV[4] type, ARGV[5] payload, ARGV[6] not before (us),
--             ARGV[7] dedupe window (us)
--   claim     ARGV[3] consumer, ARGV[4] max, ARGV[5] lease (us)
--   ack       ARGV[3] id, ARGV[4] dedupe window (us)
--   retry     ARGV[3] id, ARGV[4] attempts, ARGV[5] not before (us), ARGV[6] error
--   park      ARGV[3] id, ARGV[4] attempts, ARGV[5] error
--   list_dead ARGV[3] max
--   replay    ARGV[3] id
--   stats
local K_S, K_E, K_D, K_L, K_X, K_C, K_N = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5],
  KEYS[6], KEYS[7]
local GROUP = 'workers'
local op = ARGV[1]
local now = tonumber(ARGV[2])

-- Completed ids past the dedupe window forgotten per publish or ack.
local PRUNE_COMPLETED = 64
local STATE_NAMES = {r = 'ready', d = 'delayed', f = 'in flight', x = 'parked'}

local function refuse(code, message)
  return redis.error_reply(code .. ' ' .. message)
end

local function load(id)
  local v = redis.call('HGET', K_E, id)
  if not v then return nil end
  local t = cmsgpack.unpack(v)
  return {type = t[1], payload = t[2], not_before = t[3], published = t[4], attempts = t[5],
          state = t[6], entry = t[7], due = t[8], lease = t[9], last_error = t[10],
          parked = t[11]}
end

local function store(id, r)
  redis.call('HSET', K_E, id, cmsgpack.pack({r.type, r.payload, r.not_before, r.published,
    r.attempts, r.state, r.entry, r.due, r.lease, r.last_error, r.parked}))
end

local function count(name)
  redis.call('HINCRBY', K_N, name, 1)
end

local function make_ready(id, r)
  r.state = 'r'
  r.entry = redis.call('XADD', K_S, '*', 'id', id, 'type', r.type)
end

-- Takes the entry out of the stream and the consumer group's pending list.
local function unstream(r)
  redis.call('XACK', K_S, GROUP, r.entry)
  redis.call('XDEL', K_S, r.entry)
end

local function prune_completed(window)
  local ids = redis.call('ZRANGEBYSCORE', K_C, '-inf', now - window, 'LIMIT', 0,
    PRUNE_COMPLETED)
  if #ids > 0 then redis.call('ZREM', K_C, unpack(ids)) end
end

local function not_in_flight(r)
  return refuse('FAILED_PRECONDITION', 'the event is ' .. STATE_NAMES[r.state] ..
    ', not in flight')
end

-- The checks retry and park share: the message is in flight in delivery `attempts`.
local function settle(id, attempts)
  local r = load(id)
  if not r then
    if redis.call('ZSCORE', K_C, id) then
      return nil, refuse('FAILED_PRECONDITION', 'the event was completed already')
    end
    return nil, refuse('NOT_FOUND', "unknown event '" .. id .. "'")
  end
  if r.state ~= 'f' then return nil, not_in_flight(r) end
  if r.attempts ~= attempts then
    return nil, refuse('FAILED_PRECONDITION', 'the event was delivered again since ' ..
      '(delivery ' .. string.format('%d', r.attempts) .. ', not ' ..
      string.format('%d', attempts) .. ')')
  end
  return r
end

local ops = {}

function ops.publish()
  local id = ARGV[3]
  prune_completed(tonumber(ARGV[7]))
  if redis.call('HEXISTS', K_E, id) == 1 or redis.call('ZSCORE', K_C, id) then
    count('duplicates')
    return {0}
  end
  local r = {type = ARGV[4], payload = ARGV[5], not_before = tonumber(ARGV[6]),
             published = now, attempts = 0, entry = '', due = 0, lease = 0, last_error = '',
             parked = 0}
  if r.not_before <= now then
    make_ready(id, r)
  else
    r.state = 'd'
    r.due = r.not_before
    redis.call('ZADD', K_D, r.due, id)
  end
  store(id, r)
  count('published')
  return {1}
end

function ops.claim()
  local consumer, max, lease = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
  local lease_until = now + lease
  local out, n = {}, 0
  local function deliver(id, r)
    r.state = 'f'
    r.attempts = r.attempts + 1
    r.lease = lease_until
    redis.call('ZADD', K_L, lease_until, id)
    store(id, r)
    n = n + 1
    for _, v in ipairs({id, r.type, r.payload, r.not_before, r.published, r.attempts,
                        r.last_error, lease_until}) do
      out[#out + 1] = v
    end
  end
  -- Delayed messages whose time has come join the stream.
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', K_D, '-inf', now, 'LIMIT', 0, max)) do
    redis.call('ZREM', K_D, id)
    local r = load(id)
    make_ready(id, r)
    store(id, r)
  end
  -- Expired leases first (they are older): the consumer that held them is gone.
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', K_L, '-inf', now, 'LIMIT', 0, max)) do
    local r = load(id)
    redis.call('XCLAIM', K_S, GROUP, consumer, 0, r.entry)
    r.last_error = 'lease expired'
    count('redelivered')
    deliver(id, r)
  end
  -- Then new messages, through the consumer group.
  if n < max then
    local read = redis.pcall('XREADGROUP', 'GROUP', GROUP, consumer, 'COUNT', max - n,
      'STREAMS', K_S, '>')
    if type(read) == 'table' and read.err then
      if not string.find(read.err, 'NOGROUP', 1, true) then return read end
      -- First use (or the stream was lost): the group starts at the stream's beginning.
      redis.call('XGROUP', 'CREATE', K_S, GROUP, '0', 'MKSTREAM')
      read = redis.call('XREADGROUP', 'GROUP', GROUP, consumer, 'COUNT', max - n,
        'STREAMS', K_S, '>')
    end
    if read then
      for _, entry in ipairs(read[1][2]) do
        local xid, fields = entry[1], entry[2]
        local id = fields[2]
        local r = id and load(id)
        if r and r.state == 'r' and r.entry == xid then
          deliver(id, r)
        else
          -- An entry whose message moved on (cannot happen unless keys were edited by hand).
          redis.call('XACK', K_S, GROUP, xid)
          redis.call('XDEL', K_S, xid)
        end
      end
    end
  end
  return out
end

function ops.ack()
  local id = ARGV[3]
  prune_completed(tonumber(ARGV[4]))
  local r = load(id)
  if not r then
    if redis.call('ZSCORE', K_C, id) then return {1} end
    return refuse('NOT_FOUND', "unknown event '" .. id .. "'")
  end
  if r.state ~= 'f' then return not_in_flight(r) end
  unstream(r)
  redis.call('ZREM', K_L, id)
  redis.call('HDEL', K_E, id)
  redis.call('ZADD', K_C, now, id)
  count('completed')
  return {1}
end

function ops.retry()
  local id = ARGV[3]
  local r, err = settle(id, tonumber(ARGV[4]))
  if not r then return err end
  unstream(r)
  redis.call('ZREM', K_L, id)
  r.state = 'd'
  r.due = tonumber(ARGV[5])
  r.last_error = ARGV[6]
  r.entry = ''
  redis.call('ZADD', K_D, r.due, id)
  store(id, r)
  count('retried')
  return {1}
end

function ops.park()
  local id = ARGV[3]
  local r, err = settle(id, tonumber(ARGV[4]))
  if not r then return err end
  unstream(r)
  redis.call('ZREM', K_L, id)
  r.state = 'x'
  r.last_error = ARGV[5]
  r.parked = now
  r.entry = redis.call('XADD', K_X, '*', 'id', id, 'type', r.type)
  store(id, r)
  count('parked')
  return {1}
end

function ops.list_dead()
  local out = {}
  for _, entry in ipairs(redis.call('XRANGE', K_X, '-', '+', 'COUNT', tonumber(ARGV[3]))) do
    local id = entry[2][2]
    local r = load(id)
    if r then
      for _, v in ipairs({id, r.type, r.payload, r.not_before, r.attempts, r.last_error,
                          r.published, r.parked}) do
        out[#out + 1] = v
      end
    end
  end
  return out
end

function ops.replay()
  local id = ARGV[3]
  local r = load(id)
  if not r or r.state ~= 'x' then
    return refuse('NOT_FOUND', "no dead letter '" .. id .. "'")
  end
  redis.call('XDEL', K_X, r.entry)
  r.attempts = 0
  make_ready(id, r)
  store(id, r)
  return {1}
end

function ops.stats()
  local in_flight = redis.call('ZCARD', K_L)
  local out = {redis.call('XLEN', K_S) - in_flight, redis.call('ZCARD', K_D), in_flight,
               redis.call('XLEN', K_X)}
  local c = redis.call('HMGET', K_N, 'published', 'duplicates', 'completed', 'retried',
    'parked', 'redelivered')
  for i = 1, 6 do out[#out + 1] = tonumber(c[i]) or 0 end
  return out
end

local f = ops[op]
if not f then return refuse('INVALID_ARGUMENT', 'unknown queue operation') end
return f()
