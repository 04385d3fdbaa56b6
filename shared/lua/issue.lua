-- issue.lua — issue one ticket: calendar check, quota check, next number of the day, enqueue.
-- (A resent issue — the same request_id, Idempotency-Key or a redis-py resend — is answered by the runner's
-- epilogue with the first answer, even after closing time; see shared/runner.py.)
-- KEYS: 1 seq, 2 events, 3 counter(day, service), 4 queue(day, service), 5 tickets(day), 6 tokens(day),
--       7 service times, 8 schedule (the supervisor's calendar entries)
-- ARGV: 1 day (YYYYMMDD), 2 service code, 3 prefix letter, 4 daily quota, 5 priority (0|1), 6 now_ms,
--       7 random token part, 8 lang, 9 kiosk id ('' = api), 10 '1' if opening hours allow issuing now,
--       11 today's date (YYYY-MM-DD), 12 today's calendar entry as Python read it ('' = none), 13 seconds to keep
--       the day's tickets and tracking tokens (a visit can be rated, and given its 追评, that long)
-- Returns: {"ok", "ticket", "seq", "ahead", "service_ms"} | {"error": "service_closed" | "quota_reached" | "retry"}
--   (ahead and service_ms let the caller estimate the wait without another round trip; retry: today's calendar
--   entry changed since ARGV 10 was computed from it — Python computes it again)
-- Queue score: band * 1e13 + time, band 0 = transferred in (head), 1 = priority, 2 = normal.
local day, service, prefix = ARGV[1], ARGV[2], ARGV[3]
local quota, priority, now_ms = tonumber(ARGV[4]), ARGV[5] == '1', tonumber(ARGV[6])

if (redis.call('HGET', KEYS[8], ARGV[11]) or '') ~= ARGV[12] then
  return retry('today\'s calendar entry changed')
end
if ARGV[10] ~= '1' then
  return fail('service_closed', 'the service is not issuing tickets now')
end

local issued = tonumber(redis.call('GET', KEYS[3]) or '0')
if issued >= quota then
  return fail('quota_reached', 'today\'s quota of ' .. quota .. ' tickets for this service has been reached')
end
local n = redis.call('INCR', KEYS[3])
redis.call('EXPIRE', KEYS[3], 3 * 86400)

local number = prefix .. string.format('%03d', n)
local t = {
  id = day .. '-' .. number, number = number, service = service, day = day, status = 'waiting',
  priority = priority, issued_ms = now_ms, lang = ARGV[8], token = day .. ARGV[7], calls = 0, transfers = 0,
  kiosk = ARGV[9],
}
save_ticket(KEYS[5], t)
redis.call('EXPIRE', KEYS[5], tonumber(ARGV[13]))
redis.call('HSET', KEYS[6], t.token, t.id)
redis.call('EXPIRE', KEYS[6], tonumber(ARGV[13]))

local band = 2
if priority then band = 1 end
redis.call('ZADD', KEYS[4], band * 1e13 + now_ms, t.id)
redis.call('EXPIRE', KEYS[4], 3 * 86400)

local ahead = redis.call('ZRANK', KEYS[4], t.id)
local seq = emit('ticket_issued', now_ms, {ticket = t, ahead = ahead})
return ok({ticket = t, seq = seq, ahead = ahead,
  service_ms = tonumber(redis.call('HGET', KEYS[7], service) or '0')})
