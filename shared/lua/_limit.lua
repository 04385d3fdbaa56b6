-- Library (a script's header says "-- onewindow: uses limit"): a token bucket (burst, refilled at rate tokens per ms)
-- and a cap per business day, per subject — public_limit.lua, and issue.lua for a public ticket (the limit decided in
-- the same step as the ticket it allows).
-- bucket_key: hash {tokens, ms}; day_key: the day's counter.

-- Why the subject may not act now, or nil and the tokens the bucket holds now. Writes nothing.
-- Returns refusal ({reason = 'daily_cap' | 'burst', retry_ms}) | nil, tokens, used today.
local function limit_check(bucket_key, day_key, now_ms, burst, rate, cap, until_tomorrow_ms)
  local used = tonumber(redis.call('GET', day_key) or '0')
  if used >= cap then
    return {reason = 'daily_cap', retry_ms = until_tomorrow_ms}, nil, used
  end
  local state = redis.call('HMGET', bucket_key, 'tokens', 'ms')
  local tokens, last = tonumber(state[1]), tonumber(state[2])
  if not tokens or not last then
    tokens = burst
  else
    tokens = math.min(burst, tokens + math.max(0, now_ms - last) * rate)
  end
  if tokens < 1 then
    return {reason = 'burst', retry_ms = math.ceil((1 - tokens) / rate)}, nil, used
  end
  return nil, tokens, used
end

-- Spend one token (``tokens``: as limit_check found them).
local function limit_spend(bucket_key, tokens, now_ms, burst, rate)
  redis.call('HSET', bucket_key, 'tokens', tostring(tokens - 1), 'ms', now_ms)
  redis.call('PEXPIRE', bucket_key, math.ceil(burst / rate) + 1000)
end

-- Count one of the day's.
local function limit_count(day_key, day_ttl_ms)
  redis.call('INCR', day_key)
  redis.call('PEXPIRE', day_key, day_ttl_ms)
end
