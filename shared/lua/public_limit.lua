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
-- onewindow: uses limit
local op, now_ms = ARGV[1], tonumber(ARGV[2])
if op == 'refund' then
  local n = tonumber(redis.call('GET', KEYS[4]) or '0')
  if n > 0 then n = redis.call('DECR', KEYS[4]) end
  return ok({count = n})
end
if op ~= 'take' then return fail('invalid_op', 'unknown op ' .. op) end

local burst, rate, cap = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local refusal, tokens, used = limit_check(KEYS[3], KEYS[4], now_ms, burst, rate, cap, tonumber(ARGV[7]))
if refusal then
  return ok({limited = true, reason = refusal.reason, retry_ms = refusal.retry_ms})
end
limit_spend(KEYS[3], tokens, now_ms, burst, rate)
limit_count(KEYS[4], ARGV[6])
return ok({limited = false, left = cap - used - 1})
