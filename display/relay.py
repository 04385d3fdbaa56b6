"""The relay: one per server process, it follows the event stream (XREAD BLOCK from the last id it sent) and
emits each event to the Socket.IO clients of this process, in ``seq`` order.

Nobody emits by hand: the stream is the one source of truth, so a pub/sub blip loses nothing and several processes
need no extra fan-out channel. Events that screens do not show still go out as ``{seq, type, ts}`` so that
screens see no false gap in ``seq``.
"""

from __future__ import annotations

import logging
import threading

import redis

from display.namespace import DISPLAY_NAMESPACE
from shared import events
from shared.redis_client import connect

logger = logging.getLogger(__name__)

PUBLIC_EVENTS = {
    events.TICKET_ISSUED, events.TICKET_CALLED, events.TICKET_RECALLED, events.TICKET_FINISHED,
    events.TICKET_MARKED_NO_SHOW, events.TICKET_TRANSFERRED, events.TICKET_CANCELLED, events.WINDOW_PAUSED,
    events.WINDOW_RESUMED,
}
_PRIVATE_FIELDS = ("clerk", "kiosk", "lang", "token")


def public_payload(event: events.Event) -> dict:
    """What a public screen may see of an event."""
    if event.type not in PUBLIC_EVENTS:
        return {"seq": event.seq, "type": event.type, "ts": event.ts}
    data = {k: v for k, v in event.data.items() if k not in _PRIVATE_FIELDS}
    if isinstance(data.get("ticket"), dict):
        data["ticket"] = {k: v for k, v in data["ticket"].items() if k not in _PRIVATE_FIELDS}
    return data


class Relay:
    """Follows the stream in a background thread and emits to ``namespaces`` (display first)."""

    def __init__(self, socketio, redis_url: str, stream: str, *, extra_namespaces: dict | None = None,
                 on_emitted=None) -> None:
        self.socketio = socketio
        self.redis_url = redis_url
        self.stream = stream
        # namespace → function(event) -> payload or None; the display namespace gets the public payload
        self.namespaces = {DISPLAY_NAMESPACE: public_payload, **(extra_namespaces or {})}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_id = "$"
        self.sent = 0
        self.on_emitted = on_emitted  # callable(event) after each emit (metrics: call→emit latency)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="onewindow-relay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        delay = 0.1
        while not self._stop.is_set():
            client = connect(self.redis_url, blocking=True)
            try:
                for batch in events.follow(client, self.stream, self.last_id, block_ms=2000):
                    delay = 0.1
                    for event in batch:
                        self._emit(event)
                        self.last_id = event.id
                    if self._stop.is_set():
                        return
            except redis.RedisError as exc:
                if self._stop.is_set():  # the process is stopping; Redis may be going too
                    return
                logger.warning("relay lost Redis (%s); retrying in %.1f s", exc, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, 5.0)
            except Exception:  # keep relaying whatever one event did
                logger.exception("relay failed; restarting")
                self._stop.wait(delay)
            finally:
                client.close()

    def _emit(self, event: events.Event) -> None:
        for namespace, view in self.namespaces.items():
            payload = view(event)
            if payload is not None:
                self.socketio.emit(event.type, payload, namespace=namespace)
        self.sent += 1
        if self.on_emitted is not None:
            self.on_emitted(event)

    def position(self) -> str | None:
        """The stream id of the last event emitted (None before the first: the relay started at the newest)."""
        return None if self.last_id == "$" else self.last_id
