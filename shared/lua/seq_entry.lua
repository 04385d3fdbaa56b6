-- seq_entry.lua — the hall's seq and the stream entry of the event at it, read together: what a snapshot assembled
-- by reads that follow (the tracking page's ticket, the kiosk's services, the rating tablet's open rating, the
-- supervisor's overview) starts from.
-- onewindow: read-only
-- KEYS: 1 seq, 2 events (its newest entry: the one with that seq)
-- ARGV: none
-- Returns: {"ok", "seq", "entry" (the stream id of the event with that seq; absent when the stream does not end with
--           it: empty, or a store restored without it — _prelude.lua seq_and_entry)}
local seq, entry = seq_and_entry()
return ok({seq = seq, entry = entry})
