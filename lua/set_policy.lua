-- SetPolicy(event, policy): creates the event or replaces its policy. ARGV: [4..5] the secret
-- for a new event, [6..] the policy. Reply: now.
if not event_load() then event_create(ARGV, 6, clock_now(), ARGV[4], ARGV[5]) end
local now = begin()  -- refills with the old rate up to now (and opens, by the old policy)
advance(now)         -- the grants of the old policy
set_policy_fields(ARGV, 6)
make_all_windows(E.rate_windows)
E.tokens = math.min(E.tokens, E.burst)
E.candidate, E.first_returned = nil, nil  -- the method, the bucket's bounds may have changed
return done({ now })
