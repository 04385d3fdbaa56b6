-- undo_no_show.lua — the window that marked a ticket no-show (过号) takes it back within the allowed time: the ticket
-- waits again in the place it had in its queue (same band, same score: original order), and no_show_undone tells
-- screens and statistics. Decided here from the ticket as it is now: still no_show, marked by this window, within
-- the time — and only the mark it carries now (a ticket that was changed since has no such mark).
-- A real-name ticket is its ID's open ticket again, and its no-show no longer counts towards the ID's no-show ban.
-- onewindow: uses idrules
-- KEYS: 1 seq, 2 events, 3 tickets(day), 4.. queue(day, service) for each service, then window_queue(day, n) for
--       each window (in the order of ARGV 6..), then id_day(day) and the id history (the last two)
-- ARGV: 1 window number, 2 now_ms, 3 clerk id, 4 ticket id, 5 undo time (ms), 6 number of services S,
--       7 .. 6+S service codes, 7+S .. window numbers
-- Returns: {"ok", "ticket", "seq", "ahead"} | {"error": "not_found" | "not_no_show" | "wrong_window" | "undo_expired"}
local window, now_ms, clerk, id = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4]
local undo_ms, nservices = tonumber(ARGV[5]), tonumber(ARGV[6])
local t = load_ticket(KEYS[3], id)
if not t then
  return fail('not_found', 'no ticket ' .. id .. ' today')
end
if t.status ~= 'no_show' or type(t.no_show) ~= 'table' then
  return fail('not_no_show', 'ticket ' .. t.number .. ' is ' .. t.status .. ', not marked no-show')
end
if tonumber(t.no_show.window) ~= window then
  return fail('wrong_window', 'ticket ' .. t.number .. ' was marked no-show at window ' .. tostring(t.no_show.window))
end
if now_ms - tonumber(t.no_show.ms) > undo_ms then
  return fail('undo_expired', 'the time to undo the no-show of ticket ' .. t.number .. ' has passed')
end

local place = type(t.place) == 'table' and t.place or {}
local target_window = tonumber(place.window)
local queue
if target_window then
  for i = 1, #ARGV - 6 - nservices do  -- (the window queues; the last two KEYS are the ID's)
    if tonumber(ARGV[6 + nservices + i]) == target_window then queue = KEYS[3 + nservices + i] end
  end
else
  for i = 1, nservices do
    if ARGV[6 + i] == t.service then queue = KEYS[3 + i] end
  end
end
if not queue then
  return fail('not_found', 'the queue of ticket ' .. t.number .. ' is not known')
end
local score = place.score
if not score then  -- called before places were remembered: its band, in issue order
  local band = 2
  if t.priority then band = 1 end
  if (tonumber(t.transfers) or 0) > 0 then band = 0 end
  score = band * 1e13 + tonumber(t.issued_ms)
end

local marked = t.no_show
t.status = 'waiting'
t.no_show = nil
t.window = nil
t.called_ms = nil
t.finished_ms = nil
t.clerk = nil
t.target_window = target_window
t.no_show_undone = {window = window, ms = now_ms, clerk = clerk}
save_ticket(KEYS[3], t)
if t.idh and t.idh ~= '' then
  local id_day_key, id_hist_key = KEYS[#KEYS - 1], KEYS[#KEYS]
  redis.call('HINCRBY', id_day_key, id_field(t.idh, t.idsvc or t.service, 'o'), 1)
  local kept, dropped = {}, false
  for _, ms in ipairs(id_noshows(id_hist_key, t.idh)) do
    if not dropped and tonumber(ms) == tonumber(marked.ms) then dropped = true else table.insert(kept, ms) end
  end
  if dropped and #kept == 0 then
    redis.call('HDEL', id_hist_key, t.idh)
  elseif dropped then
    redis.call('HSET', id_hist_key, t.idh, cjson.encode({ns = kept}))
  end
end
redis.call('ZADD', queue, score, t.id)
redis.call('EXPIRE', queue, 3 * 86400)
local ahead = redis.call('ZRANK', queue, t.id)
local seq = emit('no_show_undone', now_ms, {ticket = t, window = window, clerk = clerk, no_show_ms = marked.ms,
  ahead = ahead})
return ok({ticket = t, seq = seq, ahead = ahead})
