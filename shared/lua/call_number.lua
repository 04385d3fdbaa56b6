-- call_number.lua — a window calls one waiting ticket by number (out of order). The script decides everything
-- from the ticket as it is now: waiting, transferred to this window or in the queue of a service this window
-- serves (its current service: a transfer may have moved it), and takes it out of exactly that queue.
-- KEYS: 1 seq, 2 events, 3 tickets(day), 4 window, 5 recent calls, 6 window_queue(day, window),
--       7.. queue(day, service) for each service of the window
-- ARGV: 1 window number, 2 now_ms, 3 clerk id, 4 recent-calls length, 5 ticket id,
--       6.. the service code of each queue in KEYS 7.. (same order)
-- Returns: {"ok", "ticket", "seq"} | {"error": "window_paused" | "window_busy" | "not_found" |
--          "invalid_transition" | "wrong_window"}
local window, now_ms, clerk, id = ARGV[1], ARGV[2], ARGV[3], ARGV[5]

local refused = refuse_call(KEYS[4], KEYS[3])
if refused then return refused end
local t = load_ticket(KEYS[3], id)
if not t then
  return fail('not_found', 'no ticket with that number today')
end
if t.status ~= 'waiting' then
  return fail('invalid_transition', 'ticket ' .. t.number .. ' is ' .. t.status .. ', not waiting')
end

local from
if t.target_window then
  if tonumber(t.target_window) ~= tonumber(window) then
    return fail('wrong_window', 'ticket ' .. t.number .. ' was transferred to window ' .. t.target_window)
  end
  from = KEYS[6]
else
  for i = 7, #KEYS do
    if ARGV[i - 1] == t.service then from = KEYS[i] end
  end
  if not from then
    return fail('wrong_window', 'this window does not serve the service of ticket ' .. t.number)
  end
end
remember_place(t, from)
if redis.call('ZREM', from, id) ~= 1 then
  return fail('invalid_transition', 'ticket ' .. t.number .. ' is not in the queue it belongs to')
end

mark_called(KEYS[3], KEYS[4], KEYS[5], t, window, now_ms, clerk, ARGV[4])
local seq = emit('ticket_called', now_ms, {ticket = t, window = tonumber(window), clerk = clerk, out_of_order = true})
return ok({ticket = t, seq = seq})
