-- Status(event, tokens): renews the heartbeat and presence of each waiting user, for the token
-- keys in ARGV[4..] (the concurrent Status calls of one event that a process coalesced, see
-- src/redis/room/ticket_batcher.h; one key for a lone call). Begin and Advance run once for
-- all of them. Reply: now, the rate sample (the same for all), then one entry per token key,
-- in order: the packed ticket (packed_ticket), or an error reply.
if not event_load() then return redis.error_reply('NOT_FOUND unknown token') end
local now = begin()
local records, positions, errors = {}, {}, {}
for i = 4, #ARGV do
  local r, err = find_record(ARGV[i], now)
  if r == nil then
    errors[i] = err
  else
    if WAITING[r.state] then
      positions[i] = refresh(r, now)
      rec_save(r)
    end
    records[i] = r
  end
end
advance(now)
local out = append_rate({ now }, now)
for i = 4, #ARGV do
  if errors[i] ~= nil then
    out[#out + 1] = redis.error_reply(errors[i])
  else
    local position = positions[i]
    if E.method == M_RANDOM then position = nil end  -- the draws may have moved it
    out[#out + 1] = packed_ticket(records[i], now, position)
  end
end
return done(out)
