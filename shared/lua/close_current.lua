-- close_current.lua — end the window's current ticket: finished (办件 / 咨询) or marked no-show.
-- KEYS: 1 seq, 2 events, 3 tickets(day), 4 window, 5 service times
-- ARGV: 1 window number, 2 now_ms, 3 clerk id, 4 action: 'finish' | 'no_show', 5 outcome: 'handled' | 'consulted' | ''
-- Returns: {"ok", "ticket", "seq"} | {"error": "nothing_to_finish"}
local window, now_ms, clerk, action = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local t = current_ticket(KEYS[4], KEYS[3])
if not t then
  return fail('nothing_to_finish', 'the window has no called ticket')
end
t.finished_ms = now_ms
local event_type
if action == 'finish' then
  t.status = 'done'
  t.outcome = ARGV[5]
  event_type = 'ticket_finished'
  local took = now_ms - tonumber(t.called_ms)
  if took > 0 then
    local avg = tonumber(redis.call('HGET', KEYS[5], t.service) or took)
    redis.call('HSET', KEYS[5], t.service, math.floor(avg * 0.8 + took * 0.2))
  end
  redis.call('HSET', KEYS[4], 'last_finished', t.id, 'last_finished_ms', now_ms)
else
  t.status = 'no_show'
  event_type = 'ticket_marked_no_show'
end
save_ticket(KEYS[3], t)
redis.call('HDEL', KEYS[4], 'current')
local seq = emit(event_type, now_ms, {ticket = t, window = tonumber(window), clerk = clerk,
  wait_ms = tonumber(t.called_ms) - tonumber(t.issued_ms), service_ms = now_ms - tonumber(t.called_ms)})
return ok({ticket = t, seq = seq})
