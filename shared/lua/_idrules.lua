-- Library (a script's header says "-- onewindow: uses idrules"): the per-ID rules of real-name tickets, by the keyed
-- hash of an ID number (docs/realname.md). rules = {max_open, daily_cap, noshow_limit, noshow_ms, ban_ms, green_age}
-- of one service (0 = that rule is off); the counts live in id_day(day), the no-show histories in id_history.

local function id_field(h, service, what)
  return h .. ':' .. service .. ':' .. what
end

-- {code, message, details} when a new ticket for ID h at service would break a rule; nil when it may be taken
local function id_ticket_refusal(day_key, h, service, rules)
  local max_open, cap = tonumber(rules.max_open) or 0, tonumber(rules.daily_cap) or 0
  if max_open > 0 then
    local open = tonumber(redis.call('HGET', day_key, id_field(h, service, 'o')) or '0')
    if open >= max_open then
      return {'id_open_limit', 'this ID already holds ' .. open .. ' open ticket(s) for this service',
        {open = open, limit = max_open}}
    end
  end
  if cap > 0 then
    local taken = tonumber(redis.call('HGET', day_key, id_field(h, service, 'n')) or '0')
    if taken >= cap then
      return {'id_daily_cap', 'this ID has taken ' .. taken .. ' ticket(s) for this service today', {taken = taken, limit = cap}}
    end
  end
  return nil
end

-- a ticket for ID h was made: one more open, one more taken today
local function id_took(day_key, h, service)
  redis.call('HINCRBY', day_key, id_field(h, service, 'o'), 1)
  redis.call('HINCRBY', day_key, id_field(h, service, 'n'), 1)
  redis.call('EXPIRE', day_key, 3 * 86400)
end

-- a real-name ticket ended (done, no-show, cancelled, lapsed): one open ticket fewer
local function id_closed(day_key, t)
  if not t.idh or t.idh == '' then return end
  local f = id_field(t.idh, t.idsvc or t.service, 'o')
  if tonumber(redis.call('HINCRBY', day_key, f, -1)) < 0 then redis.call('HSET', day_key, f, 0) end
end

local function id_noshows(hist_key, h)
  local raw = redis.call('HGET', hist_key, h)
  if not raw then return {} end
  local ns = cjson.decode(raw).ns
  if type(ns) ~= 'table' then return {} end
  return ns
end

-- until when (ms) ID h may take no remote ticket or booking under rules: K no-shows within M days bar it for D days
-- from the K-th; 0 = not barred now
local function id_banned_until(hist_key, h, rules, now_ms)
  local k = tonumber(rules.noshow_limit) or 0
  if k <= 0 then return 0 end
  local times = id_noshows(hist_key, h)
  table.sort(times)
  local until_ms = 0
  for i = k, #times do
    if times[i] - times[i - k + 1] <= tonumber(rules.noshow_ms) then
      local ends = times[i] + tonumber(rules.ban_ms)
      if ends > until_ms then until_ms = ends end
    end
  end
  if until_ms > tonumber(now_ms) then return until_ms end
  return 0
end

-- ID h did not show (过号, 爽约, a remote ticket that lapsed); histories keep what any rule still looks at (keep_ms)
local function id_noshow(hist_key, seen_key, h, now_ms, keep_ms)
  if not h or h == '' then return end
  local now = tonumber(now_ms)
  local kept = {}
  for _, ms in ipairs(id_noshows(hist_key, h)) do
    if ms > now - tonumber(keep_ms) then table.insert(kept, ms) end
  end
  table.insert(kept, now)
  redis.call('HSET', hist_key, h, cjson.encode({ns = kept}))
  redis.call('ZADD', seen_key, now, h)
end

-- 绿色通道 by age: age ('' unknown) against the service's green_age (0 = off)
local function id_green(rules, age)
  local from = tonumber(rules.green_age) or 0
  return from > 0 and age ~= '' and tonumber(age) >= from
end
