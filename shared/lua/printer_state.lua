-- printer_state.lua — record what one print or probe showed about a kiosk's printer, and append
-- printer_faulted / printer_recovered when it changed between working and faulted (or between fault kinds).
-- The previous state is read here, so two prints finishing at once cannot both announce one fault, and a probe
-- decides from the record as it is then whether there is anything to update.
-- KEYS: 1 seq, 2 events, 3 printer states (hash: kiosk id → state JSON)
-- ARGV: 1 kiosk id, 2 now_ms, 3 the fields observed (JSON object: backend, fault (null = working), updated_at, and
--       as known online, paper, detail, last_print, last_fault) or '' (nothing definite: read only),
--       4 the printer_faulted payload (JSON) if faulted, 5 '1' = a probe: only a kiosk with a record is updated
--       (a printer that never printed stays unknown), '0' = a print
-- Returns: {"ok", "state": the record (null: none), "event": "printer_faulted" | "printer_recovered" | false,
--           "was": previous fault | null}
local kiosk, now_ms, probe = ARGV[1], ARGV[2], ARGV[5] == '1'

local function present(v) return v ~= nil and v ~= cjson.null and v ~= false and v ~= '' end

local state
local raw = redis.call('HGET', KEYS[3], kiosk)
if raw then
  local decoded, value = pcall(cjson.decode, raw)
  if decoded and type(value) == 'table' then state = value end
end
if ARGV[3] == '' or (probe and not state) then
  return ok({state = state or cjson.null, event = false, was = cjson.null})
end
state = state or {}
local seen = cjson.decode(ARGV[3])
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
