-- record_case.lua — a 办不成事 case: what blocked the citizen, recorded on the window's current ticket (or the one
-- it just finished today), with an optional contact for the call-back; unresolved cases stay in the open set until
-- resolved. Every case opens a rectification record (deadlines on the hall's calendar) in the same step.
-- onewindow: uses rectification
-- KEYS: 1 seq, 2 events, 3 window, 4 tickets(today), 5 cases, 6 open cases, 7 case counter, 8 rectifications,
--       9 open rectifications, 10 rectification counter, 11 schedule (the supervisor's calendar entries)
-- ARGV: 1 window number, 2 now_ms, 3 clerk id, 4 case JSON {department, problem, action, resolved}, 5 day (YYYYMMDD),
--       6 contact JSON {name?, phone?} ('{}' = none), 7 the contact masked, 8 deadlines JSON {verify, rectify, reply},
--       9 calendar JSON {date: the entry the deadlines were computed from}
-- Returns: {"ok", "case", "ticket", "rectification", "seq"} | {"error": "no_ticket" | "retry"}
local window, now_ms, clerk = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local t = current_ticket(KEYS[3], KEYS[4])
if not t then
  local last = redis.call('HGET', KEYS[3], 'last_finished')
  if last then t = load_ticket(KEYS[4], last) end
end
if not t then
  return fail('no_ticket', 'call a ticket (or finish one) before recording a case')
end
if not calendar_unchanged(KEYS[11], cjson.decode(ARGV[9])) then
  return retry('the calendar the deadlines were counted on has changed')
end
local body = cjson.decode(ARGV[4])
local contact = cjson.decode(ARGV[6])
local masked = cjson.decode(ARGV[7])
local n = redis.call('INCR', KEYS[7])
local c = {
  id = string.format('C%06d', n), ticket = t.id, number = t.number, service = t.service, day = ARGV[5],
  window = window, clerk = clerk, department = body.department, problem = body.problem, action = body.action,
  resolved = body.resolved, opened_ms = now_ms,
}
if next(contact) ~= nil then c.contact = contact end
local rect = open_rectification(KEYS[8], KEYS[9], KEYS[10], {kind = 'case', ref = c.id,
  ticket = {id = t.id, day = t.day, number = t.number, service = t.service}, window = window, clerk = clerk,
  service = t.service, matter = t.matter, problem = c.problem, department = c.department, contact = c.contact,
  deadlines = cjson.decode(ARGV[8])}, masked, now_ms)
c.rectification = rect.id
redis.call('HSET', KEYS[5], c.id, cjson.encode(c))
if not c.resolved then redis.call('ZADD', KEYS[6], now_ms, c.id) end
local ids = t.cases
if type(ids) ~= 'table' then ids = {} end
table.insert(ids, c.id)
t.cases = ids
save_ticket(KEYS[4], t)
local event_case = {id = c.id, department = c.department, problem = c.problem, action = c.action, resolved = c.resolved}
if next(masked) ~= nil then event_case.contact = masked end
local seq = emit('case_recorded', now_ms, {ticket = t, window = window, clerk = clerk, case = event_case,
  rectification = rect.id})
return ok({case = c, ticket = t, rectification = {id = rect.id, deadlines = rect.deadlines, state = rect.state},
  seq = seq})
