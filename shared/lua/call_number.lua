-- call_number.lua — a window calls one waiting ticket by number (out of order).
-- KEYS: 1 seq, 2 events, 3 tickets(day), 4 window, 5 recent calls, 6 queue(day, ticket's service),
--       7 window_queue(day, window)
-- ARGV: 1 window number, 2 now_ms, 3 clerk id, 4 recent-calls length, 5 ticket id,
--       6 '1' if the window serves the ticket's service
-- Returns: {"ok", "ticket", "seq"} | {"error": "window_paused" | "window_busy" | "not_found" |
--          "invalid_transition" | "wrong_window"}
local window, now_ms, clerk, id = ARGV[1], ARGV[2], ARGV[3], ARGV[5]

if redis.call('HGET', KEYS[4], 'paused') == '1' then
  return fail('window_paused', 'the window is paused; resume it first')
end
if current_ticket(KEYS[4], KEYS[3]) then
  return fail('window_busy', 'the window is serving a ticket: finish it, transfer it or mark it no-show first')
end
local t = load_ticket(KEYS[3], id)
if not t then
  return fail('not_found', 'no ticket with that number today')
end
if t.status ~= 'waiting' then
  return fail('invalid_transition', 'ticket ' .. t.number .. ' is ' .. t.status .. ', not waiting')
end
local in_window_queue = redis.call('ZSCORE', KEYS[7], id)
if t.target_window and not in_window_queue then
  return fail('wrong_window', 'ticket ' .. t.number .. ' was transferred to window ' .. t.target_window)
end
if not in_window_queue and ARGV[6] ~= '1' then
  return fail('wrong_window', 'this window does not serve the service of ticket ' .. t.number)
end

redis.call('ZREM', KEYS[6], id)
redis.call('ZREM', KEYS[7], id)
mark_called(KEYS[3], KEYS[4], KEYS[5], t, window, now_ms, clerk, ARGV[4])
local seq = emit('ticket_called', now_ms, {ticket = t, window = tonumber(window), clerk = clerk, out_of_order = true})
return ok({ticket = t, seq = seq})
