-- recall.lua — announce the window's current ticket again.
-- KEYS: 1 seq, 2 events, 3 tickets(day), 4 window, 5 recent calls
-- ARGV: 1 window number, 2 now_ms, 3 clerk id, 4 recent-calls length
-- Returns: {"ok", "ticket", "seq"} | {"error": "nothing_to_recall"}
local window, now_ms, clerk = ARGV[1], ARGV[2], ARGV[3]
local t = current_ticket(KEYS[4], KEYS[3])
if not t then
  return fail('nothing_to_recall', 'the window has no called ticket to recall')
end
t.calls = (t.calls or 1) + 1
save_ticket(KEYS[3], t)
push_recent(KEYS[5], t, window, 'recall', now_ms, ARGV[4])
local seq = emit('ticket_recalled', now_ms, {ticket = t, window = tonumber(window), clerk = clerk})
return ok({ticket = t, seq = seq})
