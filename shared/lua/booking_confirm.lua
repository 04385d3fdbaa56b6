-- booking_confirm.lua — confirm a held booking before its hold runs out; the "booking confirmed" notification is
-- written in the same step. Confirming a confirmed booking again answers it as it is.
-- onewindow: uses outbox, notify, booking
-- KEYS: 1 seq, 2 events, 3 bookings, 4 booking holds, 5 bookings upcoming, 6 slot_counts(service, day),
--       7 slot_holds(service, day, hhmm), 8 notify outbox entries, 9 notify outbox partitions,
--       10 .. 9+P notify queue of partition 0 .. P-1
-- ARGV: 1 now_ms, 2 booking id, 3 service, 4 day, 5 slot (HHMM) — as Python read them (the keys are theirs),
--       6 settings JSON {parts, kinds}, 7 when slot_counts may expire (ms, the hall's clock: kept that long after
--       now_ms, so Redis's own clock — another host's, or a test's fixed day long past — does not decide it)
-- Returns: {"ok", "booking", "seq", "already"?} | {"error": "not_found" | "booking_closed" | "hold_expired" | "retry"}
local now = tonumber(ARGV[1])
local b, refused = booking_as_read(KEYS[3], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
if not b then return refused end
if b.state == 'confirmed' then return ok({booking = b, already = true}) end
if b.state ~= 'held' then return booking_closed(b) end
if tonumber(b.hold_until_ms) <= now then
  return fail_with('hold_expired', 'the hold ran out before the booking was confirmed', {state = 'expired'})
end
b.state = 'confirmed'
b.confirmed_ms = now
redis.call('HSET', KEYS[3], b.id, cjson.encode(b))
redis.call('ZREM', KEYS[4], b.id)
redis.call('ZREM', KEYS[7], b.id)
redis.call('HINCRBY', KEYS[6], b.hhmm, 1)
redis.call('PEXPIRE', KEYS[6], math.max(1, tonumber(ARGV[7]) - now))
redis.call('ZADD', KEYS[5], b.slot_ms, b.id)
notify_put(notify_keys(cjson.decode(ARGV[6]), 8, 10), 'booking_confirmed', b.id, b.contact,
  {booking = b.id, code = b.code, service = b.service, day = b.day, slot = b.hhmm, start_ms = b.slot_ms}, now)
local seq = emit('booking_confirmed', now, {booking = b})
return ok({booking = b, seq = seq})
