-- rate_ticket.lua — a citizen's rating (好差评) of the ticket just finished at a window: only that ticket, only
-- within the rating time, once; from the window's tablet, or from the ticket holder's phone proven by its
-- tracking token.
-- KEYS: 1 seq, 2 events, 3 window, 4 tickets(day of the rated ticket), 5 tokens(day of the rated ticket)
-- ARGV: 1 window number, 2 now_ms, 3 ticket id, 4 level 1..5, 5 label, 6 rating time ms,
--       7 highest level flagged for follow-up (不满意 = 2), 8 the holder's tracking token ('' = the window's tablet)
-- Returns: {"ok", "ticket", "follow_up", "seq"}
--          | {"error": "wrong_token" | "already_rated" | "not_last_finished" | "rating_closed"}
local window, now_ms, id, level = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
if ARGV[8] ~= '' and redis.call('HGET', KEYS[5], ARGV[8]) ~= id then
  return fail('wrong_token', 'this tracking token does not belong to the ticket being rated')
end
local t = load_ticket(KEYS[4], id)
if t and t.rating then
  return fail('already_rated', 'ticket ' .. t.number .. ' has already been rated')
end
local last = redis.call('HGET', KEYS[3], 'last_finished')
if not t or not last or last ~= id then
  return fail('not_last_finished', 'only the ticket just finished at window ' .. window .. ' can be rated')
end
local last_ms = tonumber(redis.call('HGET', KEYS[3], 'last_finished_ms') or '0')
if now_ms - last_ms > tonumber(ARGV[6]) then
  return fail('rating_closed', 'the time to rate ticket ' .. t.number .. ' has passed')
end
t.rating = level
t.rated_ms = now_ms
save_ticket(KEYS[4], t)
local follow_up = level <= tonumber(ARGV[7])
local seq = emit('ticket_rated', now_ms, {ticket = t, window = window, level = level, label = ARGV[5],
  follow_up = follow_up, clerk = t.clerk, by = (ARGV[8] ~= '' and 'phone' or 'tablet')})
return ok({ticket = t, follow_up = follow_up, seq = seq})
