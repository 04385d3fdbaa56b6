-- record_case.lua — a 办不成事 case: what blocked the citizen, recorded on the window's current ticket (or the one
-- it just finished today); unresolved cases stay in the open set until resolved.
-- KEYS: 1 seq, 2 events, 3 window, 4 tickets(today), 5 cases, 6 open cases, 7 case counter
-- ARGV: 1 window number, 2 now_ms, 3 clerk id, 4 case JSON {department, problem, action, resolved}, 5 day (YYYYMMDD)
-- Returns: {"ok", "case", "ticket", "seq"} | {"error": "no_ticket"}
local window, now_ms, clerk = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local t = current_ticket(KEYS[3], KEYS[4])
if not t then
  local last = redis.call('HGET', KEYS[3], 'last_finished')
  if last then t = load_ticket(KEYS[4], last) end
end
if not t then
  return fail('no_ticket', 'call a ticket (or finish one) before recording a case')
end
local body = cjson.decode(ARGV[4])
local n = redis.call('INCR', KEYS[7])
local c = {
  id = string.format('C%06d', n), ticket = t.id, number = t.number, service = t.service, day = ARGV[5],
  window = window, clerk = clerk, department = body.department, problem = body.problem, action = body.action,
  resolved = body.resolved, opened_ms = now_ms,
}
redis.call('HSET', KEYS[5], c.id, cjson.encode(c))
if not c.resolved then redis.call('ZADD', KEYS[6], now_ms, c.id) end
local ids = t.cases
if type(ids) ~= 'table' then ids = {} end
table.insert(ids, c.id)
t.cases = ids
save_ticket(KEYS[4], t)
local seq = emit('case_recorded', now_ms, {ticket = t, window = window, clerk = clerk,
  case = {id = c.id, department = c.department, problem = c.problem, action = c.action, resolved = c.resolved}})
return ok({case = c, ticket = t, seq = seq})
