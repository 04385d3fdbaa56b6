-- booking_reschedule.lua — move a confirmed booking to another slot of its service (改约), before its slot starts:
-- the new slot's calendar entry unchanged, a place left there, still one booking per ID, service and day. The
-- booking keeps its id and code; its reminder is sent again for the new time.
-- onewindow: uses booking
-- KEYS: 1 seq, 2 events, 3 bookings, 4 booking index, 5 booking times, 6 bookings upcoming,
--       7 slot_counts(service, old day), 8 slot_counts(service, new day), 9 slot_holds(service, new day, new slot),
--       10 schedule
-- ARGV: 1 now_ms, 2 booking id, 3 service, 4 old day, 5 old slot (HHMM) — as Python read them, 6 new day,
--       7 new slot, 8 new start ms, 9 new end ms, 10 capacity of the new slot, 11 new date (YYYY-MM-DD),
--       12 its calendar entry as Python read it, 13 when the new day's slot_counts may expire (ms, the hall's clock)
-- Returns: {"ok", "booking", "seq"} | {"error": "not_found" | "not_confirmed" | "booking_closed" | "cancel_too_late"
--   | "same_slot" | "booking_exists" | "slot_full" | "retry"}
local now = tonumber(ARGV[1])
local b, refused = booking_as_read(KEYS[3], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
if not b then return refused end
if (redis.call('HGET', KEYS[10], ARGV[11]) or '') ~= ARGV[12] then
  return retry('the calendar entry of ' .. ARGV[11] .. ' changed')
end
if b.state == 'held' then return fail('not_confirmed', 'confirm the booking first') end
if b.state ~= 'confirmed' then return booking_closed(b) end
if now >= tonumber(b.slot_ms) then return fail('cancel_too_late', 'the booked time has begun') end
local new_day, new_hhmm = ARGV[6], ARGV[7]
if new_day == b.day and new_hhmm == b.hhmm then return fail('same_slot', 'that is the booked time') end
local new_ikey = b.idh .. ':' .. b.service .. ':' .. new_day
if new_day ~= b.day then
  local other = redis.call('HGET', KEYS[4], new_ikey)
  local o = other and redis.call('HGET', KEYS[3], other)
  o = o and cjson.decode(o)
  if o and (o.state == 'confirmed' or o.state == 'checked_in' or (o.state == 'held' and o.hold_until_ms > now)) then
    return fail_with('booking_exists', 'this ID already has a booking for this service that day', {day = new_day})
  end
end
local capacity = tonumber(ARGV[10])
local taken = tonumber(redis.call('HGET', KEYS[8], new_hhmm) or '0') + redis.call('ZCOUNT', KEYS[9], '(' .. now, '+inf')
if taken >= capacity then return fail_with('slot_full', 'the slot is fully booked', {capacity = capacity}) end

if tonumber(redis.call('HINCRBY', KEYS[7], b.hhmm, -1)) < 0 then redis.call('HSET', KEYS[7], b.hhmm, 0) end
redis.call('HINCRBY', KEYS[8], new_hhmm, 1)
redis.call('PEXPIRE', KEYS[8], math.max(1, tonumber(ARGV[13]) - now))  -- (the hall's clock: booking_confirm.lua)
local old_ikey = b.idh .. ':' .. b.service .. ':' .. b.day
if redis.call('HGET', KEYS[4], old_ikey) == b.id then redis.call('HDEL', KEYS[4], old_ikey) end
redis.call('HSET', KEYS[4], new_ikey, b.id)
local from = {day = b.day, slot = b.hhmm, start_ms = b.slot_ms}
b.day, b.hhmm, b.slot_ms, b.end_ms = new_day, new_hhmm, tonumber(ARGV[8]), tonumber(ARGV[9])
b.reminded_ms = nil
b.rescheduled = (tonumber(b.rescheduled) or 0) + 1
redis.call('HSET', KEYS[3], b.id, cjson.encode(b))
redis.call('ZADD', KEYS[5], b.slot_ms, b.id)
redis.call('ZADD', KEYS[6], b.slot_ms, b.id)
local seq = emit('booking_rescheduled', now, {booking = b, from = from})
return ok({booking = b, seq = seq})
