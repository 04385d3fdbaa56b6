-- default_ratings.lua — visits of one business day finished at least the default period ago and still without a
-- rating get the configured default level (默认评价, channel "default"), each with its outbox entry, in one step.
-- Each visit is decided here from its state now: a visit rated meanwhile, or not yet due, is left alone — so two
-- processes, or this job run twice, never rate a visit twice.
-- onewindow: uses outbox, rating
-- KEYS: 1 seq, 2 events, 3 tickets(day), 4 unrated visits, 5 outbox entries, 6 outbox partitions,
--       7 .. 6+W outbox queue of window 1 .. W
-- ARGV: 1 now_ms, 2 default period ms, 3 level, 4 label, 5 '1' = write the outbox entry (reporting is on),
--       6 .. ticket ids of that day
-- Returns: {"ok", "rated": [ticket ids], "skipped": n, "gone": n}
local now_ms, period, level, label = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local rated, skipped, gone = {}, 0, 0
local report = ARGV[5] == '1'
for i = 6, #ARGV do
  local id = ARGV[i]
  local since = redis.call('ZSCORE', KEYS[4], id)
  if not since or now_ms - tonumber(since) < period then
    skipped = skipped + 1
  else
    local t = load_ticket(KEYS[3], id)
    local queue = t and KEYS[6 + (tonumber(t.window) or 0)]
    if not t or not queue then
      redis.call('ZREM', KEYS[4], id)  -- its day expired from Redis (the worker was down for weeks)
      gone = gone + 1
    elseif t.rating or t.status ~= 'done' then
      redis.call('ZREM', KEYS[4], id)
      skipped = skipped + 1
    else
      local rec = rating_record(t, 1, level, label, 'default', true, {}, '', now_ms)
      t.rating = level
      t.rated_ms = now_ms
      t.rating_channel = 'default'
      t.rating_default = true
      save_ticket(KEYS[3], t)
      redis.call('ZREM', KEYS[4], id)
      if report then outbox_put(KEYS[5], KEYS[6], queue, rec.id, t.window, rec, now_ms) end
      emit('ticket_rated', now_ms, {ticket = visit_snapshot(t), window = rec.window, level = level, label = label,
        follow_up = false, clerk = t.clerk, rating = rec})
      table.insert(rated, id)
    end
  end
end
return ok({rated = rated, skipped = skipped, gone = gone})
