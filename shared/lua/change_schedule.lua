-- change_schedule.lua — set or remove the supervisor's calendar entry for one date (rota / holiday / 调休 workday).
-- KEYS: 1 seq, 2 events, 3 schedule hash (date → entry JSON)
-- ARGV: 1 date (YYYY-MM-DD), 2 now_ms, 3 the new entry JSON ('' = remove the entry), 4 who (supervisor id)
-- Returns: {"ok", "seq", "before", "after"} | {"error": "no_entry"}
local day, now_ms, entry, by = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local before = redis.call('HGET', KEYS[3], day)
if entry == '' then
  if not before then
    return fail('no_entry', 'there is no schedule entry for ' .. day)
  end
  redis.call('HDEL', KEYS[3], day)
else
  redis.call('HSET', KEYS[3], day, entry)
end
local before_obj = cjson.null
if before then before_obj = cjson.decode(before) end
local after_obj = cjson.null
if entry ~= '' then after_obj = cjson.decode(entry) end
local seq = emit('schedule_changed', now_ms, {day = day, before = before_obj, after = after_obj, by = by})
return ok({seq = seq, before = before_obj, after = after_obj})
