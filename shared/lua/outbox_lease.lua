-- outbox_lease.lua — the one sender of an outbox: take the lease if nobody holds it, keep it if it is ours, give
-- it back. A copy of any of these run again does the same thing (the token is the caller's own).
-- onewindow: repeatable
-- KEYS: 1 seq, 2 events, 3 lease
-- ARGV: 1 'hold' | 'release', 2 the caller's token, 3 lease ms
-- Returns: {"ok", "held"}
local current = redis.call('GET', KEYS[3])
if ARGV[1] == 'release' then
  if current == ARGV[2] then redis.call('DEL', KEYS[3]) end
  return ok({held = false})
end
if not current then
  redis.call('SET', KEYS[3], ARGV[2], 'PX', tonumber(ARGV[3]))
  return ok({held = true})
end
if current == ARGV[2] then
  redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[3]))
  return ok({held = true})
end
return ok({held = false})
