-- Prelude prepended to every script by shared/runner.py (Lua has no include).
-- Convention for every script: KEYS[1] = seq counter, KEYS[2] = event stream (the runner puts them first).
-- Every script returns one JSON string: {"ok": ...} on success or {"error": code, "message": text}.
-- A script that changes nothing says so in its header with the line "-- onewindow: read-only"; every other script
-- is wrapped by the runner so that each operation runs once (see _epilogue.lua).

local function fail(code, message)
  return cjson.encode({error = code, message = message})
end

-- A refusal with details for the caller (numbers, times — never anything private): the exception's ``details``.
local function fail_with(code, message, details)
  return cjson.encode({error = code, message = message, details = details})
end

-- The state moved since Python computed an argument: Python computes it again and calls again with the same
-- operation id (a retry answer is not stored). Return it before writing anything.
local __retrying = false
local function retry(message)
  __retrying = true
  return fail('retry', message)
end

-- A refusal that is not final (a rate limit: the same request may be allowed later): like retry(), the epilogue does
-- not store it, so the same operation sent again is decided afresh. Return it before writing anything.
local function refuse_for_now(code, message, details)
  __retrying = true
  return fail_with(code, message, details)
end

local function ok(result)
  result.ok = true
  return cjson.encode(result)
end

-- What never enters the stream, on a ticket or a booking: events reach public screens. The tracking token and the
-- booking code are bearer secrets; the id hash would let a screen link one person's visits; a contact is personal.
local __private = {token = true, idh = true, code = true, contact = true, masked = true, birth_year = true}

local function __public_copy(t)
  local copy = {}
  for k, v in pairs(t) do
    if not __private[k] then copy[k] = v end
  end
  return copy
end

-- Append one event with the next sequence number; returns the seq.
local function emit(event_type, now_ms, payload)
  if payload.ticket then payload.ticket = __public_copy(payload.ticket) end
  if payload.booking then payload.booking = __public_copy(payload.booking) end
  local seq = redis.call('INCR', KEYS[1])
  payload.seq = seq
  payload.type = event_type
  payload.ts = tonumber(now_ms)
  redis.call('XADD', KEYS[2], '*', 'seq', seq, 'type', event_type, 'ts', now_ms, 'data', cjson.encode(payload))
  return seq
end

-- The hall's seq and the stream entry id of the event with that seq, read together: what every snapshot returns
-- (snapshot.lua, window_view.lua, seq_entry.lua), so that a screen whose last state is a snapshot sends that entry
-- back with catch_up on reconnecting (shared/catch_up.py). The entry is the stream's newest entry, kept only when its
-- seq field is that seq; nil when the stream does not end with it (empty, or a store restored without it).
local function seq_and_entry()
  local seq = tonumber(redis.call('GET', KEYS[1]) or '0')
  local newest = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)[1]
  if newest then
    local f = newest[2]
    for i = 1, #f, 2 do
      if f[i] == 'seq' and tonumber(f[i + 1]) == seq then return seq, newest[1] end
    end
  end
  return seq, nil
end

local function load_ticket(tickets_key, id)
  local raw = redis.call('HGET', tickets_key, id)
  if not raw then return nil end
  return cjson.decode(raw)
end

local function save_ticket(tickets_key, t)
  redis.call('HSET', tickets_key, t.id, cjson.encode(t))
end

-- The ticket a window is serving (status "called"), or nil. A current ticket of another day is stale.
local function current_ticket(window_key, tickets_key)
  local id = redis.call('HGET', window_key, 'current')
  if not id or id == '' then return nil end
  local t = load_ticket(tickets_key, id)
  if not t or t.status ~= 'called' then
    redis.call('HDEL', window_key, 'current')
    return nil
  end
  return t
end

-- Why a window may not call a ticket now (paused, or still serving one) as the answer to return, or nil:
-- call-next and call-number refuse alike.
local function refuse_call(window_key, tickets_key)
  if redis.call('HGET', window_key, 'paused') == '1' then
    return fail('window_paused', 'the window is paused; resume it first')
  end
  if current_ticket(window_key, tickets_key) then
    return fail('window_busy', 'the window is serving a ticket: finish it, transfer it or mark it no-show first')
  end
  return nil
end

local function push_recent(recent_key, t, window, kind, now_ms, max_len)
  redis.call('LPUSH', recent_key, cjson.encode({id = t.id, number = t.number, service = t.service,
    window = tonumber(window), kind = kind, at = tonumber(now_ms), appointment = t.appointment and true or nil}))
  redis.call('LTRIM', recent_key, 0, tonumber(max_len) - 1)
end

-- A waiting ticket becomes the window's current, called ticket (call-next and call-number share this).
-- Before it is taken out of its queue, the place a waiting ticket had there (its score, and the window it was
-- transferred to, if any), so that an undone 过号 puts it back where it was (undo_no_show.lua).
local function remember_place(t, queue_key)
  local score = redis.call('ZSCORE', queue_key, t.id)
  if score then t.place = {score = score, window = t.target_window} end  -- the score as text: exact
end

local function mark_called(tickets_key, window_key, recent_key, t, window, now_ms, clerk, recent_len)
  t.status = 'called'
  t.window = tonumber(window)
  t.called_ms = tonumber(now_ms)
  t.calls = 1
  t.clerk = clerk
  t.target_window = nil
  save_ticket(tickets_key, t)
  redis.call('HSET', window_key, 'current', t.id, 'clerk', clerk)
  push_recent(recent_key, t, window, 'call', now_ms, recent_len)
end
