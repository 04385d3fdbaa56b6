-- print_claim.lua — whether a kiosk prints a ticket now: one paper ticket per ticket, decided here from the ticket's
-- print record as it is now (never from a value Python read earlier). A request sent again after its answer was
-- lost (a 503 replication_timeout, a dropped connection, a worker killed before it printed) finds no record and
-- prints; two copies of one request at once: the first claims, the other is told a print is under way; a ticket
-- printed once is never printed again. A failed print gives its claim back, so the next resend prints; a claim
-- whose outcome never came (the worker died while printing) stands only until its lease ends.
-- The record is the printer's bookkeeping, not the ticket: lost at a failover it costs at most a second paper copy
-- of a resent request, so the call does not wait for replicas. Every copy of one call writes the same (the claim
-- names its own token and time; 'printed' and 'failed' settle that token's claim), so it is run as it is, without
-- an operation key of its own.
-- onewindow: repeatable
-- KEYS: 1 seq, 2 events, 3 print records of the ticket's business day (hash: ticket id → 'printed' |
--       'claim:<token>:<until ms>')
-- ARGV: 1 ticket id, 2 action: 'claim' (may this call print?) | 'printed' (the paper came out) | 'failed' (it did
--       not: give the claim back), 3 the claim token (random per print attempt), 4 now_ms, 5 lease ms (how long a
--       claim stands without an outcome), 6 seconds to keep the day's records, 7 '1' = a reprint asked for (a new
--       check-in of a ticket already handed out): claimed even when printed, never while another attempt prints
-- Returns: {"ok", "claimed": bool (claim: this call prints now), "state": "printed" | "printing" | "free"
--          (the record after the call)}
local id, action, token, now_ms = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])

local raw = redis.call('HGET', KEYS[3], id)
local holder, until_ms = nil, 0
if raw and string.sub(raw, 1, 6) == 'claim:' then
  local sep = string.find(raw, ':', 7, true)
  holder, until_ms = string.sub(raw, 7, sep - 1), tonumber(string.sub(raw, sep + 1)) or 0
end

local function keep()
  redis.call('EXPIRE', KEYS[3], tonumber(ARGV[6]))
end

if action == 'claim' then
  if raw == 'printed' and ARGV[7] ~= '1' then
    return ok({claimed = false, state = 'printed'})
  end
  if holder and holder ~= token and until_ms > now_ms then
    return ok({claimed = false, state = 'printing'})
  end
  redis.call('HSET', KEYS[3], id, 'claim:' .. token .. ':' .. (now_ms + tonumber(ARGV[5])))
  keep()
  return ok({claimed = true, state = 'printing'})
elseif action == 'printed' then
  -- whoever holds the claim now: a ticket came out of the printer, it is printed
  redis.call('HSET', KEYS[3], id, 'printed')
  keep()
  return ok({claimed = false, state = 'printed'})
elseif action == 'failed' then
  if holder == token then
    redis.call('HDEL', KEYS[3], id)
    return ok({claimed = false, state = 'free'})
  end
  -- another attempt took the claim over (this one outlived its lease), or it printed: theirs to settle
  local state = 'free'
  if raw == 'printed' then state = 'printed' elseif holder then state = 'printing' end
  return ok({claimed = false, state = state})
end
return fail('invalid_request', 'unknown print claim action ' .. tostring(action))
