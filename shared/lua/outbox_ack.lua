-- outbox_ack.lua — the receiver accepted an entry (a 2xx, or its "duplicate" answer): the entry is sent and leaves
-- its partition's queue, so the next entry of that partition may go. Accepting an entry already sent changes
-- nothing; a failed entry the receiver accepted after all (an answer that came late) is sent too.
-- KEYS: 1 seq, 2 events, 3 entries, 4 partitions, 5 the entry's partition queue, 6 failed, 7 sent
-- ARGV: 1 entry id, 2 now_ms, 3 what the receiver answered (kept on the entry)
-- Returns: {"ok", "changed", "entry"} | {"error": "not_found"}
local id, now_ms = ARGV[1], tonumber(ARGV[2])
local raw = redis.call('HGET', KEYS[3], id)
if not raw then return fail('not_found', 'no outbox entry ' .. id) end
local e = cjson.decode(raw)
if e.state == 'sent' then return ok({changed = false, entry = e}) end
e.state = 'sent'
e.attempts = (tonumber(e.attempts) or 0) + 1
e.sent_ms = now_ms
e.last_attempt_ms = now_ms
e.answer = ARGV[3]
redis.call('HSET', KEYS[3], id, cjson.encode(e))
redis.call('LREM', KEYS[5], 1, id)
if redis.call('LLEN', KEYS[5]) == 0 then redis.call('SREM', KEYS[4], e.partition) end
redis.call('ZREM', KEYS[6], id)
redis.call('ZADD', KEYS[7], now_ms, id)
return ok({changed = true, entry = e})
