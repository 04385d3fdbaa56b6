-- login_limit.lua — count failed logins of one username+IP in a fixed window that starts at the first failure.
-- KEYS: 1 seq, 2 events, 3 login_failures(digest)
-- ARGV: 1 op: 'check' | 'fail' | 'clear', 2 failures allowed before refusing, 3 window ms
-- Returns: {"ok", "count", "limited", "retry_ms"} (limited: the next attempt must be refused)
local op, max = ARGV[1], tonumber(ARGV[2])
if op == 'clear' then
  redis.call('DEL', KEYS[3])
  return ok({count = 0, limited = false, retry_ms = 0})
end
local n
if op == 'fail' then
  n = redis.call('INCR', KEYS[3])
  if redis.call('PTTL', KEYS[3]) < 0 then redis.call('PEXPIRE', KEYS[3], ARGV[3]) end
elseif op == 'check' then
  n = tonumber(redis.call('GET', KEYS[3]) or '0')
else
  return fail('invalid_op', 'unknown op ' .. op)
end
local ttl = redis.call('PTTL', KEYS[3])
if ttl < 0 then ttl = 0 end
return ok({count = n, limited = n >= max, retry_ms = ttl})
