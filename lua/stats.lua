-- Stats(event). Reply: now, waiting, active, joined, admitted, admitted_by_bypass, expired,
-- active_timed_out, left, completed, bucket tokens, prequeued, drawn, admitted_by_safety_net,
-- admitted_by_passthrough, refused, opened (0/1), shuffled_at_opening, then the rate sample.
if not event_load() then return redis.error_reply("NOT_FOUND unknown event '" .. EVENT_ID .. "'") end
local now = begin()
xs()
-- Before the opening q is the pre-queue, outside the line; after it, the pool's front part.
local placed, prequeued = E.nq, 0
if not E.op then placed, prequeued = 0, E.nq end
local out = { now, E.nf + placed + line_length(), E.ac, E.cj, E.ca, E.cb, E.ce, E.ct, E.cl,
              E.cc, D(E.bt), prequeued, E.nf, E.csn, E.cpt, E.cr, E.op and 1 or 0, E.so }
return done(append_rate(out, now))
