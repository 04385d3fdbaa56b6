-- record_event.lua — append an event that changes no queue (printer fault, schedule change, rating, …),
-- optionally setting one hash field in the same step.
-- KEYS: 1 seq, 2 events, 3 a hash to update (or any hall key when ARGV[4] is '')
-- ARGV: 1 event type, 2 now_ms, 3 payload JSON (an object), 4 hash field ('' = none), 5 hash value
-- Returns: {"ok", "seq"}
local payload = cjson.decode(ARGV[3])
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[3], ARGV[4], ARGV[5])
end
local seq = emit(ARGV[1], ARGV[2], payload)
return ok({seq = seq})
