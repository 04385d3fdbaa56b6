-- booking_cancel.lua — the holder (or staff) cancels a held or confirmed booking before its slot starts; its place
-- is free at once. Cancelling a cancelled booking again answers it as it is.
-- onewindow: uses booking
-- KEYS: 1 seq, 2 events, 3 bookings, 4 booking index, 5 booking holds, 6 bookings upcoming,
--       7 slot_counts(service, day), 8 slot_holds(service, day, hhmm)
-- ARGV: 1 now_ms, 2 booking id, 3 service, 4 day, 5 slot (HHMM) — as Python read them, 6 actor
-- Returns: {"ok", "booking", "seq", "already"?} | {"error": "not_found" | "booking_closed" | "cancel_too_late" | "retry"}
local now = tonumber(ARGV[1])
local b, refused = booking_as_read(KEYS[3], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
if not b then return refused end
if b.state == 'cancelled' then return ok({booking = b, already = true}) end
if b.state ~= 'held' and b.state ~= 'confirmed' then return booking_closed(b) end
if now >= tonumber(b.slot_ms) then
  return fail('cancel_too_late', 'the booked time has begun')
end
if b.state == 'held' then
  redis.call('ZREM', KEYS[5], b.id)
  redis.call('ZREM', KEYS[8], b.id)
else
  if tonumber(redis.call('HINCRBY', KEYS[7], b.hhmm, -1)) < 0 then redis.call('HSET', KEYS[7], b.hhmm, 0) end
  redis.call('ZREM', KEYS[6], b.id)
end
local ikey = b.idh .. ':' .. b.service .. ':' .. b.day
if redis.call('HGET', KEYS[4], ikey) == b.id then redis.call('HDEL', KEYS[4], ikey) end
local was = b.state
b.state = 'cancelled'
b.cancelled_ms = now
redis.call('HSET', KEYS[3], b.id, cjson.encode(b))
local seq = emit('booking_cancelled', now, {booking = b, actor = ARGV[6], reason = 'cancelled', was = was})
return ok({booking = b, seq = seq})
