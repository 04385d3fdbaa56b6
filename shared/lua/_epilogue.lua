-- Epilogue appended to every mutating script by shared/runner.py (after the script, wrapped as __body):
-- the operation runs once.
-- The runner appends the operation key to KEYS and (seconds to keep the answer, this call's nonce) to ARGV;
-- they are taken off before the body runs, so the body sees its own KEYS and ARGV only.
-- Returns {answer JSON, replayed}: replayed = 1 when the answer was stored by an earlier call with this operation
-- id (another nonce); 0 for this call's own answer — fresh, or stored by a copy of this very call that redis-py
-- sent again after a timeout (the caller never saw the first copy's answer).
-- Every final answer is stored, refusals too: a copy of a refused call must not act later. retry() answers are
-- not final (Python recomputes an argument and calls again with the same operation id) and are not stored.
local op_key = table.remove(KEYS)
local op_nonce = table.remove(ARGV)
local op_ttl = table.remove(ARGV)
local stored = redis.call('GET', op_key)
if stored then
  local sep = string.find(stored, '|', 1, true)
  local replayed = 1
  if string.sub(stored, 1, sep - 1) == op_nonce then replayed = 0 end
  return {string.sub(stored, sep + 1), replayed}
end
local answer = __body()
if type(answer) ~= 'string' then
  return redis.error_reply('script answered no JSON')
end
if not __retrying then
  redis.call('SET', op_key, op_nonce .. '|' .. answer, 'EX', op_ttl)
end
return {answer, 0}
