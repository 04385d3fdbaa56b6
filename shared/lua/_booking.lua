-- Library (a script's header says "-- onewindow: uses booking"): a booking as the caller read it. Python read the
-- booking's service, day and slot to name its keys (slot_counts, slot_holds of that service and day); the script
-- answers "retry" when the booking moved since, so that Python names the keys again.

-- (booking, nil) when the booking `id` of `bookings_key` is still at (service, day, hhmm); else (nil, the refusal
-- to return: not_found, or retry)
local function booking_as_read(bookings_key, id, service, day, hhmm)
  local raw = redis.call('HGET', bookings_key, id)
  if not raw then return nil, fail('not_found', 'no such booking') end
  local b = cjson.decode(raw)
  if b.service ~= service or b.day ~= day or b.hhmm ~= hhmm then
    return nil, retry('the booking moved since it was read')
  end
  return b, nil
end

-- the refusal of a booking in a state the caller does not act on
local function booking_closed(b)
  return fail_with('booking_closed', 'the booking is ' .. b.state, {state = b.state})
end
