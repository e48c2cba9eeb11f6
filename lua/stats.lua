-- Stats(event). Reply: now, waiting, active, joined, admitted, admitted_by_bypass, expired,
-- active_timed_out, left, completed, bucket tokens, then the rate sample.
if not event_load() then return redis.error_reply("NOT_FOUND unknown event '" .. EVENT_ID .. "'") end
local now = begin()
local out = { now, line_length(), E.ac, E.cj, E.ca, E.cb, E.ce, E.ct, E.cl, E.cc,
              D(E.bt) }
return done(append_rate(out, now))
