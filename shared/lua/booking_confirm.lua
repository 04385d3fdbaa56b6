-- booking_confirm.lua — confirm a held booking before its hold runs out; the "booking confirmed" notification is
-- written in the same step. Confirming a confirmed booking again answers it as it is.
-- onewindow: uses outbox, notify
-- KEYS: 1 seq, 2 events, 3 bookings, 4 booking holds, 5 bookings upcoming, 6 slot_counts(service, day),
--       7 slot_holds(service, day, hhmm), 8 notify outbox entries, 9 notify outbox partitions,
--       10 .. 9+P notify queue of partition 0 .. P-1
-- ARGV: 1 now_ms, 2 booking id, 3 service, 4 day, 5 slot (HHMM) — as Python read them (the keys are theirs),
--       6 settings JSON {parts, kinds}, 7 when slot_counts may expire (ms)
-- Returns: {"ok", "booking", "seq", "already"?} | {"error": "not_found" | "booking_closed" | "hold_expired" | "retry"}
local now = tonumber(ARGV[1])
local raw = redis.call('HGET', KEYS[3], ARGV[2])
if not raw then return fail('not_found', 'no such booking') end
local b = cjson.decode(raw)
if b.service ~= ARGV[3] or b.day ~= ARGV[4] or b.hhmm ~= ARGV[5] then
  return retry('the booking moved since it was read')
end
if b.state == 'confirmed' then return ok({booking = b, already = true}) end
if b.state ~= 'held' then
  return fail_with('booking_closed', 'the booking is ' .. b.state, {state = b.state})
end
if tonumber(b.hold_until_ms) <= now then
  return fail_with('hold_expired', 'the hold ran out before the booking was confirmed', {state = 'expired'})
end
b.state = 'confirmed'
b.confirmed_ms = now
redis.call('HSET', KEYS[3], b.id, cjson.encode(b))
redis.call('ZREM', KEYS[4], b.id)
redis.call('ZREM', KEYS[7], b.id)
redis.call('HINCRBY', KEYS[6], b.hhmm, 1)
redis.call('PEXPIREAT', KEYS[6], tonumber(ARGV[7]))
redis.call('ZADD', KEYS[5], b.slot_ms, b.id)
notify_put(notify_keys(cjson.decode(ARGV[6]), 8, 10), 'booking_confirmed', b.id, b.contact,
  {booking = b.id, code = b.code, service = b.service, day = b.day, slot = b.hhmm, start_ms = b.slot_ms}, now)
local seq = emit('booking_confirmed', now, {booking = b})
return ok({booking = b, seq = seq})
