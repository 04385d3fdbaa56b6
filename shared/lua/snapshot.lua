-- snapshot.lua — a consistent read of what screens show, at one seq.
-- onewindow: read-only
-- KEYS: 1 seq, 2 events (its newest entry: the one with that seq), 3 recent calls, 4 tickets(day), 5 .. 4+W windows 1..W, then queue(day, s)
--       for each service, then window_queue(day, n) for each window
-- ARGV: 1 number of windows W, 2 number of services S
-- Returns: {"ok", "seq", "entry" (the stream id of the event with that seq; absent when the stream does not end
--           with it: empty, or a store restored without it), "recent": [json], "windows": [{current ticket json or false, paused, reason}],
--           "waiting": [count per service], "window_waiting": [count per window]}
local w, s = tonumber(ARGV[1]), tonumber(ARGV[2])
local windows = {}
for i = 1, w do
  local h = redis.call('HMGET', KEYS[4 + i], 'current', 'paused', 'pause_reason', 'clerk')
  local current = false
  if h[1] and h[1] ~= '' then
    local raw = redis.call('HGET', KEYS[4], h[1])
    if raw then current = raw end
  end
  windows[i] = {current = current, paused = h[2] == '1', reason = h[3] or '', clerk = h[4] or ''}
end
local waiting = {}
for i = 1, s do waiting[i] = redis.call('ZCARD', KEYS[4 + w + i]) end
local window_waiting = {}
for i = 1, w do window_waiting[i] = redis.call('ZCARD', KEYS[4 + w + s + i]) end
local seq, entry = seq_and_entry()  -- (_prelude.lua) a screen sends the entry back with catch_up
return ok({seq = seq, entry = entry, recent = redis.call('LRANGE', KEYS[3], 0, -1),
  windows = windows, waiting = waiting, window_waiting = window_waiting})
