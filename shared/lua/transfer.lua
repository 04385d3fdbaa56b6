-- transfer.lua — move the window's current ticket to another service or window; it keeps its number and
-- waits at the head of the target (band 0).
-- KEYS: 1 seq, 2 events, 3 tickets(day), 4 window, 5 target queue (queue(day, service) or window_queue(day, n))
-- ARGV: 1 window number, 2 now_ms, 3 clerk id, 4 target kind: 'service' | 'window', 5 target (code or number),
--       6 reason JSON {code, label, text} ('{}' = none given; carried on the event)
-- Returns: {"ok", "ticket", "seq"} | {"error": "nothing_to_transfer" | "same_target" | "same_service"}
local window, now_ms, clerk, kind, target = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local t = current_ticket(KEYS[4], KEYS[3])
if not t then
  return fail('nothing_to_transfer', 'the window has no called ticket to transfer')
end
if kind == 'window' and tonumber(target) == tonumber(window) then
  return fail('same_target', 'a ticket cannot be transferred to the window that serves it')
end
if kind == 'service' and target == t.service then
  return fail('same_service', 'ticket ' .. t.number .. ' is already a ticket of ' .. target)
end
local from_service = t.service
t.status = 'waiting'
t.transfers = (t.transfers or 0) + 1
t.window = nil
t.called_ms = nil
t.clerk = nil
if kind == 'service' then
  t.service = target
  t.target_window = nil
else
  t.target_window = tonumber(target)
end
save_ticket(KEYS[3], t)
redis.call('ZADD', KEYS[5], now_ms, t.id)
redis.call('EXPIRE', KEYS[5], 3 * 86400)
redis.call('HDEL', KEYS[4], 'current')
local payload = {ticket = t, window = tonumber(window), clerk = clerk, from_service = from_service}
local reason = cjson.decode(ARGV[6] or '{}')
if type(reason) == 'table' and next(reason) ~= nil then payload.reason = reason end
if kind == 'service' then payload.to_service = target else payload.to_window = tonumber(target) end
local seq = emit('ticket_transferred', now_ms, payload)
return ok({ticket = t, seq = seq})
