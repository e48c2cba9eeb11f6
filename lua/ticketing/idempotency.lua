-- Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
--
-- One idempotency entry (src/ticketing/memory_idempotency.cc is the same in memory).
-- KEYS[1]  the entry's HASH: fp (fingerprint), st ('s' started | 'd' done), lease, until (us:
--          the lease's end while started, the replay's end when done), resp (when done)
-- ARGV[1]  operation: begin | finish | abandon
-- ARGV[2]  now (us, from the caller's clock)
--   begin:   ARGV[3] fingerprint, ARGV[4] new lease id, ARGV[5] lease (us), ARGV[6] GC ms
--   finish:  ARGV[3] lease id, ARGV[4] response, ARGV[5] ttl (us), ARGV[6] GC ms
--   abandon: ARGV[3] lease id
-- Replies: begin {outcome, lease or response}; finish and abandon {'ok'} or {'lost'}.
-- The logical expiry ('until') decides; PEXPIRE only collects the garbage, a little later.
local key = KEYS[1]
local op = ARGV[1]
local now = tonumber(ARGV[2])

local function int(n) return string.format('%d', n) end

local e = redis.call('HMGET', key, 'fp', 'st', 'lease', 'until')
local fp, st, lease, till = e[1], e[2], e[3], tonumber(e[4])

if op == 'begin' then
  if st and now >= till then
    redis.call('DEL', key)
    st = nil
  end
  if not st then
    redis.call('HSET', key, 'fp', ARGV[3], 'st', 's', 'lease', ARGV[4],
      'until', int(now + tonumber(ARGV[5])))
    redis.call('PEXPIRE', key, ARGV[6])
    return {'started', ARGV[4]}
  end
  if fp ~= ARGV[3] then return {'mismatch', ''} end
  if st == 's' then return {'in_progress', ''} end
  return {'replay', redis.call('HGET', key, 'resp')}
elseif op == 'finish' then
  -- A started entry whose lease passed still finishes if nobody took the key over.
  if st ~= 's' or lease ~= ARGV[3] then return {'lost'} end
  redis.call('HSET', key, 'st', 'd', 'resp', ARGV[4], 'until', int(now + tonumber(ARGV[5])))
  redis.call('PEXPIRE', key, ARGV[6])
  return {'ok'}
elseif op == 'abandon' then
  if not st then return {'ok'} end
  if st ~= 's' or lease ~= ARGV[3] then return {'lost'} end
  redis.call('DEL', key)
  return {'ok'}
end
return redis.error_reply('INVALID_ARGUMENT unknown idempotency operation')
