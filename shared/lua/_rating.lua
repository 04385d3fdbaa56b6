-- Library ("-- onewindow: uses rating"): the rating record (好差评) of a finished visit, as it is reported upstream and
-- written to the event stream. The rater's call-back number is never part of it (it lives in the rectification
-- record only). ``rater_id_hash`` / ``rater_kind`` are left empty for real-name tickets (issue 14) to fill.
local function rating_record(t, assess, level, label, channel, is_default, options, text, now_ms)
  local m = t.matter
  if type(m) ~= 'table' then m = {} end
  return {
    id = t.id .. '-' .. assess, ticket = t.id, day = t.day, number = t.number, service = t.service,
    window = tonumber(t.window), clerk = t.clerk or '', matter_code = m.code or '', matter_name = m.name or '',
    case_no = t.case_no or '', outcome = t.outcome or '', finished_ms = tonumber(t.finished_ms),
    assess = assess, level = level, label = label, channel = channel, default = is_default,
    options = options, text = text, rated_ms = tonumber(now_ms), rater_id_hash = '', rater_kind = '',
  }
end

-- The ticket as the event stream carries it with a rating (the statistics fold it into the visit's day).
local function visit_snapshot(t)
  return {id = t.id, day = t.day, number = t.number, service = t.service, issued_ms = t.issued_ms,
    priority = t.priority, clerk = t.clerk, window = t.window}
end
