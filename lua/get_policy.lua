-- GetPolicy(event). KEYS: the meta key only. Reply: the policy as the C++ side encoded it.
-- Reads only.
local blob = redis.call('HGET', K_META, 'pol')
if not blob then return redis.error_reply("NOT_FOUND unknown event '" .. EVENT_ID .. "'") end
return { blob }
