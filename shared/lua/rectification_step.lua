-- rectification_step.lua — one step of the 差评 / 办不成事 workflow is done: verify (核实), rectify (整改), reply
-- (答复, which closes the record). Steps come in that order, each once, on an open record without a pending appeal.
-- KEYS: 1 seq, 2 events, 3 rectifications, 4 open rectifications
-- ARGV: 1 record id, 2 step 'verify' | 'rectify' | 'reply', 3 now_ms, 4 today (YYYY-MM-DD, the hall's date),
--       5 who, 6 note
-- Returns: {"ok", "rectification", "seq"}
--   | {"error": "not_found" | "not_open" | "appeal_pending" | "step_done" | "step_out_of_order"}
local id, step, now_ms, today, by, note = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6]
local raw = redis.call('HGET', KEYS[3], id)
if not raw then return fail('not_found', 'no rectification record ' .. id) end
local r = cjson.decode(raw)
if r.state ~= 'open' then return fail('not_open', 'record ' .. id .. ' is ' .. r.state) end
if type(r.appeal) == 'table' and r.appeal.state == 'pending' then
  return fail('appeal_pending', 'record ' .. id .. ' waits for the ruling on its appeal')
end
local steps = r.steps
if type(steps) ~= 'table' then steps = {} end
if steps[step] then return fail('step_done', 'the ' .. step .. ' step of ' .. id .. ' is already done') end
local before = {rectify = 'verify', reply = 'rectify'}
if before[step] and not steps[before[step]] then
  return fail('step_out_of_order', 'the ' .. before[step] .. ' step of ' .. id .. ' comes first')
end
local due = r.deadlines[step]
steps[step] = {at_ms = now_ms, by = by, note = note, day = today, on_time = today <= due}
r.steps = steps
if step == 'reply' then
  r.state = 'closed'
  r.closed_ms = now_ms
  redis.call('ZREM', KEYS[4], id)
end
redis.call('HSET', KEYS[3], id, cjson.encode(r))
local seq = emit('rectification_step_completed', now_ms, {ref = id, step = step, by = by, note = note,
  on_time = steps[step].on_time, due = due, state = r.state})
return ok({rectification = r, seq = seq})
