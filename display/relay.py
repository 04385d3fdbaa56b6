"""The relay: one per server process, it follows the event stream (XREAD BLOCK from the last id it sent) and
emits each event to the Socket.IO clients of this process, in ``seq`` order.

Nobody emits by hand: the stream is the one source of truth, so a pub/sub blip loses nothing and several processes
need no extra fan-out channel. Events that screens do not show still go out as ``{seq, type, ts}`` so that
screens see no false gap in ``seq``.
"""

from __future__ import annotations

import logging
import threading

from display.namespace import DISPLAY_NAMESPACE
from shared import events
from shared.event_follower import EventFollower

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
    """Follows the stream (:class:`shared.event_follower.EventFollower`) in a background thread and emits each event
    to the display namespace as its public payload."""

    def __init__(self, socketio, redis_url: str, stream: str, *, on_emitted=None) -> None:
        self.socketio = socketio
        self.follower = EventFollower(redis_url, stream)
        self.on_emitted = on_emitted  # callable(event) after each emit (metrics: call→emit latency)

    def start(self) -> None:
        threading.Thread(target=self.follower.run, args=(self._emit,), name="onewindow-relay", daemon=True).start()

    def stop(self) -> None:
        """Stop following (the server's worker does at exit)."""
        self.follower.stop()

    def _emit(self, event: events.Event) -> None:
        self.socketio.emit(event.type, public_payload(event), namespace=DISPLAY_NAMESPACE)
        if self.on_emitted is not None:
            self.on_emitted(event)

    def position(self) -> str | None:
        """The stream id of the last event emitted (None before the first: the relay started at the newest)."""
        return self.follower.position()
