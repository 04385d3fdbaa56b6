-- public_limit.lua — may an unregistered client (one address) take a ticket now? A token bucket per address and a
-- cap per address per business day, decided and taken in one step (the phone API and the kiosks' look-ups; a
-- public ticket's limit is decided inside issue.lua instead, with the same _limit.lua).
-- KEYS: 1 seq, 2 events, 3 bucket(address) (hash: tokens, ms), 4 day count(day, address) (string counter)
-- ARGV: 1 op: 'take', 2 now_ms, 3 burst (bucket size), 4 refill per ms (tokens), 5 daily cap,
--       6 day count ttl ms, 7 ms until the next business day
-- Returns: {"ok", "limited": false, "left"} | {"ok", "limited": true, "reason": "burst"|"daily_cap", "retry_ms"}
--          (a refusal writes nothing)
-- Volatile: an abuse counter: losing a count at a failover is harmless; no WAIT.
-- onewindow: volatile
-- onewindow: uses limit
local op, now_ms = ARGV[1], tonumber(ARGV[2])
if op ~= 'take' then return fail('invalid_op', 'unknown op ' .. op) end

local burst, rate, cap = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local refusal, tokens, used = limit_check(KEYS[3], KEYS[4], now_ms, burst, rate, cap, tonumber(ARGV[7]))
if refusal then
  return ok({limited = true, reason = refusal.reason, retry_ms = refusal.retry_ms})
end
limit_spend(KEYS[3], tokens, now_ms, burst, rate)
limit_count(KEYS[4], ARGV[6])
return ok({limited = false, left = cap - used - 1})
