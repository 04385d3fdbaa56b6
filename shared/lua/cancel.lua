-- cancel.lua — a waiting ticket is withdrawn (by its holder, with the tracking token, or by staff).
-- KEYS: 1 seq, 2 events, 3 tickets(day), 4 queue(day, service the caller read), 5 window_queue(day, n or 0)
-- ARGV: 1 now_ms, 2 ticket id, 3 service the caller read, 4 target window the caller read ('' = none), 5 actor
-- Returns: {"ok", "ticket", "seq"} | {"error": "not_found" | "invalid_transition" | "retry"}
local now_ms, id = ARGV[1], ARGV[2]
local t = load_ticket(KEYS[3], id)
if not t then return fail('not_found', 'no such ticket') end
if t.status ~= 'waiting' then
  return fail('invalid_transition', 'ticket ' .. t.number .. ' is ' .. t.status .. ' and can no longer be cancelled')
end
if t.service ~= ARGV[3] or tostring(t.target_window or '') ~= ARGV[4] then
  return retry('the ticket moved while it was being cancelled')
end
redis.call('ZREM', KEYS[4], id)
redis.call('ZREM', KEYS[5], id)
t.status = 'cancelled'
t.finished_ms = tonumber(now_ms)
save_ticket(KEYS[3], t)
local seq = emit('ticket_cancelled', now_ms, {ticket = t, actor = ARGV[5]})
return ok({ticket = t, seq = seq})
