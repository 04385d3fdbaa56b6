-- outbox_resend.lua — a person sends a failed entry again: it goes back to the head of its partition's queue with
-- its attempts counted from zero (the entry keeps its id, so the receiver still recognises a copy).
-- KEYS: 1 seq, 2 events, 3 entries, 4 partitions, 5 the entry's partition queue, 6 failed
-- ARGV: 1 entry id, 2 now_ms, 3 who, 4 topic
-- Returns: {"ok", "entry", "seq"} | {"error": "not_found" | "not_failed"}
local id, now_ms, by = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local raw = redis.call('HGET', KEYS[3], id)
if not raw then return fail('not_found', 'no outbox entry ' .. id) end
local e = cjson.decode(raw)
if e.state ~= 'failed' then return fail('not_failed', 'entry ' .. id .. ' is ' .. e.state .. ', not failed') end
e.state = 'pending'
e.attempts = 0
e.next_ms = now_ms
e.resent = (tonumber(e.resent) or 0) + 1
e.resent_by = by
e.resent_ms = now_ms
e.failed_ms = nil
redis.call('HSET', KEYS[3], id, cjson.encode(e))
redis.call('LPUSH', KEYS[5], id)
redis.call('SADD', KEYS[4], e.partition)
redis.call('ZREM', KEYS[6], id)
local seq = emit('outbox_entry_resent', now_ms, {topic = ARGV[4], ref = id, partition = e.partition, by = by})
return ok({entry = e, seq = seq})
