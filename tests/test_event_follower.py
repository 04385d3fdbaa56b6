"""The event follower (shared/event_follower.py) when the stream goes back — as after a failover that lost the
newest events: it hands the new events on and says, before the first of them, which seq the stream is back at; and
with no new event it notices on its own while idle. Entries are written with XADD / XDEL here, as the replica that
takes over would hold them."""

from __future__ import annotations

import json
import threading

from faults import wait_for
from shared.event_follower import EventFollower

STREAM = "ow:{testhall}:events"


def _add(r, seq: int) -> str:
    data = {"seq": seq, "type": "ticket_issued", "ts": 1000 + seq}
    return r.xadd(STREAM, {"seq": seq, "type": "ticket_issued", "ts": 1000 + seq, "data": json.dumps(data)})


def test_the_follower_says_when_the_stream_went_back(redis_client, redis_server):
    _add(redis_client, 1)
    seen: list[tuple[str, int]] = []  # ("event" | "rewound", seq), in the order the follower handed them on
    follower = EventFollower(redis_server.url, STREAM, block_ms=200,
                             on_rewound=lambda seq: seen.append(("rewound", seq)))
    thread = threading.Thread(target=follower.run, args=(lambda e: seen.append(("event", e.seq)),), daemon=True)
    thread.start()
    try:
        wait_for(lambda: follower.last_seq == 1, 30, "the follower to start at the newest entry")
        ids = {seq: _add(redis_client, seq) for seq in (2, 3, 4)}
        wait_for(lambda: len(seen) == 3, 30, "events 2..4")

        # 3 and 4 are gone and a new 3 comes: the follower says the stream is back at 2, then hands the new 3 on
        redis_client.xdel(STREAM, ids[3], ids[4])
        _add(redis_client, 3)
        wait_for(lambda: len(seen) == 5, 30, "the new event 3")

        # the new 3 is gone too, and nothing comes after: noticed while idle
        redis_client.xdel(STREAM, redis_client.xrevrange(STREAM, count=1)[0][0])
        wait_for(lambda: len(seen) == 6, 30, "the follower to notice the stream ends before its last event")
        _add(redis_client, 3)
        wait_for(lambda: len(seen) == 7, 30, "the next event")
    finally:
        follower.stop()
        thread.join(10)
    assert seen == [("event", 2), ("event", 3), ("event", 4), ("rewound", 2), ("event", 3), ("rewound", 2),
                    ("event", 3)]
    assert follower.position() == redis_client.xrevrange(STREAM, count=1)[0][0]
