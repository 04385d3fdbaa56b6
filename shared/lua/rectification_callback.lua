-- rectification_callback.lua — a call-back (回访) of a 差评 or 办不成事 citizen is logged with its outcome; any
-- number of attempts, on an open or closed record (not on one ruled invalid).
-- KEYS: 1 seq, 2 events, 3 rectifications
-- ARGV: 1 record id, 2 now_ms, 3 who, 4 outcome 'satisfied' | 'unsatisfied' | 'unreachable' | 'declined', 5 note
-- Returns: {"ok", "rectification", "seq"} | {"error": "not_found" | "not_open"}
local id, now_ms, by, outcome, note = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local raw = redis.call('HGET', KEYS[3], id)
if not raw then return fail('not_found', 'no rectification record ' .. id) end
local r = cjson.decode(raw)
if r.state == 'invalid' then return fail('not_open', 'record ' .. id .. ' was ruled invalid') end
local calls = r.callbacks
if type(calls) ~= 'table' then calls = {} end
table.insert(calls, {at_ms = now_ms, by = by, outcome = outcome, note = note})
r.callbacks = calls
redis.call('HSET', KEYS[3], id, cjson.encode(r))
local seq = emit('callback_logged', now_ms, {ref = id, by = by, outcome = outcome, note = note})
return ok({rectification = r, seq = seq})
