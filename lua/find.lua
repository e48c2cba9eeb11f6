-- Find(event, user): the token key of the user's place (waiting, pre-queued or active), read
-- from the users' buckets; changes nothing (the Status that follows applies a passed
-- deadline). ARGV: [4] user id. Reply: the 16-byte token key, or an error reply NOT_FOUND.
if not event_load() then return redis.error_reply("NOT_FOUND unknown event '" .. EVENT_ID .. "'") end
local user_id = ARGV[4]
local key = redis.call('HGET', users_bucket(user_id), user_id)
if not key then
  return redis.error_reply("NOT_FOUND user '" .. user_id .. "' has no place in event '" ..
                           EVENT_ID .. "'")
end
return key
