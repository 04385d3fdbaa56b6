-- hold_window.lua — one clerk per window: take a window's sign-in, or give it back.
-- KEYS: 1 seq, 2 events, 3 window_holder(number)
-- ARGV: 1 op: 'hold' | 'release' (by the session holding it) | 'force_release' (by a supervisor),
--       2 window number, 3 now_ms, 4 clerk id (hold), 5 clerk name (hold),
--       6 hold id (hold: a fresh random id, kept when the same clerk signs in again; release: the session's id),
--       7 ttl ms (hold), 8 supervisor id (force_release)
-- Returns: hold    → {"ok", "held": true, "hold_id", "new", "seq"?} | {"ok", "held": false, "holder"}
--          release → {"ok", "released": true, "holder", "seq"} | {"ok", "released": false}
local op, window, now_ms = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local raw = redis.call('GET', KEYS[3])
local holder = nil
if raw then holder = cjson.decode(raw) end

if op == 'hold' then
  if holder and holder.clerk ~= ARGV[4] then
    return ok({held = false, holder = holder})
  end
  local is_new = holder == nil
  local record = {
    window = window, clerk = ARGV[4], name = ARGV[5],
    hold_id = is_new and ARGV[6] or holder.hold_id,
    since_ms = is_new and tonumber(now_ms) or holder.since_ms,
  }
  redis.call('SET', KEYS[3], cjson.encode(record), 'PX', ARGV[7])
  local result = {held = true, hold_id = record.hold_id, new = is_new}
  if is_new then
    result.seq = emit('clerk_signed_in', now_ms, {window = window, clerk = ARGV[4], name = ARGV[5]})
  end
  return ok(result)
end

if not holder then return ok({released = false}) end
if op == 'release' and holder.hold_id ~= ARGV[6] then return ok({released = false}) end
if op ~= 'release' and op ~= 'force_release' then return fail('invalid_op', 'unknown op ' .. op) end
redis.call('DEL', KEYS[3])
local payload = {window = window, clerk = holder.clerk, name = holder.name}
if op == 'force_release' then payload.by = ARGV[8] end
local seq = emit('clerk_signed_out', now_ms, payload)
return ok({released = true, holder = holder, seq = seq})
