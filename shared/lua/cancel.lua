-- cancel.lua — a waiting ticket is withdrawn (by its holder, with the tracking token, or by staff). The script
-- finds the queue the ticket is in now (a transfer may have moved it) among all of the day's queues.
-- A remote ticket not yet arrived is withdrawn the same way; a real-name ticket frees one of its ID's open tickets.
-- onewindow: uses idrules
-- KEYS: 1 seq, 2 events, 3 tickets(day), 4 remote_pending(day), 5 id_day(day),
--       6 .. 5+S queue(day, service) for every service, then window_queue(day, n) for every window
-- ARGV: 1 now_ms, 2 ticket id, 3 actor, 4 S (number of services), 5 .. 4+S the service code of each queue,
--       then the window number of each window queue (same order as KEYS)
-- Returns: {"ok", "ticket", "seq"} | {"error": "not_found" | "invalid_transition"}
local now_ms, id, s = ARGV[1], ARGV[2], tonumber(ARGV[4])
local t = load_ticket(KEYS[3], id)
if not t then return fail('not_found', 'no such ticket') end
if t.status ~= 'waiting' then
  return fail('invalid_transition', 'ticket ' .. t.number .. ' is ' .. t.status .. ' and can no longer be cancelled')
end
local from
for i = 6, #KEYS do
  local name = ARGV[i - 1]
  if i <= 5 + s then
    if not t.target_window and name == t.service then from = KEYS[i] end
  elseif t.target_window and tonumber(name) == tonumber(t.target_window) then
    from = KEYS[i]
  end
end
if not from then
  return fail('invalid_transition', 'ticket ' .. t.number .. ' waits in no queue of this hall')
end
redis.call('ZREM', from, id)  -- (a waiting ticket of a past day may have outlived its queue)
redis.call('SREM', KEYS[4], id)
t.status = 'cancelled'
t.finished_ms = tonumber(now_ms)
save_ticket(KEYS[3], t)
id_closed(KEYS[5], t)
local seq = emit('ticket_cancelled', now_ms, {ticket = t, actor = ARGV[3]})
return ok({ticket = t, seq = seq})
