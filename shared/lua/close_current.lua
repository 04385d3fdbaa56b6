-- close_current.lua — end the window's current ticket: finished (办件 / 咨询) or marked no-show. A finished ticket is a
-- visit to rate (好差评): it carries the 事项 the clerk picked (the service's first when none was picked) and the
-- 办件编号 if given, and joins the visits waiting for a rating (the default-rating job's list).
-- A real-name ticket's end frees one of its ID's open tickets; a no-show is also recorded in the ID's history (the
-- no-show ban) and told to the holder when the ticket has a contact.
-- onewindow: uses outbox, notify, idrules
-- KEYS: 1 seq, 2 events, 3 tickets(day), 4 window, 5 service times, 6 unrated visits,
--       7 remote_pending(day), 8 id_day(day), 9 id history, 10 id history seen, 11 contacts(day),
--       12 notify outbox entries, 13 notify outbox partitions, 14 .. notify queue of each partition, last: service_pace(day) (today's finishes and their
--       summed service time per service: the day's own pace for wait estimates, shared/estimates.py)
-- ARGV: 1 window number, 2 now_ms, 3 clerk id, 4 action: 'finish' | 'no_show', 5 outcome: 'handled' | 'consulted' | '',
--       6 matters JSON {service code: [[code, name], …]}, 7 the matter code picked ('' = the service's first),
--       8 办件编号 ('' = none), 9 settings JSON (as call_next.lua), 10 the calls a ticket needs before it may be
--       marked no-show ([counter] min_calls_before_no_show)
-- Returns: {"ok", "ticket", "seq"} | {"error": "nothing_to_finish" | "unknown_matter" | "too_few_calls"}
-- A 过号 remembers who marked it and when (t.no_show), so that the same window may undo it (undo_no_show.lua).
local window, now_ms, clerk, action = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local t = current_ticket(KEYS[4], KEYS[3])
if not t then
  return fail('nothing_to_finish', 'the window has no called ticket')
end
local event_type
if action == 'finish' then
  local matters = cjson.decode(ARGV[6])[t.service]
  if type(matters) ~= 'table' then matters = {} end
  local picked = nil
  for _, m in ipairs(matters) do
    if (ARGV[7] == '' and picked == nil) or m[1] == ARGV[7] then picked = {code = m[1], name = m[2]} end
  end
  if ARGV[7] ~= '' and picked == nil then
    return fail('unknown_matter', 'matter ' .. ARGV[7] .. ' is not one of the matters of ' .. t.service)
  end
  t.matter = picked
  if ARGV[8] ~= '' then t.case_no = ARGV[8] end
  t.status = 'done'
  t.outcome = ARGV[5]
  event_type = 'ticket_finished'
  local took = now_ms - tonumber(t.called_ms)
  if took > 0 then
    local avg = tonumber(redis.call('HGET', KEYS[5], t.service) or took)
    redis.call('HSET', KEYS[5], t.service, math.floor(avg * 0.8 + took * 0.2))
    local pace = KEYS[#KEYS]  -- the last key: service_pace(day)
    redis.call('HINCRBY', pace, t.service .. ':n', 1)
    redis.call('HINCRBY', pace, t.service .. ':ms', took)
    redis.call('EXPIRE', pace, 172800)
  end
  redis.call('HSET', KEYS[4], 'last_finished', t.id, 'last_finished_ms', now_ms)
  redis.call('ZADD', KEYS[6], now_ms, t.id)
else
  local needed = tonumber(ARGV[10]) or 1
  if (tonumber(t.calls) or 1) < needed then
    return fail('too_few_calls', 'ticket ' .. t.number .. ' was called ' .. (t.calls or 1) .. ' time(s); call it ' ..
      needed .. ' times before marking it no-show')
  end
  t.status = 'no_show'
  t.no_show = {window = tonumber(window), ms = now_ms, clerk = clerk}
  event_type = 'ticket_marked_no_show'
  local settings = cjson.decode(ARGV[9])
  id_noshow(KEYS[9], KEYS[10], t.idh, now_ms, settings.keep_ms)
  local contact = redis.call('HGET', KEYS[11], t.id)
  if contact then
    notify_put(notify_keys(settings, 12, 14), 'no_show', t.id, cjson.decode(contact), {ticket = t.id,
      number = t.number, service = t.service, reason = 'no_show', window = tonumber(window)}, now_ms)
  end
end
id_closed(KEYS[8], t)
t.finished_ms = now_ms
save_ticket(KEYS[3], t)
redis.call('HDEL', KEYS[4], 'current')
local seq = emit(event_type, now_ms, {ticket = t, window = tonumber(window), clerk = clerk,
  wait_ms = tonumber(t.called_ms) - tonumber(t.issued_ms), service_ms = now_ms - tonumber(t.called_ms)})
return ok({ticket = t, seq = seq})
