"""Following the event stream for good: one blocking connection of its own, reconnected with backoff when Redis
goes away, resuming after the last event handed on. The display's relay stands on it, so no blueprint holds a
Redis client (:func:`shared.events.follow` is the one XREAD loop).

**The stream can go back.** Replication is asynchronous: when a primary dies and its replica takes over without its
newest events (``[redis] wait_replicas = 0``, a replica that lagged), the stream on the new primary ends before the
last event handed on, and the next event takes a ``seq`` already handed on (a different event under the same
number). The follower notices — on (re)connecting and while idle, the stream's newest id is lower than the last one
it handed on; or an event arrives whose ``seq`` is not above the last one — calls ``on_rewound(seq)`` with the seq
the stream is back at, and goes on from the stream's newest entry. The relay turns that into a message that makes
every screen load its state again (:meth:`display.relay.Relay.emit_rewound`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import redis

from shared import events
from shared.redis_client import connect

logger = logging.getLogger(__name__)


def _order(entry_id: str) -> tuple[int, int]:
    ms, _, n = entry_id.partition("-")
    return int(ms), int(n or 0)


class EventFollower:
    """Hands every event of ``stream`` appended after it starts to ``on_event`` (or, in batches, to ``on_batch``),
    in stream order, until stopped; ``on_rewound(seq)`` when the stream went back to ``seq`` (see the module doc).

    A batch is what one XREAD returned (at most ``batch_size`` events; split where the stream went back, so that
    ``on_rewound`` comes between the events before and after). ``min_interval`` (seconds) spaces the batches: after
    handing one on, the next XREAD waits until that much time has passed since, so that under a stream of events
    each batch carries what arrived meanwhile (a quiet stream's next event still goes at once when the last batch is
    older than that)."""

    def __init__(self, redis_url: str, stream: str, *, block_ms: int = 2000, batch_size: int = 500,
                 min_interval: float = 0.0, on_rewound: Callable[[int], None] | None = None) -> None:
        self.redis_url = redis_url
        self.stream = stream
        self.block_ms = block_ms
        self.batch_size = batch_size
        self.min_interval = min_interval
        self.on_rewound = on_rewound
        self.last_id = "$"  # the newest entry when it starts; then the last one handed on
        self.last_seq: int | None = None  # seq of the last event handed on (or of the newest entry at the start)
        self._cursor: str | None = None  # where the next read starts (None until the first connection)
        self._stop = threading.Event()

    def run(self, on_event: Callable[[events.Event], None] | None = None, *,
            on_batch: Callable[[list[events.Event]], None] | None = None) -> None:
        """Follow until :meth:`stop` (blocking; run it on a thread of its own)."""
        if on_batch is None:
            if on_event is None:
                raise TypeError("run() needs on_event or on_batch")

            def on_batch(batch: list[events.Event]) -> None:
                for event in batch:
                    on_event(event)
                    self.last_id = event.id
        delay = 0.1
        while not self._stop.is_set():
            client = connect(self.redis_url, blocking=True)
            try:
                self._resume(client)
                for batch in events.follow(client, self.stream, self._cursor, block_ms=self.block_ms,
                                           count=self.batch_size):
                    delay = 0.1
                    if not batch:
                        if self._went_back(client):
                            break  # read again from where the stream is now
                    else:
                        handed = time.monotonic()
                        self._hand_on(batch, on_batch)
                        if self.min_interval > 0:
                            self._stop.wait(self.min_interval - (time.monotonic() - handed))
                    if self._stop.is_set():
                        return
            except redis.RedisError as exc:
                if self._stop.is_set():  # the process is stopping; Redis may be going too
                    return
                logger.warning("lost Redis while following %s (%s); retrying in %.1f s", self.stream, exc, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, 5.0)
            except Exception:  # keep following whatever one event did
                logger.exception("following %s failed; restarting", self.stream)
                self._stop.wait(delay)
                delay = min(delay * 2, 5.0)
            finally:
                client.close()

    def anchor(self) -> None:
        """Fix "the newest entry" now rather than when the thread first reads: an event appended after this call is
        handed on even if the thread starts late (a screen that connects and catches up meanwhile misses nothing).
        Without Redis now, the thread fixes it when it first reads."""
        if self._cursor is not None or self.last_id != "$":
            return
        client = None
        try:
            client = connect(self.redis_url)
            self._cursor, self.last_seq = self._newest(client)
        except (redis.RedisError, redis.exceptions.RedisClusterException) as exc:
            logger.warning("could not read where %s ends (%s); following from where it ends later", self.stream, exc)
        finally:
            if client is not None:
                client.close()

    def _hand_on(self, batch: list[events.Event], on_batch: Callable[[list[events.Event]], None]) -> None:
        """``batch`` to ``on_batch`` in order — in parts where an event's seq is not above the one before it (the
        stream went back: ``on_rewound`` between the parts)."""
        part: list[events.Event] = []
        last = self.last_seq
        for event in batch:
            if last is not None and event.seq <= last:
                if part:
                    self._handed(part, on_batch)
                    part = []
                self._rewound(event.seq - 1, f"event {event.id} has seq {event.seq} <= {last}")
            part.append(event)
            last = event.seq
        if part:
            self._handed(part, on_batch)

    def _handed(self, part: list[events.Event], on_batch: Callable[[list[events.Event]], None]) -> None:
        on_batch(part)
        self.last_id = self._cursor = part[-1].id
        self.last_seq = part[-1].seq

    def _newest(self, client) -> tuple[str, int]:
        """(id, seq) of the stream's newest entry (``0-0``, 0 when it is empty)."""
        newest = client.xrevrange(self.stream, count=1)
        if not newest:
            return "0-0", 0
        entry_id, fields = newest[0]
        return entry_id, int(fields["seq"])

    def _resume(self, client) -> None:
        """Where to read from on this connection: the newest entry on the first one (unless ``last_id`` was set),
        else after the last event handed on — or the newest entry, if the stream went back."""
        if self._cursor is None:
            if self.last_id == "$":
                self._cursor, self.last_seq = self._newest(client)
            else:
                self._cursor = self.last_id
            return
        self._went_back(client)

    def _went_back(self, client) -> bool:
        """The stream now ends before the last event handed on: follow it from its newest entry (True)."""
        if self._cursor is None:
            return False
        newest_id, newest_seq = self._newest(client)
        if _order(newest_id) >= _order(self._cursor):
            return False
        self._rewound(newest_seq, f"its newest entry {newest_id} is older than {self._cursor}")
        self._cursor = newest_id
        if self.last_id != "$":
            self.last_id = newest_id
        self.last_seq = newest_seq
        return True

    def _rewound(self, seq: int, why: str) -> None:
        logger.warning("the stream %s went back to seq %s (%s): events handed on were lost (a failover?)",
                       self.stream, seq, why)
        if self.on_rewound is not None:
            self.on_rewound(seq)

    def stop(self) -> None:
        self._stop.set()

    def position(self) -> str | None:
        """The stream id of the last event handed on (None before the first)."""
        return None if self.last_id == "$" else self.last_id
