-- SetPolicy(event, policy): creates the event or replaces its policy. ARGV[4..]: the policy.
-- Reply: now.
if not event_load() then event_create(ARGV, 4, clock_now()) end
local now = begin()  -- refills with the old rate up to now
local old_windows = E.windows
set_policy_fields(ARGV, 4)
E.windows = make_windows(E.lengths, old_windows)
E.bt = math.min(E.bt, E.pb)
return done({ now })
