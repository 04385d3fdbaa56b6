-- public_limit.lua — may an unregistered client (one address) take a ticket now? A token bucket per address and a
-- cap per address per business day, decided and taken in one step; 'refund' gives the day's slot back when no
-- ticket came of it (a closed service, an idempotent replay).
-- KEYS: 1 seq, 2 events, 3 bucket(address) (hash: tokens, ms), 4 day count(day, address) (string counter)
-- ARGV: 1 op: 'take' | 'refund', 2 now_ms, 3 burst (bucket size), 4 refill per ms (tokens), 5 daily cap,
--       6 day count ttl ms, 7 ms until the next business day
-- Returns: take   → {"ok", "limited": false, "left"} | {"ok", "limited": true, "reason": "burst"|"daily_cap",
--                   "retry_ms"} (a refusal writes nothing)
--          refund → {"ok", "count"}
-- Volatile: an abuse counter: losing a count at a failover is harmless; no WAIT.
-- onewindow: volatile
local op, now_ms = ARGV[1], tonumber(ARGV[2])
if op == 'refund' then
  local n = tonumber(redis.call('GET', KEYS[4]) or '0')
  if n > 0 then n = redis.call('DECR', KEYS[4]) end
  return ok({count = n})
end
if op ~= 'take' then return fail('invalid_op', 'unknown op ' .. op) end

local burst, rate, cap = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local used = tonumber(redis.call('GET', KEYS[4]) or '0')
if used >= cap then
  return ok({limited = true, reason = 'daily_cap', retry_ms = tonumber(ARGV[7])})
end
local state = redis.call('HMGET', KEYS[3], 'tokens', 'ms')
local tokens, last = tonumber(state[1]), tonumber(state[2])
if not tokens or not last then
  tokens = burst
else
  tokens = math.min(burst, tokens + math.max(0, now_ms - last) * rate)
end
if tokens < 1 then
  return ok({limited = true, reason = 'burst', retry_ms = math.ceil((1 - tokens) / rate)})
end
tokens = tokens - 1
redis.call('HSET', KEYS[3], 'tokens', tostring(tokens), 'ms', now_ms)
redis.call('PEXPIRE', KEYS[3], math.ceil(burst / rate) + 1000)
redis.call('INCR', KEYS[4])
redis.call('PEXPIRE', KEYS[4], ARGV[6])
return ok({limited = false, left = cap - used - 1})
