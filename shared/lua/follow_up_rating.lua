-- follow_up_rating.lua — a supervisor records the follow-up (回访) of a 不满意 / 非常不满意 rating, once.
-- KEYS: 1 seq, 2 events, 3 rating follow-ups hash (ticket id → JSON)
-- ARGV: 1 ticket id, 2 now_ms, 3 who (supervisor id), 4 note
-- Returns: {"ok", "seq"} | {"error": "already_followed_up"}
local id, now_ms, by, note = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
if redis.call('HEXISTS', KEYS[3], id) == 1 then
  return fail('already_followed_up', 'the rating of ' .. id .. ' has already been followed up')
end
redis.call('HSET', KEYS[3], id, cjson.encode({by = by, note = note, at_ms = now_ms}))
local seq = emit('rating_followed_up', now_ms, {ref = id, by = by, note = note})
return ok({seq = seq})
