-- call_next.lua — a window calls its next ticket.
-- KEYS: 1 seq, 2 events, 3 tickets(day), 4 window, 5 recent calls, 6 window_queue(day, window),
--       7.. queue(day, service) for each service of the window, in the window's priority order
-- ARGV: 1 window number, 2 now_ms, 3 clerk id, 4 recent-calls length
-- Returns: {"ok", "ticket", "seq"} | {"error": "window_paused" | "window_busy" | "queue_empty"}
-- Rule: tickets transferred to this window first; then by band (transferred-in to the service, priority,
-- normal); within a band, the window's service order; within a service, the longest wait.
local window, now_ms, clerk = ARGV[1], ARGV[2], ARGV[3]

local refused = refuse_call(KEYS[4], KEYS[3])
if refused then return refused end

local best_key, best_id, best_band
local head = redis.call('ZRANGE', KEYS[6], 0, 0, 'WITHSCORES')
if head[1] then
  best_key, best_id = KEYS[6], head[1]
else
  for i = 7, #KEYS do
    local h = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
    if h[1] then
      local score = tonumber(h[2])
      local band = math.floor(score / 1e13)
      if not best_id or band < best_band then  -- the first queue of the lowest band: the window's order
        best_key, best_id, best_band = KEYS[i], h[1], band
      end
    end
  end
end
if not best_id then
  return fail('queue_empty', 'no ticket is waiting for this window')
end

local t = load_ticket(KEYS[3], best_id)
remember_place(t, best_key)
redis.call('ZREM', best_key, best_id)
mark_called(KEYS[3], KEYS[4], KEYS[5], t, window, now_ms, clerk, ARGV[4])
local seq = emit('ticket_called', now_ms, {ticket = t, window = tonumber(window), clerk = clerk})
return ok({ticket = t, seq = seq})
