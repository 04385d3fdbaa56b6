"""Following the event stream for good: one blocking connection of its own, reconnected with backoff when Redis
goes away, resuming after the last event handed on. The display's relay stands on it, so no blueprint holds a
Redis client (:func:`shared.events.follow` is the one XREAD loop)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import redis

from shared import events
from shared.redis_client import connect

logger = logging.getLogger(__name__)


class EventFollower:
    """Hands every event of ``stream`` appended after it starts to ``on_event`` (or, in batches, to ``on_batch``),
    in stream order, until stopped.

    A batch is what one XREAD returned (at most ``batch_size`` events). ``min_interval`` (seconds) spaces the
    batches: after handing one on, the next XREAD waits until that much time has passed since, so that under a
    stream of events each batch carries what arrived meanwhile (a quiet stream's next event still goes at once when
    the last batch is older than that)."""

    def __init__(self, redis_url: str, stream: str, *, block_ms: int = 2000, batch_size: int = 500,
                 min_interval: float = 0.0) -> None:
        self.redis_url = redis_url
        self.stream = stream
        self.block_ms = block_ms
        self.batch_size = batch_size
        self.min_interval = min_interval
        self.last_id = "$"  # the newest entry when it starts; then the last one handed on
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
                for batch in events.follow(client, self.stream, self.last_id, block_ms=self.block_ms,
                                           count=self.batch_size):
                    delay = 0.1
                    if batch:
                        handed = time.monotonic()
                        on_batch(batch)
                        self.last_id = batch[-1].id
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
            finally:
                client.close()

    def stop(self) -> None:
        self._stop.set()

    def position(self) -> str | None:
        """The stream id of the last event handed on (None before the first)."""
        return None if self.last_id == "$" else self.last_id
