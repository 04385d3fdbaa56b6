-- rate_visit.lua — a citizen's rating (好差评) of a finished visit, 办件 or 咨询 alike: from the window's tablet (the
-- ticket just finished there, within the rating time) or from the holder's phone (proven by the ticket's tracking
-- token; a first rating until the default rating takes over, or one 追评 within its period after the rater's own
-- first rating). One first rating per visit and at most one 追评. In the same step: the outbox entry that reports the
-- rating upstream, and for 不满意 / 非常不满意 a rectification record with its deadlines.
-- onewindow: uses outbox, rating, rectification
-- KEYS: 1 seq, 2 events, 3 tickets(day), 4 tokens(day), 5 window (tablet; any key for the phone), 6 unrated visits,
--       7 outbox entries, 8 outbox partitions, 9 rectifications, 10 open rectifications, 11 rectification counter,
--       12 schedule (the supervisor's calendar entries), 13 .. 12+W outbox queue of window 1 .. W
-- ARGV: 1 channel 'tablet' | 'phone', 2 window number (tablet) | '', 3 now_ms, 4 ticket id (tablet) | tracking token
--       (phone), 5 assess 1 (first rating) | 2 (追评), 6 level 1..5, 7 label, 8 option codes (JSON array), 9 free text,
--       10 call-back contact JSON {name, phone} ('{}' = none), 11 the same masked, 12 rules JSON {rating_ms, first_ms,
--       followup_ms, options = {["<level>"] = [codes]}, text_levels = [levels], bad_max, report (write the outbox
--       entry)}, 13 deadlines JSON
--       {verify, rectify, reply} (ISO dates), 14 calendar JSON {date: the entry the deadlines were computed from},
--       15 the ticket id the phone's caller claims ('' = none: the token alone names the visit)
-- Returns: {"ok", "ticket", "rating", "follow_up", "rectification", "seq"}
--   | {"error": "not_found" | "wrong_token" | "not_last_finished" | "rating_closed" | "not_finished" | "already_rated"
--      | "not_rated" | "followup_closed" | "invalid_option" | "text_not_allowed" | "contact_not_allowed" | "retry"}
local channel, now_ms, assess, level = ARGV[1], tonumber(ARGV[3]), tonumber(ARGV[5]), tonumber(ARGV[6])
local rules = cjson.decode(ARGV[12])
local id
if channel == 'phone' then
  id = redis.call('HGET', KEYS[4], ARGV[4])
  if not id then
    if ARGV[15] ~= '' then  -- rating a named ticket: an unknown token is not its token
      return fail('wrong_token', 'this tracking token does not belong to the ticket being rated')
    end
    return fail('not_found', 'no visit has this tracking token')
  end
  if ARGV[15] ~= '' and ARGV[15] ~= id then
    return fail('wrong_token', 'this tracking token does not belong to the ticket being rated')
  end
else
  id = ARGV[4]
end
local t = load_ticket(KEYS[3], id)
if channel == 'tablet' and not (t and t.rating) and redis.call('HGET', KEYS[5], 'last_finished') ~= id then
  return fail('not_last_finished', 'only the ticket just finished at window ' .. ARGV[2] .. ' can be rated')
end
if not t then return fail('not_found', 'no such visit') end

if assess == 1 then
  if t.rating then
    return fail('already_rated', 'ticket ' .. t.number .. ' has already been rated (一次一评)')
  end
  if channel == 'tablet' then
    local w = redis.call('HMGET', KEYS[5], 'last_finished_ms', 'rating_hold', 'rating_hold_until_ms')
    local held = w[2] == id and now_ms <= tonumber(w[3] or '0')  -- the tablet held it while the reason is typed
    if not held and now_ms - tonumber(w[1] or '0') > tonumber(rules.rating_ms) then
      return fail('rating_closed', 'the time to rate ticket ' .. t.number .. ' at the window has passed')
    end
  end
  if t.status ~= 'done' then
    return fail('not_finished', 'ticket ' .. t.number .. ' has not been served: there is nothing to rate')
  end
  if channel == 'phone' and now_ms - tonumber(t.finished_ms or 0) > tonumber(rules.first_ms) then
    return fail('rating_closed', 'the time to rate ticket ' .. t.number .. ' has passed')
  end
else
  if not t.rating or t.rating_default then
    return fail('not_rated', 'a 追评 follows the rater\'s own first rating of ticket ' .. t.number)
  end
  if t.followup then
    return fail('already_rated', 'ticket ' .. t.number .. ' already has its 追评')
  end
  local period = tonumber(rules.followup_ms)
  if period <= 0 or now_ms - tonumber(t.rated_ms or 0) > period then
    return fail('followup_closed', 'the time for a 追评 of ticket ' .. t.number .. ' has passed')
  end
end

local queue = KEYS[12 + (tonumber(t.window) or 0)]
if not t.window or not queue then return fail('not_found', 'ticket ' .. t.number .. ' was served at no known window') end

-- what the rater says: options of this level only, free text where the level allows it, a contact for a 差评
local options = cjson.decode(ARGV[8])
local allowed = {}
for _, code in ipairs(rules.options[tostring(level)] or {}) do allowed[code] = true end
local seen = {}
for _, code in ipairs(options) do
  if not allowed[code] or seen[code] then
    return fail('invalid_option', 'option ' .. tostring(code) .. ' is not offered (once) for this level')
  end
  seen[code] = true
end
local text = ARGV[9]
if text ~= '' then
  local ok_text = false
  for _, lv in ipairs(rules.text_levels) do if lv == level then ok_text = true end end
  if not ok_text then return fail('text_not_allowed', 'free text is not taken for this level') end
end
local bad = level <= tonumber(rules.bad_max)
local contact = cjson.decode(ARGV[10])
local has_contact = (contact.phone or '') ~= '' or (contact.name or '') ~= ''
if has_contact and not bad then
  return fail('contact_not_allowed', 'a call-back number is taken with a 不满意 or 非常不满意 rating only')
end
if bad and not calendar_unchanged(KEYS[12], cjson.decode(ARGV[14])) then
  return retry('the calendar the deadlines were counted on has changed')
end

local rec = rating_record(t, assess, level, ARGV[7], channel, false, options, text, now_ms)
if assess == 1 then
  t.rating = level
  t.rated_ms = now_ms
  t.rating_channel = channel
  redis.call('ZREM', KEYS[6], id)
else
  t.followup = level
  t.followup_ms = now_ms
end
local rect = nil
local seq
if bad then
  local r = {kind = 'rating', ref = rec.id, ticket = {id = t.id, day = t.day, number = t.number, service = t.service},
    window = rec.window, clerk = rec.clerk, service = t.service, matter = t.matter, level = level, assess = assess,
    options = options, text = text, deadlines = cjson.decode(ARGV[13])}
  if has_contact then r.contact = contact end
  rect, seq = open_rectification(KEYS[9], KEYS[10], KEYS[11], r, cjson.decode(ARGV[11]), now_ms)
  rec.rectification = rect.id
  local ids = t.rectifications
  if type(ids) ~= 'table' then ids = {} end
  table.insert(ids, rect.id)
  t.rectifications = ids
end
save_ticket(KEYS[3], t)
if rules.report then outbox_put(KEYS[7], KEYS[8], queue, rec.id, t.window, rec, now_ms) end
seq = emit('ticket_rated', now_ms, {ticket = visit_snapshot(t), window = rec.window, level = level, label = ARGV[7],
  follow_up = bad, clerk = t.clerk, rating = rec})
local view = nil
if rect then view = {id = rect.id, deadlines = rect.deadlines, state = rect.state} end
return ok({ticket = t, rating = rec, follow_up = bad, rectification = view, seq = seq})
