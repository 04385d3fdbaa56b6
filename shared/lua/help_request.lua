-- help_request.lua — a kiosk's "需要帮助" button: open a help request for the supervisor / floor guide (导办) and
-- append help_requested, unless the kiosk already has one open (then that one is answered, nothing new happens) or
-- it asked less than the minimum interval ago (refused: a kiosk cannot spam the desk).
-- KEYS: 1 seq, 2 events, 3 open help requests (hash: kiosk id → request JSON), 4 last request per kiosk (hash:
--       kiosk id → ms), 5 the request counter (INCR)
-- ARGV: 1 kiosk id, 2 now_ms, 3 minimum interval between two requests of one kiosk (ms), 4 the hall-local time
--       (ISO, for the record)
-- Returns: {"ok", "request": {id, kiosk, at, at_ms}, "created": true | false}
--          or, asked too soon: {"ok", "request": null, "created": false, "retry_after": seconds} (a refusal the caller
--          raises as rate_limited; an answer, so that a resent copy is refused the same way)
local kiosk, now_ms, min_gap, at = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]

local raw = redis.call('HGET', KEYS[3], kiosk)
if raw then
  return ok({request = cjson.decode(raw), created = false})
end
local last = tonumber(redis.call('HGET', KEYS[4], kiosk) or '')
if last and now_ms - last < min_gap then
  local wait = math.ceil((min_gap - (now_ms - last)) / 1000)
  return ok({request = cjson.null, created = false, retry_after = wait})
end
local n = redis.call('INCR', KEYS[5])
local request = {id = string.format('H%06d', n), kiosk = kiosk, at = at, at_ms = now_ms}
redis.call('HSET', KEYS[3], kiosk, cjson.encode(request))
redis.call('HSET', KEYS[4], kiosk, now_ms)
emit('help_requested', now_ms, {kiosk = kiosk, request = request.id, at = at})
return ok({request = request, created = true})
