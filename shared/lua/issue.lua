-- issue.lua — issue one ticket: a walk-in at the kiosk (optionally real-name: the card or a typed ID number) or a
-- remote ticket taken on the phone (always real-name; waits "not yet arrived" until its holder checks in at the
-- kiosk — see check_in.lua, and call_next.lua for what happens when its turn comes first). Calendar, quota, the
-- per-ID rules and the automatic 绿色通道 by age are all decided here, from the state as it is now.
-- (A resent issue — the same request_id, Idempotency-Key or a redis-py resend — is answered by the runner's
-- epilogue with the first answer, even after closing time; see shared/runner.py.)
-- onewindow: uses ticket, idrules, limit
-- KEYS: 1 seq, 2 events, 3 counter(day, service), 4 queue(day, service), 5 tickets(day), 6 tokens(day),
--       7 service times, 8 schedule (the supervisor's calendar entries), 9 id_day(day), 10 id history,
--       11 remote_pending(day), 12 remote_index(day), 13 remote_counter(day, service), 14 contacts(day),
--       15 service_pace(day), then for each window serving the service (ascending): window, window_holder;
--       then, for a public ticket (ARGV 21): the address's issue bucket and its day count (shared/limits.py)
-- ARGV: 1 day (YYYYMMDD), 2 service code, 3 prefix letter, 4 daily quota, 5 priority (0|1), 6 now_ms,
--       7 random token part, 8 lang, 9 kiosk id ('' = api), 10 '1' if opening hours allow issuing now,
--       11 today's date (YYYY-MM-DD), 12 today's calendar entry as Python read it ('' = none), 13 seconds to keep
--       the day's tickets and tracking tokens (a visit can be rated, and given its 追评, that long),
--       14 id hash ('' = not real-name), 15 the service's per-ID rules JSON, 16 age in years ('' = unknown),
--       17 '1' = a remote ticket, 18 remote tickets allowed per day (0 = no own quota), 19 contact JSON ('' = none),
--       20 number of windows serving the service (their keys follow KEYS[15]), 21 '1' = a public ticket, limited
--       per address: 22 burst, 23 refill per ms (tokens), 24 daily cap, 25 day count ttl ms, 26 ms until the next
--       business day (a refusal for now is not stored: the same request sent later is decided again)
-- Returns: {"ok", "ticket", "seq", "ahead", "service_ms", "pace": {"<service>:n", "<service>:ms"},
--           "windows": [{"paused": bool, "held": bool} per window serving the service]}
--   | {"error": "service_closed" | "quota_reached" | "remote_quota_reached" | "id_open_limit" | "id_daily_cap"
--      | "id_banned" | "retry" | "rate_limited" (details: reason burst | daily_cap, retry_ms), "details"?}
--   (a public ticket spends the address's bucket token once the calendar is current, whatever the answer, and
--   counts in its day only when a ticket is issued — as public_limit.lua's take and refund did)
--   (ahead, pace and windows are what shared/estimates.py needs for this ticket's wait, read in this same step:
--   the caller estimates it without another round trip — wait_estimates.lua reads them for the whole hall; retry:
--   today's calendar
--   entry changed since ARGV 10 was computed from it — Python computes it again)
local day, service, prefix = ARGV[1], ARGV[2], ARGV[3]
local quota, priority, now_ms = tonumber(ARGV[4]), ARGV[5] == '1', tonumber(ARGV[6])
local h, rules, age, remote = ARGV[14], cjson.decode(ARGV[15]), ARGV[16], ARGV[17] == '1'

if (redis.call('HGET', KEYS[8], ARGV[11]) or '') ~= ARGV[12] then
  return retry('today\'s calendar entry changed')
end
local limit = nil
if ARGV[21] == '1' then
  local at = 16 + 2 * tonumber(ARGV[20])
  limit = {bucket = KEYS[at], day = KEYS[at + 1], burst = tonumber(ARGV[22]), rate = tonumber(ARGV[23])}
  local refusal, tokens = limit_check(limit.bucket, limit.day, now_ms, limit.burst, limit.rate, tonumber(ARGV[24]),
    tonumber(ARGV[26]))
  if refusal then
    return refuse_for_now('rate_limited', 'too many tickets from this address', refusal)
  end
  limit_spend(limit.bucket, tokens, now_ms, limit.burst, limit.rate)
end
if ARGV[10] ~= '1' then
  return fail('service_closed', 'the service is not issuing tickets now')
end

local issued = tonumber(redis.call('GET', KEYS[3]) or '0')
if issued >= quota then
  return fail('quota_reached', 'today\'s quota of ' .. quota .. ' tickets for this service has been reached')
end
local remote_quota = tonumber(ARGV[18])
if remote and remote_quota > 0 and tonumber(redis.call('GET', KEYS[13]) or '0') >= remote_quota then
  return fail_with('remote_quota_reached', 'today\'s ' .. remote_quota .. ' remote tickets for this service are taken',
    {limit = remote_quota})
end
if h ~= '' then
  local refusal = id_ticket_refusal(KEYS[9], h, service, rules)
  if refusal then return fail_with(refusal[1], refusal[2], refusal[3]) end
  if remote then
    local until_ms = id_banned_until(KEYS[10], h, rules, now_ms)
    if until_ms > 0 then
      return fail_with('id_banned', 'this ID may take no remote ticket until ' .. until_ms, {until_ms = until_ms})
    end
  end
end

local extra = {}
local band = BAND_WALK_IN
if priority then band = BAND_PRIORITY end
if h ~= '' then
  extra.idh, extra.idsvc, extra.realname = h, service, true
  if id_green(rules, age) then
    band = BAND_PRIORITY
    if not priority then extra.green = 'age' end
  end
end
if remote then extra.remote, extra.arrived = true, false end
local t = make_ticket({counter = KEYS[3], queue = KEYS[4], tickets = KEYS[5], tokens = KEYS[6]}, day, service, prefix,
  now_ms, ARGV[7], ARGV[8], ARGV[9], ARGV[13], band, now_ms, extra)
if h ~= '' then id_took(KEYS[9], h, service) end
if limit then limit_count(limit.day, tonumber(ARGV[25])) end
if remote then
  redis.call('INCR', KEYS[13])
  redis.call('EXPIRE', KEYS[13], 3 * 86400)
  redis.call('SADD', KEYS[11], t.id)
  redis.call('EXPIRE', KEYS[11], 3 * 86400)
  redis.call('HSET', KEYS[12], h .. ':' .. service, t.id)
  redis.call('EXPIRE', KEYS[12], 3 * 86400)
end
if ARGV[19] ~= '' then
  redis.call('HSET', KEYS[14], t.id, ARGV[19])
  redis.call('EXPIRE', KEYS[14], 3 * 86400)
end

local ahead = redis.call('ZRANK', KEYS[4], t.id)
local seq = emit('ticket_issued', now_ms, {ticket = t, ahead = ahead})
local pace = redis.call('HMGET', KEYS[15], service .. ':n', service .. ':ms')
local windows = {}
for i = 0, tonumber(ARGV[20]) - 1 do
  windows[#windows + 1] = {paused = redis.call('HGET', KEYS[16 + 2 * i], 'paused') == '1',
    held = redis.call('EXISTS', KEYS[17 + 2 * i]) == 1}
end
return ok({ticket = t, seq = seq, ahead = ahead, service_ms = tonumber(redis.call('HGET', KEYS[7], service) or '0'),
  pace = {[service .. ':n'] = pace[1] or '0', [service .. ':ms'] = pace[2] or '0'}, windows = windows})
