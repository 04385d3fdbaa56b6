-- login_limit.lua — reserve one login attempt before the password is checked, per username+address and per address,
-- in one step: of N attempts sent at once, exactly as many as the limits allow reach the password check.
-- KEYS: 1 seq, 2 events, 3 login_attempts(username+address digest), 4 login_attempts(address digest)
-- ARGV: 1 op: 'reserve' | 'succeeded', 2 attempts allowed per username+address, 3 attempts allowed per address,
--       4 window ms (counted from the first attempt of a window)
-- Returns: reserve   → {"ok", "limited": false, "count"} | {"ok", "limited": true, "retry_ms"} (a refusal writes
--                      nothing)
--          succeeded → {"ok"}: the pair's attempts are cleared and the address's attempt is given back
-- Volatile: an abuse counter: losing a count at a failover is harmless; no WAIT.
-- onewindow: volatile
local op = ARGV[1]
if op == 'succeeded' then
  redis.call('DEL', KEYS[3])
  if tonumber(redis.call('GET', KEYS[4]) or '0') > 0 then redis.call('DECR', KEYS[4]) end
  return ok({})
end
if op ~= 'reserve' then return fail('invalid_op', 'unknown op ' .. op) end

local pair_max, address_max = tonumber(ARGV[2]), tonumber(ARGV[3])
local pair = tonumber(redis.call('GET', KEYS[3]) or '0')
local address = tonumber(redis.call('GET', KEYS[4]) or '0')
if pair >= pair_max or address >= address_max then
  local retry = 0
  if pair >= pair_max then retry = math.max(retry, redis.call('PTTL', KEYS[3])) end
  if address >= address_max then retry = math.max(retry, redis.call('PTTL', KEYS[4])) end
  return ok({limited = true, retry_ms = math.max(retry, 1)})
end
for i = 3, 4 do
  redis.call('INCR', KEYS[i])
  if redis.call('PTTL', KEYS[i]) < 0 then redis.call('PEXPIRE', KEYS[i], ARGV[4]) end
end
return ok({limited = false, count = pair + 1})
