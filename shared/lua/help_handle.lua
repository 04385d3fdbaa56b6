-- help_handle.lua — the supervisor / floor guide has gone to a kiosk that asked for help: close its open request and
-- append help_handled. A request that is not open (handled already, or never made) is refused, so two supervisors
-- clicking at once record one help_handled.
-- KEYS: 1 seq, 2 events, 3 open help requests (hash: kiosk id → request JSON)
-- ARGV: 1 kiosk id, 2 request id (the one the supervisor saw), 3 now_ms, 4 who handled it (staff id)
-- Returns: {"ok", "request": {id, kiosk, at, at_ms, handled_by, handled_ms, waited_s}} or {"error": "not_open"}
local kiosk, id, now_ms, by = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]

local raw = redis.call('HGET', KEYS[3], kiosk)
if not raw then return fail('not_open', 'kiosk ' .. kiosk .. ' has no open help request') end
local request = cjson.decode(raw)
if request.id ~= id then return fail('not_open', 'help request ' .. id .. ' is not open') end
redis.call('HDEL', KEYS[3], kiosk)
request.handled_by = by
request.handled_ms = now_ms
request.waited_s = math.floor((now_ms - tonumber(request.at_ms)) / 1000)
emit('help_handled', now_ms, {kiosk = kiosk, request = id, by = by, waited_s = request.waited_s})
return ok({request = request})
