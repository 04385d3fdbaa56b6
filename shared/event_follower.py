"""Following the event stream for good: one blocking connection of its own, reconnected with backoff when Redis
goes away, resuming after the last event handed on. The display's relay stands on it, so no blueprint holds a
Redis client (:func:`shared.events.follow` is the one XREAD loop)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import redis

from shared import events
from shared.redis_client import connect

logger = logging.getLogger(__name__)


class EventFollower:
    """Hands every event of ``stream`` appended after it starts to ``on_event``, in stream order, until stopped."""

    def __init__(self, redis_url: str, stream: str, *, block_ms: int = 2000) -> None:
        self.redis_url = redis_url
        self.stream = stream
        self.block_ms = block_ms
        self.last_id = "$"  # the newest entry when it starts; then the last one handed on
        self._stop = threading.Event()

    def run(self, on_event: Callable[[events.Event], None]) -> None:
        """Follow until :meth:`stop` (blocking; run it on a thread of its own)."""
        delay = 0.1
        while not self._stop.is_set():
            client = connect(self.redis_url, blocking=True)
            try:
                for batch in events.follow(client, self.stream, self.last_id, block_ms=self.block_ms):
                    delay = 0.1
                    for event in batch:
                        on_event(event)
                        self.last_id = event.id
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

    def anchor(self) -> None:
        """Fix "the newest entry" now rather than when the thread first reads: an event appended after this call is
        handed on even if the thread starts late (a screen that connects and catches up meanwhile misses nothing).
        Without Redis now, the thread fixes it when it first reads."""
        if self.last_id != "$":
            return
        client = None
        try:
            client = connect(self.redis_url)
            newest = client.xrevrange(self.stream, count=1)
            self.last_id = newest[0][0] if newest else "0-0"
        except (redis.RedisError, redis.exceptions.RedisClusterException) as exc:
            logger.warning("could not read where %s ends (%s); following from where it ends later", self.stream, exc)
        finally:
            if client is not None:
                client.close()

    def stop(self) -> None:
        self._stop.set()

    def position(self) -> str | None:
        """The stream id of the last event handed on (None before the first)."""
        return None if self.last_id == "$" else self.last_id
