-- backup_restore.lua — put a backup's keys into a hall that has none (`onewindow restore`), all in one step.
-- KEYS: 1 seq, 2 events, 3… the keys to restore (all of the hall: they share its hash tag)
-- ARGV: 1 key pattern of the hall (ow:{id}:*), then per key in KEYS[3…]: pttl (0 = no expiry), DUMP payload
-- Returns: {"ok", "restored"} or {"error": "hall_not_empty"} (nothing changed)
local page = redis.call('SCAN', '0', 'MATCH', ARGV[1], 'COUNT', 1000)
local cursor = page[1]
local found = #page[2] > 0
while not found and cursor ~= '0' do
  page = redis.call('SCAN', cursor, 'MATCH', ARGV[1], 'COUNT', 1000)
  cursor = page[1]
  found = #page[2] > 0
end
if found then
  return fail('hall_not_empty', 'the hall already has data in this Redis; restore into an empty one')
end
for i = 3, #KEYS do
  local ttl = tonumber(ARGV[2 * (i - 2)])
  if ttl < 0 then ttl = 0 end
  redis.call('RESTORE', KEYS[i], ttl, ARGV[2 * (i - 2) + 1])
end
return ok({restored = #KEYS - 2})
