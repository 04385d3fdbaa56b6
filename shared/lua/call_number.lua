-- call_number.lua — a window calls one waiting ticket by number (out of order). The script decides everything
-- from the ticket as it is now: waiting, transferred to this window or in the queue of a service this window
-- serves (its current service: a transfer may have moved it), and takes it out of exactly that queue.
-- A remote ticket whose holder has not checked in yet cannot be called (not_arrived).
-- onewindow: uses outbox, notify
-- KEYS: 1 seq, 2 events, 3 tickets(day), 4 window, 5 recent calls, 6 window_queue(day, window),
--       7 remote_pending(day), 8 id_day(day), 9 id history, 10 id history seen, 11 contacts(day),
--       12 notify outbox entries, 13 notify outbox partitions, 14 .. 13+P notify queue of partition 0 .. P-1,
--       then queue(day, service) for each service of the window
-- ARGV: 1 window number, 2 now_ms, 3 clerk id, 4 recent-calls length, 5 settings JSON (as call_next.lua),
--       6 ticket id, 7.. the service code of each service queue in KEYS (same order)
-- Returns: {"ok", "ticket", "seq"} | {"error": "window_paused" | "window_busy" | "not_found" |
--          "invalid_transition" | "wrong_window" | "not_arrived"}
local window, now_ms, clerk, id = ARGV[1], ARGV[2], ARGV[3], ARGV[6]
local settings = cjson.decode(ARGV[5])
local parts = tonumber(settings.parts)
local nk = notify_keys(settings, 12, 14)
local first_queue = 14 + parts

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
  for i = first_queue, #KEYS do
    if ARGV[i - first_queue + 7] == t.service then from = KEYS[i] end
  end
  if not from then
    return fail('wrong_window', 'this window does not serve the service of ticket ' .. t.number)
  end
end
if redis.call('SISMEMBER', KEYS[7], id) == 1 then
  return fail('not_arrived', 'ticket ' .. t.number .. ' is a remote ticket whose holder has not checked in yet')
end
remember_place(t, from)
if redis.call('ZREM', from, id) ~= 1 then
  return fail('invalid_transition', 'ticket ' .. t.number .. ' is not in the queue it belongs to')
end

mark_called(KEYS[3], KEYS[4], KEYS[5], t, window, now_ms, clerk, ARGV[4])
notify_called(nk, KEYS[11], t, window, now_ms)
local seq = emit('ticket_called', now_ms, {ticket = t, window = tonumber(window), clerk = clerk, out_of_order = true})
return ok({ticket = t, seq = seq})
