-- backup_dump.lua — every key of the hall, dumped in one atomic step (a consistent point in time for `onewindow
-- backup`). Unlike the other scripts it answers with a flat array, not JSON: DUMP payloads are binary, so it runs
-- on a client without response decoding (shared/backup.py). It reads keys it finds with SCAN: on a cluster it runs
-- on the primary of the hall's slot (KEYS carry the hall's hash tag) and SCAN there finds every key of the hall.
-- KEYS: 1 seq, 2 events (the hall's, for the convention; every key matching ARGV[1] is dumped)
-- ARGV: 1 key pattern of the hall (ow:{id}:*)
-- Returns: {seq, key1, pttl1, dump1, key2, pttl2, dump2, …}  (pttl -1: no expiry)
local out = {redis.call('GET', KEYS[1]) or '0'}
local cursor = '0'
repeat
  local page = redis.call('SCAN', cursor, 'MATCH', ARGV[1], 'COUNT', 1000)
  cursor = page[1]
  for _, key in ipairs(page[2]) do
    local dump = redis.call('DUMP', key)
    if dump then
      out[#out + 1] = key
      out[#out + 1] = redis.call('PTTL', key)
      out[#out + 1] = dump
    end
  end
until cursor == '0'
return out
