-- Library ("-- onewindow: uses rectification"): open a 差评 / 办不成事 rectification record in the same step as the
-- rating or case that causes it (shared/rectification.py runs the rest of the workflow).

-- Python computed the deadlines from the calendar as it read it: the dates it looked at, each with the supervisor's
-- entry as it was then ('' = none). True when every one is unchanged (otherwise the caller answers retry()).
local function calendar_unchanged(schedule_key, expected)
  for day, entry in pairs(expected) do
    if (redis.call('HGET', schedule_key, day) or '') ~= entry then return false end
  end
  return true
end

-- rec: {kind, ref, ticket = {id, day, number, service}, window, clerk, service, matter = {code, name} | nil, level,
-- assess, options, text, contact = {name, phone} | nil, deadlines = {verify, rectify, reply}}. ``masked`` is the
-- contact as the event stream may show it. Returns the record (with its id) and the seq of its event.
local function open_rectification(rect_key, open_key, counter_key, rec, masked, now_ms)
  local n = redis.call('INCR', counter_key)
  rec.id = string.format('ZG%06d', n)
  rec.state = 'open'
  rec.opened_ms = tonumber(now_ms)
  redis.call('HSET', rect_key, rec.id, cjson.encode(rec))
  redis.call('ZADD', open_key, now_ms, rec.id)
  local m = rec.matter
  if type(m) ~= 'table' then m = {} end
  local seq = emit('rectification_opened', now_ms, {ticket = rec.ticket, ref = rec.id, rectification = {
    id = rec.id, kind = rec.kind, ref = rec.ref, window = rec.window, clerk = rec.clerk, service = rec.service,
    matter_code = m.code or '', level = rec.level, assess = rec.assess, deadlines = rec.deadlines,
    contact = masked, has_contact = type(masked) == 'table' and (masked.phone or '') ~= ''}})
  return rec, seq
end
