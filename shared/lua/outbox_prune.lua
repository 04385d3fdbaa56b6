-- outbox_prune.lua — forget entries sent before a cutoff (the receiver has them; the event stream and the
-- statistics keep the ratings themselves).
-- KEYS: 1 seq, 2 events, 3 entries, 4 sent
-- ARGV: 1 cutoff ms, 2 at most this many
-- Returns: {"ok", "pruned"}
local ids = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  redis.call('HDEL', KEYS[3], id)
  redis.call('ZREM', KEYS[4], id)
end
return ok({pruned = #ids})
