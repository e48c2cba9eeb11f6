-- Stats(event). Reply: now, waiting, active, joined, admitted, admitted_by_bypass, expired,
-- active_timed_out, left, completed, bucket tokens, prequeued, drawn, admitted_by_safety_net,
-- admitted_by_passthrough, refused, opened (0/1), shuffled_at_opening, granted, passed,
-- lapsed, then the rate sample.
if not event_load() then return redis.error_reply("NOT_FOUND unknown event '" .. EVENT_ID .. "'") end
local now = begin()
advance(now)
load_state_rest()
-- Before the opening q is the pre-queue, outside the line; after it, the pool's front part.
local prequeued = 0
if not E.opened then prequeued = E.placed_count end
local out = { now, line_waiting(), E.active, E.joined, E.admitted,
              E.admitted_by_bypass, E.expired, E.active_timed_out, E.left, E.completed,
              D(E.tokens), prequeued, E.drawn_count, E.admitted_by_safety_net,
              E.admitted_by_passthrough, E.refused, E.opened and 1 or 0, E.shuffled_at_opening,
              E.granted, E.passed, E.lapsed }
return done(append_rate(out, now))
