-- window_view.lua — one window as its clerk sees it, read at one seq: its state, who holds it, its current ticket,
-- and the head of each queue it draws from.
-- onewindow: read-only
-- KEYS: 1 seq, 2 events (its newest entry: the one with that seq), 3 tickets(day), 4 window, 5 window_holder(window),
--       6 window_queue(day, window), 7.. queue(day, service) for each service of the window, in the window's order
-- ARGV: 1 how many tickets of each queue to return (0: counts only)
-- Returns: {"ok", "seq", "entry" (the stream id of the event with that seq; absent when the stream does not end
--           with it — _prelude.lua seq_and_entry), "window": {field: value of the window hash},
--           "holder": holder JSON | false, "current": the current ticket's JSON | false,
--           "queues": [{"waiting": n, "next": [ticket JSON, …]}, …] (KEYS 6.. in order)}
local length = tonumber(ARGV[1])
local flat = redis.call('HGETALL', KEYS[4])
local window = {}
for i = 1, #flat, 2 do window[flat[i]] = flat[i + 1] end
local current = false
if window.current and window.current ~= '' then
  current = redis.call('HGET', KEYS[3], window.current) or false
end
local queues = {}
for i = 6, #KEYS do
  local next = {}
  if length > 0 then
    for _, id in ipairs(redis.call('ZRANGE', KEYS[i], 0, length - 1)) do
      local raw = redis.call('HGET', KEYS[3], id)
      if raw then next[#next + 1] = raw end
    end
  end
  queues[#queues + 1] = {waiting = redis.call('ZCARD', KEYS[i]), next = next}
end
local seq, entry = seq_and_entry()
return ok({seq = seq, entry = entry, window = window,
  holder = redis.call('GET', KEYS[5]) or false, current = current, queues = queues})
