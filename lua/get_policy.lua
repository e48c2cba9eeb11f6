-- GetPolicy(event). KEYS: the meta key only. Reply: the policy as the C++ side encoded it.
-- Reads only. The blob does not depend on the data layout (lua/room/state.lua, LAYOUT), so this
-- answers for an event of any layout.
local blob = redis.call('HGET', K_META, META.policy_blob)
if not blob then return redis.error_reply("NOT_FOUND unknown event '" .. EVENT_ID .. "'") end
return { blob }
