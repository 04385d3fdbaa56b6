-- assist.lua — a guide (导办) or the supervisor marks a waiting or called ticket as helped (帮办代办): the ticket's
-- field "assisted" {by, at_ms, note} is set once; the counter shows it and statistics count it (ticket_assisted).
-- KEYS: 1 seq, 2 events, 3 tickets(day)
-- ARGV: 1 ticket id (YYYYMMDD-A012), 2 now_ms, 3 who (staff id), 4 note ('' = none)
-- Returns: {"ok", "ticket", "seq", "changed": true} | {"ok", "ticket", "changed": false} (already assisted: nothing
--          happens again) | {"error": "not_found" | "not_assistable"}
local id, now_ms, by, note = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local t = load_ticket(KEYS[3], id)
if not t then
  return fail('not_found', 'no ticket ' .. id .. ' today')
end
if type(t.assisted) == 'table' then
  return ok({ticket = t, changed = false})
end
if t.status ~= 'waiting' and t.status ~= 'called' then
  return fail('not_assistable', 'ticket ' .. t.number .. ' is ' .. t.status .. ': only a waiting or called ticket can be marked')
end
t.assisted = {by = by, at_ms = now_ms, note = note}
save_ticket(KEYS[3], t)
local seq = emit('ticket_assisted', now_ms, {ticket = t, by = by, note = note})
return ok({ticket = t, seq = seq, changed = true})
