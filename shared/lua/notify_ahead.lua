-- notify_ahead.lua — "N ahead": tell the holders of waiting tickets with a contact (remote tickets, checked-in
-- bookings) that their turn is near, once each. Run by the periodic job; each ticket is decided here from its place
-- now (the ahead count is its rank in the queue it waits in), and the outbox entry id ("ahead:<ticket>") is written
-- once, so running it twice or in two processes sends one message.
-- onewindow: uses outbox, notify
-- KEYS: 1 seq, 2 events, 3 tickets(day), 4 contacts(day), 5 remote_pending(day), 6 notify outbox entries,
--       7 notify outbox partitions, 8 .. 7+P notify queue of partition 0 .. P-1,
--       then queue(day, s) for each service, then window_queue(day, n) for each window
-- ARGV: 1 now_ms, 2 settings JSON {parts, kinds}, 3 N (notify when at most this many are ahead),
--       4 services JSON [codes, in KEYS order], 5 windows JSON [numbers, in KEYS order], 6 ticket ids JSON
-- Returns: {"ok", "notified": [ticket ids]}
local now = tonumber(ARGV[1])
local settings = cjson.decode(ARGV[2])
local parts = tonumber(settings.parts)
local nk = notify_keys(settings, 6, 8)
local n = tonumber(ARGV[3])
local queue_of, window_of = {}, {}
local first = 8 + parts
local services = cjson.decode(ARGV[4])
for i, code in ipairs(services) do queue_of[code] = KEYS[first + i - 1] end
for i, number in ipairs(cjson.decode(ARGV[5])) do window_of[tonumber(number)] = KEYS[first + #services + i - 1] end
local notified = {}
for _, id in ipairs(cjson.decode(ARGV[6])) do
  local t = load_ticket(KEYS[3], id)
  local contact = redis.call('HGET', KEYS[4], id)
  if t and contact and t.status == 'waiting' then
    local queue = t.target_window and window_of[tonumber(t.target_window)] or queue_of[t.service]
    local ahead = queue and redis.call('ZRANK', queue, id)
    if ahead and ahead <= n then
      local data = {ticket = t.id, number = t.number, service = t.service, ahead = ahead,
        arrived = redis.call('SISMEMBER', KEYS[5], id) == 0}
      if notify_put(nk, 'ahead', t.id, cjson.decode(contact), data, now) then table.insert(notified, id) end
    end
  end
end
return ok({notified = notified})
