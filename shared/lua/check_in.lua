-- check_in.lua — a citizen arrives at the kiosk (ID card, typed ID number, booking code or a remote ticket's QR):
-- today's confirmed bookings in their check-in window become tickets in the appointment band (绿色通道 by age
-- still wins), a booking whose window has closed becomes a walk-in ticket when its service says so (and is missed:
-- 爽约), and remote tickets not yet arrived are activated — they keep the place they took. Everything is decided here
-- from the bookings and tickets as they are now; a booking or ticket of another ID than the card's is ignored.
-- onewindow: uses ticket, idrules, outbox, notify
-- KEYS: 1 seq, 2 events, 3 tickets(day), 4 tokens(day), 5 bookings, 6 bookings upcoming, 7 remote_pending(day),
--       8 id_day(day), 9 id history, 10 id history seen, 11 contacts(day), 12 schedule, 13 service times,
--       14 booking index, 15 remote_index(day), 16 notify outbox entries, 17 notify outbox partitions,
--       18 .. 17+P notify queue of partition 0 .. P-1, then for each service of ARGV 4
--       (same order): counter(day, service), queue(day, service)
-- ARGV: 1 now_ms, 2 day (YYYYMMDD), 3 settings JSON {parts, kinds, keep_ms}, 4 services JSON [{code, prefix, quota,
--       open (issuing now), rules, early_ms, late_ms, late}], 5 booking ids JSON, 6 remote ticket ids JSON,
--       7 random token parts JSON (one per booking), 8 lang, 9 kiosk id, 10 seconds to keep tickets, 11 age of the card's
--       holder ('' = by birth year), 12 this year, 13 the card's id hash ('' = by code), 14 today's date (YYYY-MM-DD),
--       15 its calendar entry as Python read it
-- Returns: {"ok", "items": [{kind: booking | remote, ref, service, outcome, ticket?, booking?, ahead?, service_ms?,
--   details?}], "seq"}
--   outcome: checked_in | walk_in | activated | already, or a refusal code (too_early, too_late, not_today,
--   not_confirmed, booking_closed, remote_expired, ticket_closed, id_open_limit, id_daily_cap, walk_in_closed,
--   walk_in_quota)
--   | {"error": "retry"} (today's calendar entry changed)
local now, day = tonumber(ARGV[1]), ARGV[2]
local settings = cjson.decode(ARGV[3])
local parts = tonumber(settings.parts)
local nk = notify_keys(settings, 16, 18)
local first_service = 18 + parts
local h, age_arg, this_year = ARGV[13], ARGV[11], tonumber(ARGV[12])
local tokens = cjson.decode(ARGV[7])

if (redis.call('HGET', KEYS[12], ARGV[14]) or '') ~= ARGV[15] then
  return retry('today\'s calendar entry changed')
end

local services = {}
for i, s in ipairs(cjson.decode(ARGV[4])) do
  s.counter = KEYS[first_service + 2 * (i - 1)]
  s.queue = KEYS[first_service + 2 * (i - 1) + 1]
  services[s.code] = s
end

local items, seq = {}, nil
local function ticket_view(t) return {id = t.id, number = t.number, day = t.day, service = t.service} end

local function check_in_booking(id, token_part)
  local raw = redis.call('HGET', KEYS[5], id)
  if not raw then return {kind = 'booking', ref = id, outcome = 'not_found'} end
  local b = cjson.decode(raw)
  if h ~= '' and b.idh ~= h then return nil end
  local item = {kind = 'booking', ref = b.id, service = b.service}
  local svc = services[b.service]
  if not svc then item.outcome = 'appointments_disabled' return item end
  if b.day ~= day then item.outcome, item.details = 'not_today', {day = b.day} return item end
  if b.state == 'checked_in' then
    item.outcome, item.ticket = 'already', load_ticket(KEYS[3], b.ticket)
    return item
  end
  if b.state == 'held' then item.outcome = 'not_confirmed' return item end
  if b.state ~= 'confirmed' and b.state ~= 'missed' then
    item.outcome, item.details = 'booking_closed', {state = b.state}
    return item
  end
  if b.state == 'missed' and b.walk_in_ticket then
    item.outcome, item.ticket = 'already', load_ticket(KEYS[3], b.walk_in_ticket)
    return item
  end
  local opens, closes = tonumber(b.slot_ms) - tonumber(svc.early_ms), tonumber(b.slot_ms) + tonumber(svc.late_ms)
  if now < opens then item.outcome, item.details = 'too_early', {opens_ms = opens} return item end
  local late = now > closes or b.state == 'missed'
  if late and svc.late ~= 'walk_in' then item.outcome, item.details = 'too_late', {closes_ms = closes} return item end
  if late and not svc.open then item.outcome = 'walk_in_closed' return item end
  if late and tonumber(redis.call('GET', svc.counter) or '0') >= tonumber(svc.quota) then
    item.outcome = 'walk_in_quota'
    return item
  end
  local refusal = id_ticket_refusal(KEYS[8], b.idh, b.service, svc.rules)
  if refusal then item.outcome, item.details = refusal[1], refusal[3] return item end

  if late and b.state == 'confirmed' then  -- its window closed unchecked: missed (爽约), as the sweep would
    b.state = 'missed'
    b.missed_ms = now
    redis.call('ZREM', KEYS[6], b.id)
    id_noshow(KEYS[9], KEYS[10], b.idh, now, settings.keep_ms)
    notify_put(nk, 'no_show', b.id, b.contact, {booking = b.id, service = b.service, day = b.day, slot = b.hhmm,
      reason = 'missed'}, now)
    seq = emit('booking_missed', now, {booking = b, on_day = b.day})
  end
  local age = age_arg
  if age == '' and tonumber(b.birth_year) then age = this_year - tonumber(b.birth_year) end
  local extra = {idh = b.idh, idsvc = b.service, realname = true, booking = b.id}
  local band, wait_from = BAND_WALK_IN, now
  if not late then
    band, wait_from = BAND_APPOINTMENT, tonumber(b.slot_ms)
    extra.appointment = true
    extra.slot = string.sub(b.hhmm, 1, 2) .. ':' .. string.sub(b.hhmm, 3, 4)
    extra.slot_ms = tonumber(b.slot_ms)
  else
    extra.late_booking = true
  end
  if id_green(svc.rules, age) then band, wait_from, extra.green = BAND_PRIORITY, now, 'age' end
  local t = make_ticket({counter = svc.counter, queue = svc.queue, tickets = KEYS[3], tokens = KEYS[4]}, day,
    b.service, svc.prefix, now, token_part, ARGV[8], ARGV[9], ARGV[10], band, wait_from, extra)
  id_took(KEYS[8], b.idh, b.service)
  if type(b.contact) == 'table' then
    redis.call('HSET', KEYS[11], t.id, cjson.encode(b.contact))
    redis.call('EXPIRE', KEYS[11], 3 * 86400)
  end
  if late then
    b.walk_in_ticket = t.id
  else
    b.state = 'checked_in'
    b.checked_in_ms = now
    b.ticket = t.id
    redis.call('ZREM', KEYS[6], b.id)
  end
  redis.call('HSET', KEYS[5], b.id, cjson.encode(b))
  local ahead = redis.call('ZRANK', svc.queue, t.id)
  seq = emit('ticket_issued', now, {ticket = t, ahead = ahead, via = 'check_in'})
  if not late then
    seq = emit('booking_checked_in', now, {booking = b, ticket = ticket_view(t), early_ms = math.max(0, b.slot_ms - now),
      late_ms = math.max(0, now - b.slot_ms)})
  end
  item.outcome, item.ticket, item.booking, item.ahead = late and 'walk_in' or 'checked_in', t, b, ahead
  item.service_ms = tonumber(redis.call('HGET', KEYS[13], b.service) or '0')
  return item
end

local function activate(id)
  local t = load_ticket(KEYS[3], id)
  if not t or not t.remote then return {kind = 'remote', ref = id, outcome = 'not_found'} end
  if h ~= '' and t.idh ~= h then return nil end
  local item = {kind = 'remote', ref = t.id, service = t.service, ticket = t}
  if t.status == 'expired' then item.outcome = 'remote_expired' return item end
  if t.status ~= 'waiting' and t.status ~= 'called' then  -- finished, no-show or cancelled: nothing to check in
    if h ~= '' then return nil end
    item.outcome, item.ticket = 'ticket_closed', nil
    return item
  end
  if t.status ~= 'waiting' or redis.call('SISMEMBER', KEYS[7], t.id) == 0 then item.outcome = 'already' return item end
  redis.call('SREM', KEYS[7], t.id)
  t.arrived = true
  t.arrived_ms = now
  save_ticket(KEYS[3], t)
  seq = emit('ticket_activated', now, {ticket = t, kiosk = ARGV[9]})
  item.outcome = 'activated'
  return item
end

local booking_ids, remote_ids = cjson.decode(ARGV[5]), cjson.decode(ARGV[6])
if h ~= '' then  -- by card: what this person has today
  booking_ids, remote_ids = {}, {}
  for code, _ in pairs(services) do
    local id = redis.call('HGET', KEYS[14], h .. ':' .. code .. ':' .. day)
    if id then table.insert(booking_ids, id) end
  end
  table.sort(booking_ids)
  for _, code in ipairs(cjson.decode(ARGV[16])) do
    local id = redis.call('HGET', KEYS[15], h .. ':' .. code)
    if id then table.insert(remote_ids, id) end
  end
end
for i, id in ipairs(booking_ids) do
  local item = check_in_booking(id, tokens[i] or tokens[1])
  if item then table.insert(items, item) end
end
for _, id in ipairs(remote_ids) do
  local item = activate(id)
  if item then table.insert(items, item) end
end
return ok({items = items, seq = seq})
