-- staff_session.lua — a staff session kept on the server: the cookie carries only its id; the record is here.
-- KEYS: 1 seq, 2 events, 3 session(digest of the id), 4 window_holder(window) of the session (any key when none)
-- ARGV: 1 op: 'create' | 'touch' | 'end', 2 now_ms,
--       create: 3 record JSON {clerk, role, window, hold, csrf, pw, created_ms, expires_ms}, 4 idle ms
--       touch:  3 JSON {clerk: password fingerprint} of the accounts in the config now, 4 idle ms
-- Returns: create → {"ok"}; end → {"ok", "ended": true|false}
--          touch  → {"ok", "valid": true, "session"} | {"ok", "valid": false, "reason": "unknown" | "expired" |
--                   "password_changed" | "window_released"} (refused for good: an expired or released session can
--                   never become valid again and is left to its TTL; one whose password changed is deleted, so
--                   restoring the old hash cannot revive it)
-- A valid touch extends the session (and its window's hold) by the idle time, never past expires_ms.
local op, now_ms = ARGV[1], tonumber(ARGV[2])
if op == 'create' then
  local record = cjson.decode(ARGV[3])
  redis.call('SET', KEYS[3], ARGV[3], 'PX', math.max(1, math.min(tonumber(ARGV[4]), record.expires_ms - now_ms)))
  return ok({})
end
if op == 'end' then
  return ok({ended = redis.call('DEL', KEYS[3]) == 1})
end
if op ~= 'touch' then return fail('invalid_op', 'unknown op ' .. op) end

local raw = redis.call('GET', KEYS[3])
if not raw then return ok({valid = false, reason = 'unknown'}) end
local s = cjson.decode(raw)
local function finish(reason)
  return ok({valid = false, reason = reason})
end
if now_ms >= s.expires_ms then return finish('expired') end
local accounts = cjson.decode(ARGV[3])
if accounts[s.clerk] == nil or accounts[s.clerk] ~= s.pw then
  redis.call('DEL', KEYS[3])
  return finish('password_changed')
end
local ttl = math.max(1, math.min(tonumber(ARGV[4]), s.expires_ms - now_ms))
if s.window ~= cjson.null and s.window ~= nil then
  local held = redis.call('GET', KEYS[4])
  if not held then return finish('window_released') end
  local holder = cjson.decode(held)
  if holder.hold_id ~= s.hold then return finish('window_released') end
  if redis.call('PTTL', KEYS[4]) < ttl then redis.call('PEXPIRE', KEYS[4], ttl) end
end
redis.call('PEXPIRE', KEYS[3], ttl)
return ok({valid = true, session = s})
