-- metrics_fold.lua — count the events appended since the last fold into the hall's metrics hash (for /metrics).
-- Exactly once: the counts and the cursor (the id of the last event counted) change in the same step, so any number
-- of processes may fold at once, and a restart neither loses nor repeats a count.
-- KEYS: 1 seq, 2 events, 3 metrics hash (field "cursor" = last counted stream id; the rest are counters)
-- ARGV: 1 most events to count in this call
-- Counter fields: "ev|<type>", "svc|<type>|<service>", "out|<service>|<outcome>" (ticket_finished),
--                 "prn|<kiosk>|<kind>" (printer_faulted)
-- Returns: {"ok", "counted", "more" (true when events are left to count), "cursor"}
-- Volatile: counts and cursor go back together at a failover: counted again; no WAIT.
-- onewindow: volatile
local cursor = redis.call('HGET', KEYS[3], 'cursor') or '0-0'
local limit = tonumber(ARGV[1])
local entries = redis.call('XRANGE', KEYS[2], '(' .. cursor, '+', 'COUNT', limit)
local counts = {}
local function bump(field)
  counts[field] = (counts[field] or 0) + 1
end
for _, entry in ipairs(entries) do
  local fields = entry[2]
  local etype, data = nil, nil
  for i = 1, #fields, 2 do
    if fields[i] == 'type' then etype = fields[i + 1] elseif fields[i] == 'data' then data = fields[i + 1] end
  end
  if etype then
    bump('ev|' .. etype)
    local ok_json, d = pcall(cjson.decode, data or '{}')
    if ok_json and type(d) == 'table' then
      local t = type(d.ticket) == 'table' and d.ticket or nil
      local service = (t and t.service) or d.service
      if type(service) == 'string' then
        bump('svc|' .. etype .. '|' .. service)
        if etype == 'ticket_finished' and t and type(t.outcome) == 'string' then
          bump('out|' .. service .. '|' .. t.outcome)
        end
      end
      if etype == 'printer_faulted' then
        bump('prn|' .. tostring(d.kiosk) .. '|' .. tostring(d.kind))
      end
    end
  end
  cursor = entry[1]
end
for field, n in pairs(counts) do
  redis.call('HINCRBY', KEYS[3], field, n)
end
if #entries > 0 then
  redis.call('HSET', KEYS[3], 'cursor', cursor)
end
return ok({counted = #entries, more = (#entries == limit), cursor = cursor})
