-- pause.lua — pause or resume a window.
-- KEYS: 1 seq, 2 events, 3 tickets(day), 4 window
-- ARGV: 1 window number, 2 now_ms, 3 clerk id, 4 '1' pause | '0' resume, 5 reason
-- Returns: {"ok", "window", "seq"} | {"error": "window_busy" | "already_paused" | "not_paused"}
local window, now_ms, clerk, pause = ARGV[1], ARGV[2], ARGV[3], ARGV[4] == '1'
local paused = redis.call('HGET', KEYS[4], 'paused') == '1'
if pause then
  if paused then return fail('already_paused', 'the window is already paused') end
  if current_ticket(KEYS[4], KEYS[3]) then
    return fail('window_busy', 'finish or transfer the current ticket before pausing')
  end
  redis.call('HSET', KEYS[4], 'paused', '1', 'pause_reason', ARGV[5], 'paused_ms', now_ms)
  local seq = emit('window_paused', now_ms, {window = tonumber(window), clerk = clerk, reason = ARGV[5]})
  return ok({seq = seq})
end
if not paused then return fail('not_paused', 'the window is not paused') end
local since = tonumber(redis.call('HGET', KEYS[4], 'paused_ms') or now_ms)
redis.call('HDEL', KEYS[4], 'paused', 'pause_reason', 'paused_ms')
local seq = emit('window_resumed', now_ms, {window = tonumber(window), clerk = clerk,
  paused_ms = tonumber(now_ms) - since})
return ok({seq = seq})
