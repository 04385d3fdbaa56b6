-- Library (a script's header says "-- onewindow: uses ticket"): number a new ticket of the day and put it in its queue
-- — issuing at the kiosk, a remote ticket and a check-in all make tickets this way.
-- Queue score: band * 1e13 + a time (ms). Bands, best first: 0 transferred in (head), 1 绿色通道, 2 appointment
-- (time = its slot's start: appointments in slot order), 3 walk-in (time = when it was taken). call_next.lua reads
-- the band back with math.floor(score / 1e13).
local BAND = 1e13
local BAND_PRIORITY, BAND_APPOINTMENT, BAND_WALK_IN = 1, 2, 3

-- k = {counter, queue, tickets, tokens}; returns the ticket (saved, and waiting in its queue)
local function make_ticket(k, day, service, prefix, now_ms, token_part, lang, kiosk, keep_s, band, wait_from_ms, extra)
  local n = redis.call('INCR', k.counter)
  redis.call('EXPIRE', k.counter, 3 * 86400)
  local number = prefix .. string.format('%03d', n)
  local t = {
    id = day .. '-' .. number, number = number, service = service, day = day, status = 'waiting',
    priority = band == BAND_PRIORITY, issued_ms = tonumber(now_ms), lang = lang, token = day .. token_part, calls = 0,
    transfers = 0, kiosk = kiosk,
  }
  for key, value in pairs(extra or {}) do t[key] = value end
  save_ticket(k.tickets, t)
  redis.call('EXPIRE', k.tickets, tonumber(keep_s))
  redis.call('HSET', k.tokens, t.token, t.id)
  redis.call('EXPIRE', k.tokens, tonumber(keep_s))
  redis.call('ZADD', k.queue, band * BAND + tonumber(wait_from_ms), t.id)
  redis.call('EXPIRE', k.queue, 3 * 86400)
  return t
end
