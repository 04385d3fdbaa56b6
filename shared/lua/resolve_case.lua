-- resolve_case.lua — a supervisor closes an open 办不成事 case: who, when and how is recorded on the case.
-- KEYS: 1 seq, 2 events, 3 cases hash (case id → JSON), 4 open cases (sorted set)
-- ARGV: 1 case id, 2 now_ms, 3 who (supervisor id), 4 note
-- Returns: {"ok", "case", "seq"} | {"error": "not_found" | "already_resolved"}
local id, now_ms, by, note = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local raw = redis.call('HGET', KEYS[3], id)
if not raw then return fail('not_found', 'no case ' .. id) end
local c = cjson.decode(raw)
if c.resolved == true or c.resolved_ms then
  return fail('already_resolved', 'case ' .. id .. ' is already resolved')
end
c.resolved = true
c.resolved_ms = now_ms
c.resolved_by = by
c.resolution = note
redis.call('HSET', KEYS[3], id, cjson.encode(c))
redis.call('ZREM', KEYS[4], id)
local seq = emit('case_resolved', now_ms, {ref = id, by = by, note = note, ticket_id = c.ticket, number = c.number})
return ok({case = c, seq = seq})
