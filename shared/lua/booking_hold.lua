-- booking_hold.lua — hold one slot for a citizen while the booking is confirmed (预约: hold, then confirm). Decided
-- here from the state as it is now: the slot's calendar entry unchanged, one booking per ID, service and day, no
-- no-show ban, a place left (confirmed bookings + holds not yet expired < capacity).
-- onewindow: uses idrules
-- KEYS: 1 seq, 2 events, 3 bookings, 4 booking codes, 5 booking index, 6 booking seq, 7 booking times,
--       8 booking holds, 9 slot_counts(service, day), 10 slot_holds(service, day, hhmm), 11 id history, 12 schedule
-- ARGV: 1 now_ms, 2 service, 3 day (YYYYMMDD), 4 slot (HHMM), 5 slot start ms, 6 slot end ms, 7 capacity,
--       8 hold until ms, 9 booking code (random), 10 id hash, 11 birth year, 12 masked ID, 13 the service's per-ID
--       rules JSON, 14 contact JSON ('' = none), 15 channel, 16 lang, 17 the slot's date (YYYY-MM-DD),
--       18 its calendar entry as Python read it ('' = none)
-- Returns: {"ok", "booking", "seq"} | {"error": "booking_exists" | "id_banned" | "slot_full" | "retry", "details"?}
--   (retry: the calendar entry changed, or the random code is taken — Python computes again)
local now = tonumber(ARGV[1])
local service, day, hhmm, h = ARGV[2], ARGV[3], ARGV[4], ARGV[10]

if (redis.call('HGET', KEYS[12], ARGV[17]) or '') ~= ARGV[18] then
  return retry('the calendar entry of ' .. ARGV[17] .. ' changed')
end
if redis.call('HEXISTS', KEYS[4], ARGV[9]) == 1 then
  return retry('the booking code is taken')
end
local ikey = h .. ':' .. service .. ':' .. day
local existing = redis.call('HGET', KEYS[5], ikey)
if existing then
  local raw = redis.call('HGET', KEYS[3], existing)
  local b = raw and cjson.decode(raw)
  if b and (b.state == 'confirmed' or b.state == 'checked_in' or (b.state == 'held' and b.hold_until_ms > now)) then
    return fail_with('booking_exists', 'this ID already has a booking for this service that day', {day = day})
  end
end
local banned = id_banned_until(KEYS[11], h, cjson.decode(ARGV[13]), now)
if banned > 0 then
  return fail_with('id_banned', 'this ID may not book until ' .. banned, {until_ms = banned})
end
local capacity = tonumber(ARGV[7])
local taken = tonumber(redis.call('HGET', KEYS[9], hhmm) or '0') + redis.call('ZCOUNT', KEYS[10], '(' .. now, '+inf')
if taken >= capacity then
  return fail_with('slot_full', 'the slot is fully booked', {capacity = capacity})
end

local b = {
  id = string.format('BK%07d', redis.call('INCR', KEYS[6])), code = ARGV[9], service = service, day = day, hhmm = hhmm,
  slot_ms = tonumber(ARGV[5]), end_ms = tonumber(ARGV[6]), state = 'held', idh = h, birth_year = tonumber(ARGV[11]),
  masked = ARGV[12], channel = ARGV[15], lang = ARGV[16], created_ms = now, hold_until_ms = tonumber(ARGV[8]),
}
if ARGV[14] ~= '' then b.contact = cjson.decode(ARGV[14]) end
redis.call('HSET', KEYS[3], b.id, cjson.encode(b))
redis.call('HSET', KEYS[4], b.code, b.id)
redis.call('HSET', KEYS[5], ikey, b.id)
redis.call('ZADD', KEYS[7], b.slot_ms, b.id)
redis.call('ZADD', KEYS[8], b.hold_until_ms, b.id)
redis.call('ZADD', KEYS[10], b.hold_until_ms, b.id)
redis.call('PEXPIRE', KEYS[10], b.hold_until_ms - now + 60000)
local seq = emit('booking_held', now, {booking = b})
return ok({booking = b, seq = seq})
