-- booking_sweep.lua — the periodic work on bookings, each decided here from the booking as it is now (so running it
-- twice, or in two processes, does each thing once): release holds that ran out, mark confirmed bookings whose
-- check-in window closed as missed (爽约: a no-show of the ID, and its notification), write reminders, forget
-- bookings long past and no-show histories no rule looks at any more.
-- onewindow: uses outbox, notify, idrules
-- KEYS: 1 seq, 2 events, 3 bookings, 4 booking codes, 5 booking index, 6 booking times, 7 booking holds,
--       8 bookings upcoming, 9 id history, 10 id history seen, 11 notify outbox entries, 12 notify outbox partitions,
--       13 .. 12+P notify queue of partition 0 .. P-1
-- ARGV: 1 now_ms, 2 settings JSON {parts, kinds, keep_ms}, 3 work JSON: [{op, id, at}] where op is
--       'expire' (a hold), 'miss' (at = when its check-in window closes), 'remind' (at = when the reminder is due),
--       'prune' (at = bookings whose slot started before this are forgotten), 'forget' (id = an id hash; at = its
--       history is dropped if its last no-show is older)
-- Returns: {"ok", "expired", "missed", "reminded", "pruned", "forgotten"} (counts)
local now = tonumber(ARGV[1])
local settings = cjson.decode(ARGV[2])
local nk = notify_keys(settings, 11, 13)
local n = {expired = 0, missed = 0, reminded = 0, pruned = 0, forgotten = 0}

local function load(id)
  local raw = redis.call('HGET', KEYS[3], id)
  return raw and cjson.decode(raw)
end
local function save(b) redis.call('HSET', KEYS[3], b.id, cjson.encode(b)) end
local function unindex(b)
  local ikey = b.idh .. ':' .. b.service .. ':' .. b.day
  if redis.call('HGET', KEYS[5], ikey) == b.id then redis.call('HDEL', KEYS[5], ikey) end
end

for _, w in ipairs(cjson.decode(ARGV[3])) do
  local at = tonumber(w.at) or 0
  if w.op == 'forget' then
    local last = redis.call('ZSCORE', KEYS[10], w.id)
    if last and tonumber(last) < at then
      redis.call('HDEL', KEYS[9], w.id)
      redis.call('ZREM', KEYS[10], w.id)
      n.forgotten = n.forgotten + 1
    end
  else
    local b = load(w.id)
    if w.op == 'expire' then
      if b and b.state == 'held' and tonumber(b.hold_until_ms) <= now then
        b.state = 'expired'
        b.expired_ms = now
        save(b)
        unindex(b)
        emit('booking_cancelled', now, {booking = b, actor = 'system', reason = 'hold_expired', was = 'held'})
        n.expired = n.expired + 1
      end
      if not b or b.state ~= 'held' or tonumber(b.hold_until_ms) <= now then redis.call('ZREM', KEYS[7], w.id) end
    elseif w.op == 'miss' then
      if b and b.state == 'confirmed' and now >= at and at >= tonumber(b.slot_ms) then
        b.state = 'missed'
        b.missed_ms = now
        save(b)
        redis.call('ZREM', KEYS[8], b.id)
        id_noshow(KEYS[9], KEYS[10], b.idh, now, settings.keep_ms)
        notify_put(nk, 'no_show', b.id, b.contact, {booking = b.id, service = b.service, day = b.day, slot = b.hhmm,
          reason = 'missed'}, now)
        emit('booking_missed', now, {booking = b, on_day = b.day})
        n.missed = n.missed + 1
      elseif not b or b.state ~= 'confirmed' then
        redis.call('ZREM', KEYS[8], w.id)
      end
    elseif w.op == 'remind' then
      if b and b.state == 'confirmed' and not b.reminded_ms and now >= at and now < tonumber(b.slot_ms) then
        b.reminded_ms = now
        save(b)
        -- a moved booking is reminded again: the entry id carries the slot
        notify_put(nk, 'reminder', b.id .. ':' .. b.day .. b.hhmm, b.contact, {booking = b.id, code = b.code,
          service = b.service, day = b.day, slot = b.hhmm, start_ms = b.slot_ms}, now)
        n.reminded = n.reminded + 1
      end
    elseif w.op == 'prune' then
      if b and tonumber(b.slot_ms) < at then
        redis.call('HDEL', KEYS[3], b.id)
        if redis.call('HGET', KEYS[4], b.code) == b.id then redis.call('HDEL', KEYS[4], b.code) end
        unindex(b)
        n.pruned = n.pruned + 1
      end
      if not b or tonumber(b.slot_ms) < at then
        redis.call('ZREM', KEYS[6], w.id)
        redis.call('ZREM', KEYS[7], w.id)
        redis.call('ZREM', KEYS[8], w.id)
      end
    end
  end
end
return ok(n)
