-- Library (a script's header says "-- onewindow: uses outbox, notify"): a notification to a citizen, written to the
-- "notify" outbox in the same step as what it reports (shared/notify). nk = {entries, parts, first, count, kinds} —
-- the outbox keys, the index in KEYS of the queue of delivery partition 0 (the count queues follow it), and the
-- kinds the hall sends. contact = {phone?, openid?, part, lang?}. An entry's id is "<kind>:<ref>": written once,
-- whatever happens (a second call of the same ticket is no second "called" message).
local function notify_put(nk, kind, ref, contact, data, now_ms)
  if not nk or not nk.kinds or not nk.kinds[kind] or type(contact) ~= 'table' then return false end
  if (contact.phone or '') == '' and (contact.openid or '') == '' then return false end
  local part = tonumber(contact.part) or 0
  if part < 0 or part >= tonumber(nk.count) then part = 0 end
  local to = {}
  if (contact.phone or '') ~= '' then to.phone = contact.phone end
  if (contact.openid or '') ~= '' then to.openid = contact.openid end
  return outbox_put(nk.entries, nk.parts, KEYS[tonumber(nk.first) + part], kind .. ':' .. ref, part,
    {kind = kind, ref = ref, to = to, lang = contact.lang or 'zh', data = data}, now_ms)
end

-- nk from the settings JSON a script got ({parts, kinds = [..], ...}) and the index of its first queue key
local function notify_keys(settings, entries_index, first_queue_index)
  local kinds = {}
  for _, kind in ipairs(settings.kinds or {}) do kinds[kind] = true end
  return {entries = KEYS[entries_index], parts = KEYS[entries_index + 1], first = first_queue_index,
    count = tonumber(settings.parts) or 1, kinds = kinds}
end

-- "called" to the holder of ticket t, when its contact is on file in the day's contacts hash (call_next, call_number)
local function notify_called(nk, contacts_key, t, window, now_ms)
  local contact = redis.call('HGET', contacts_key, t.id)
  if contact then
    notify_put(nk, 'called', t.id, cjson.decode(contact), {ticket = t.id, number = t.number, service = t.service,
      window = tonumber(window)}, now_ms)
  end
end
