-- rectification_appeal.lua — 申诉复核: the clerk who served the visit appeals a 差评 as mistaken or malicious (once,
-- while the record is open); a supervisor other than the appellant rules. Upheld: the record is invalid (closed,
-- out of 满意率 and 差评数, kept with its history); rejected: the workflow goes on.
-- KEYS: 1 seq, 2 events, 3 rectifications, 4 open rectifications
-- ARGV: 1 'file' | 'rule', 2 record id, 3 now_ms, 4 who, 5 file: grounds 'mistaken' | 'malicious'; rule: '1' upheld
--       | '0' rejected, 6 reason / ruling note
-- Returns: {"ok", "rectification", "seq"} | {"error": "not_found" | "not_open" | "appeal_not_allowed"
--   | "not_your_rating" | "already_appealed" | "no_pending_appeal" | "own_appeal"}
local op, id, now_ms, by = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local raw = redis.call('HGET', KEYS[3], id)
if not raw then return fail('not_found', 'no rectification record ' .. id) end
local r = cjson.decode(raw)
local seq
if op == 'file' then
  if r.kind ~= 'rating' then return fail('appeal_not_allowed', 'only a 差评 can be appealed, not a 办不成事 case') end
  if r.state ~= 'open' then return fail('not_open', 'record ' .. id .. ' is ' .. r.state) end
  if type(r.appeal) == 'table' then return fail('already_appealed', 'record ' .. id .. ' has been appealed') end
  if (r.clerk or '') ~= by then
    return fail('not_your_rating', 'only the clerk who served the visit may appeal its rating')
  end
  r.appeal = {state = 'pending', by = by, grounds = ARGV[5], reason = ARGV[6], at_ms = now_ms}
  seq = emit('appeal_filed', now_ms, {ref = id, by = by, grounds = ARGV[5], reason = ARGV[6]})
else
  if type(r.appeal) ~= 'table' or r.appeal.state ~= 'pending' then
    return fail('no_pending_appeal', 'record ' .. id .. ' has no appeal waiting for a ruling')
  end
  if r.appeal.by == by then return fail('own_appeal', 'an appeal is ruled by someone other than its appellant') end
  local upheld = ARGV[5] == '1'
  r.appeal.state = upheld and 'upheld' or 'rejected'
  r.appeal.ruled_by = by
  r.appeal.ruled_ms = now_ms
  r.appeal.ruling = ARGV[6]
  if upheld then
    r.state = 'invalid'
    r.closed_ms = now_ms
    redis.call('ZREM', KEYS[4], id)
  end
  local m = r.matter
  if type(m) ~= 'table' then m = {} end
  seq = emit('appeal_ruled', now_ms, {ref = id, by = by, upheld = upheld, note = ARGV[6], rating = {
    id = r.ref, day = r.ticket.day, level = r.level, assess = r.assess, window = r.window, clerk = r.clerk,
    service = r.service, matter_code = m.code or ''}})
end
redis.call('HSET', KEYS[3], id, cjson.encode(r))
return ok({rectification = r, seq = seq})
