-- SetPolicy(event, policy): creates the event or replaces its policy. ARGV: [4..5] the secret
-- for a new event, [6..] the policy. Reply: now.
if not event_load() then event_create(ARGV, 6, clock_now(), ARGV[4], ARGV[5]) end
local now = begin()  -- refills with the old rate up to now (and opens, draws, by the old policy)
local old_windows = E.windows
set_policy_fields(ARGV, 6)
E.windows = make_windows(E.rate_windows, old_windows)
E.tokens = math.min(E.tokens, E.burst)
return done({ now })
