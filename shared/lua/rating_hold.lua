-- rating_hold.lua — the citizen at a window's evaluation tablet has chosen a level and is now saying why (content
-- options, free text, a call-back phone): hold the rating open for the detail time, so that the reason typed is not
-- lost when the window's rating time runs out meanwhile. Only the ticket just finished at the window, unrated, within
-- the rating time (or within a hold already given to it) can be held; a hold is given once and never extended.
-- KEYS: 1 seq, 2 events, 3 the window (hash: last_finished, last_finished_ms, rating_hold, rating_hold_until_ms),
--       4 tickets(day)
-- ARGV: 1 window number, 2 now_ms, 3 ticket id, 4 rating time (ms), 5 detail time (ms)
-- Returns: {"ok", "until_ms"} | {"error": "not_last_finished" | "not_found" | "already_rated" | "rating_closed"}
local window, now_ms, id = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local rating_ms, detail_ms = tonumber(ARGV[4]), tonumber(ARGV[5])

local w = redis.call('HMGET', KEYS[3], 'last_finished', 'last_finished_ms', 'rating_hold', 'rating_hold_until_ms')
if w[1] ~= id then
  return fail('not_last_finished', 'only the ticket just finished at window ' .. window .. ' can be rated')
end
local t = load_ticket(KEYS[4], id)
if not t then return fail('not_found', 'no such visit') end
if t.rating then return fail('already_rated', 'ticket ' .. t.number .. ' has already been rated (一次一评)') end
if w[3] == id then
  local until_ms = tonumber(w[4] or '0')
  if now_ms <= until_ms then return ok({until_ms = until_ms}) end
  return fail('rating_closed', 'the time to rate ticket ' .. t.number .. ' at the window has passed')
end
if now_ms - tonumber(w[2] or '0') > rating_ms then
  return fail('rating_closed', 'the time to rate ticket ' .. t.number .. ' at the window has passed')
end
local until_ms = now_ms + detail_ms
redis.call('HSET', KEYS[3], 'rating_hold', id, 'rating_hold_until_ms', until_ms)
return ok({until_ms = until_ms})
