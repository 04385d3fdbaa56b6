-- printer_state.lua — record what one print or probe showed about a kiosk's printer, and append
-- printer_faulted / printer_recovered when it changed between working and faulted (or between fault kinds).
-- The previous state is read here, so two prints finishing at once cannot both announce one fault.
-- KEYS: 1 seq, 2 events, 3 printer states (hash: kiosk id → state JSON)
-- ARGV: 1 kiosk id, 2 now_ms, 3 the fields observed (JSON object: backend, fault (null = working), updated_at, and
--       as known online, paper, detail, last_print, last_fault), 4 the printer_faulted payload (JSON) if faulted
-- Returns: {"ok", "state", "event": "printer_faulted" | "printer_recovered" | false, "was": previous fault | null}
local kiosk, now_ms = ARGV[1], ARGV[2]
local seen = cjson.decode(ARGV[3])

local function present(v) return v ~= nil and v ~= cjson.null and v ~= false and v ~= '' end

local state = {}
local raw = redis.call('HGET', KEYS[3], kiosk)
if raw then
  local decoded, value = pcall(cjson.decode, raw)
  if decoded and type(value) == 'table' then state = value end
end
local was = state.fault
if not present(was) then was = nil end
for k, v in pairs(seen) do state[k] = v end
local fault = seen.fault
if not present(fault) then fault = nil end
redis.call('HSET', KEYS[3], kiosk, cjson.encode(state))

local event = false
if fault and fault ~= was then
  event = 'printer_faulted'
  emit(event, now_ms, cjson.decode(ARGV[4]))
elseif not fault and was then
  event = 'printer_recovered'
  emit(event, now_ms, {kiosk = kiosk, after = was, backend = seen.backend})
end
return ok({state = state, event = event, was = was or cjson.null})
