-- wait_estimates.lua — what every wait estimate is computed from, read at one seq: who is serving (each window's
-- paused flag and whether a clerk holds it), how many wait in each queue, and today's pace (finishes and their
-- summed service time per service). shared/estimates.py turns it into minutes, "即将叫号" or "暂无窗口办理".
-- onewindow: read-only
-- KEYS: 1 seq, 2 events (unused), 3 service_pace(day), then for each window in order: window, window_holder;
--       then queue(day, service) for each service in order; then window_queue(day, n) for each window in order
-- ARGV: 1 number of windows, 2 number of services
-- Returns: {"ok", "seq", "pace": {field: value of the pace hash}, "windows": [{"paused": bool, "held": bool}, …],
--           "waiting": [n per service], "window_waiting": [n per window]}
local nw, ns = tonumber(ARGV[1]), tonumber(ARGV[2])
local flat = redis.call('HGETALL', KEYS[3])
local pace = {}
for i = 1, #flat, 2 do pace[flat[i]] = flat[i + 1] end
local windows = {}
for i = 0, nw - 1 do
  local wkey, hkey = KEYS[4 + 2 * i], KEYS[5 + 2 * i]
  windows[#windows + 1] = {paused = redis.call('HGET', wkey, 'paused') == '1', held = redis.call('EXISTS', hkey) == 1}
end
local first = 4 + 2 * nw
local waiting = {}
for i = 0, ns - 1 do waiting[#waiting + 1] = redis.call('ZCARD', KEYS[first + i]) end
local window_waiting = {}
for i = 0, nw - 1 do window_waiting[#window_waiting + 1] = redis.call('ZCARD', KEYS[first + ns + i]) end
return ok({seq = tonumber(redis.call('GET', KEYS[1]) or 0), pace = pace, windows = windows, waiting = waiting,
  window_waiting = window_waiting})
