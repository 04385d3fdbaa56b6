-- Library (a script's header says "-- onewindow: uses outbox"): write an outbox entry in the same step as the change
-- it reports; shared/outbox.py delivers it. The caller passes the topic's keys: the entries hash, the set of
-- partitions with pending entries, and the queue (list) of the entry's partition — a window, for ratings.
-- An id is written once: putting an id that exists changes nothing and answers false (the report of one rating is
-- one entry, whatever happens).
local function outbox_put(entries_key, partitions_key, queue_key, id, partition, payload, now_ms)
  if redis.call('HEXISTS', entries_key, id) == 1 then return false end
  local part = tostring(partition)
  redis.call('HSET', entries_key, id, cjson.encode({id = id, partition = part, payload = payload, state = 'pending',
    attempts = 0, created_ms = tonumber(now_ms), next_ms = tonumber(now_ms)}))
  redis.call('RPUSH', queue_key, id)
  redis.call('SADD', partitions_key, part)
  return true
end
