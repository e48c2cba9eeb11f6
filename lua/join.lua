-- Join(event, user, token). ARGV: [4] user id, [5] token key ('' when malformed),
-- [6] '1' to create the event with the policy in ARGV[7..] when it does not exist.
-- Reply: now, ticket.
local user_id, key, create = ARGV[4], ARGV[5], ARGV[6] == '1'

if not event_load() then
  if not create then return redis.error_reply("NOT_FOUND unknown event '" .. EVENT_ID .. "'") end
  event_create(ARGV, 7, clock_now())
end
-- The memory store checks the token after finding (or creating) the event, before Begin.
if key == '' then return fail('INVALID_ARGUMENT malformed token') end

local now = begin()
local users = users_bucket(user_id)
local existing = redis.call('HGET', users, user_id)
if existing then
  settle(existing, now)  -- a ghost's place is not a place
  if redis.call('HEXISTS', users, user_id) == 1 then
    local r = rec_load(existing)
    local what = (r ~= nil and r.st == 'a') and 'admitted to' or 'waiting in'
    return fail("ALREADY_EXISTS user '" .. user_id .. "' is already " .. what .. " event '" ..
                EVENT_ID .. "'")
  end
end
if redis.call('HEXISTS', rec_bucket(key), key) == 1 then
  return fail('ALREADY_EXISTS token already in use')
end

E.sq = E.sq + 1
local r = { key = key, st = 'w', seq = E.sq, j = now, ll = nil, dl = now + E.ph, rx = nil,
            uid = user_id, rt = '' }
local position = line_add(r.seq)
redis.call('ZADD', K_DL, I(r.dl), key)
redis.call('HSET', users, user_id, key)
rec_save(r)
E.cj = E.cj + 1
return done(append_ticket({ now }, r, now, position))
