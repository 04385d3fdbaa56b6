-- outbox_fail.lua — an attempt to deliver an entry failed. The entry stays at the head of its partition (nothing
-- behind it goes first) and is tried again after ARGV 7 ms, until the attempts reach the maximum or the receiver
-- refused it for good: then it is failed — out of the queue (so one bad entry cannot stop its window's reports),
-- listed for a person to resend. An attempt is counted once: a report about an attempt number already counted
-- (another sender, a copy) changes nothing.
-- KEYS: 1 seq, 2 events, 3 entries, 4 partitions, 5 the entry's partition queue, 6 failed
-- ARGV: 1 entry id, 2 now_ms, 3 attempts the sender saw before this one, 4 error text, 5 '1' = refused for good,
--       6 max attempts, 7 delay before the next attempt (ms), 8 topic
-- Returns: {"ok", "changed", "entry"} | {"error": "not_found"}
local id, now_ms, seen = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local raw = redis.call('HGET', KEYS[3], id)
if not raw then return fail('not_found', 'no outbox entry ' .. id) end
local e = cjson.decode(raw)
if e.state ~= 'pending' or (tonumber(e.attempts) or 0) ~= seen then return ok({changed = false, entry = e}) end
e.attempts = seen + 1
e.last_error = ARGV[4]
e.last_attempt_ms = now_ms
if ARGV[5] == '1' or e.attempts >= tonumber(ARGV[6]) then
  e.state = 'failed'
  e.failed_ms = now_ms
  redis.call('LREM', KEYS[5], 1, id)
  if redis.call('LLEN', KEYS[5]) == 0 then redis.call('SREM', KEYS[4], e.partition) end
  redis.call('ZADD', KEYS[6], now_ms, id)
  emit('outbox_entry_failed', now_ms, {topic = ARGV[8], ref = id, partition = e.partition, attempts = e.attempts,
    error = ARGV[4]})
else
  e.next_ms = now_ms + tonumber(ARGV[7])
end
redis.call('HSET', KEYS[3], id, cjson.encode(e))
return ok({changed = true, entry = e})
