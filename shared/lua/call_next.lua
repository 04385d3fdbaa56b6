-- call_next.lua — a window calls its next ticket.
-- onewindow: uses ticket, outbox, notify, idrules
-- KEYS: 1 seq, 2 events, 3 tickets(day), 4 window, 5 recent calls, 6 window_queue(day, window),
--       7 remote_pending(day), 8 id_day(day), 9 id history, 10 id history seen, 11 contacts(day),
--       12 notify outbox entries, 13 notify outbox partitions, 14 .. 13+P notify queue of partition 0 .. P-1,
--       then queue(day, service) for each service of the window, in the window's priority order
-- ARGV: 1 window number, 2 now_ms, 3 clerk id, 4 recent-calls length,
--       5 settings JSON {parts = P, kinds = [notification kinds sent], keep_ms = how long no-shows are kept}
-- Returns: {"ok", "ticket", "seq", "expired": [ticket ids]} | {"error": "window_paused" | "window_busy" | "queue_empty"}
-- Rule: tickets transferred to this window first; then by band (0 transferred-in to the service, 1 绿色通道,
-- 2 appointment, 3 walk-in — see _ticket.lua); within a band, the window's service order; within a service, the
-- lowest score. An appointment whose slot has not started yet gives way to the service's first walk-in (taken when
-- nobody else waits); a remote ticket not yet arrived when it would be called expires and the choice is made again.
local window, now_ms, clerk = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local settings = cjson.decode(ARGV[5])
local parts = tonumber(settings.parts)
local nk = notify_keys(settings, 12, 14)
local first_queue = 14 + parts
local EARLY = 9  -- an early appointment competes after every real band

local refused = refuse_call(KEYS[4], KEYS[3])
if refused then return refused end

-- the candidate of one service queue: its head, unless that is an appointment whose slot has not started
local function candidate(key)
  local h = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  if not h[1] then return nil end
  local score = tonumber(h[2])
  local band = math.floor(score / BAND)
  if band == BAND_APPOINTMENT and score - band * BAND > now_ms then
    local later = redis.call('ZRANGEBYSCORE', key, BAND_WALK_IN * BAND, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
    if later[1] then return later[1], BAND_WALK_IN end
    return h[1], EARLY
  end
  return h[1], band
end

-- a remote ticket whose holder had not checked in when its turn came: it lapses (a no-show of its ID)
local expired = {}
local function expire(key, id)
  redis.call('ZREM', key, id)
  redis.call('SREM', KEYS[7], id)
  local t = load_ticket(KEYS[3], id)
  if not t then return end
  t.status = 'expired'
  t.finished_ms = now_ms
  save_ticket(KEYS[3], t)
  id_closed(KEYS[8], t)
  id_noshow(KEYS[9], KEYS[10], t.idh, now_ms, settings.keep_ms)
  local contact = redis.call('HGET', KEYS[11], t.id)
  if contact then
    notify_put(nk, 'no_show', t.id, cjson.decode(contact), {ticket = t.id, number = t.number, service = t.service,
      reason = 'not_arrived'}, now_ms)
  end
  emit('ticket_expired', now_ms, {ticket = t, reason = 'not_arrived', window = tonumber(window)})
  table.insert(expired, id)
end

local best_key, best_id
while true do
  best_key, best_id = nil, nil
  local head = redis.call('ZRANGE', KEYS[6], 0, 0)
  if head[1] then
    best_key, best_id = KEYS[6], head[1]
  else
    local best_band, best_idx
    for i = first_queue, #KEYS do
      local id, band = candidate(KEYS[i])
      if id and (not best_id or band < best_band or (band == best_band and i < best_idx)) then
        best_key, best_id, best_band, best_idx = KEYS[i], id, band, i
      end
    end
  end
  if not best_id or redis.call('SISMEMBER', KEYS[7], best_id) == 0 then break end
  expire(best_key, best_id)
end
if not best_id then
  return fail_with('queue_empty', 'no ticket is waiting for this window', {expired = #expired})
end

local t = load_ticket(KEYS[3], best_id)
remember_place(t, best_key)
redis.call('ZREM', best_key, best_id)
mark_called(KEYS[3], KEYS[4], KEYS[5], t, window, now_ms, clerk, ARGV[4])
notify_called(nk, KEYS[11], t, window, now_ms)
local seq = emit('ticket_called', now_ms, {ticket = t, window = tonumber(window), clerk = clerk})
return ok({ticket = t, seq = seq, expired = expired})
