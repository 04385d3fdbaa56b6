"""The relay: one per server process, it follows the event stream (XREAD BLOCK from the last id it sent) and
emits each event to the Socket.IO clients of this process, in ``seq`` order.

Nobody emits by hand: the stream is the one source of truth, so a pub/sub blip loses nothing and several processes
need no extra fan-out channel. Each *audience* (a namespace, or a room in it) gets its own view of every event; an
event an audience may not see still goes out as ``{seq, type, ts, entry}`` so that its clients see no false gap in
``seq`` (``entry``, the stream id, is in every view: :func:`_stub`):

* ``/display`` — :func:`public_payload` (no clerk, kiosk, language or token; private events as stubs);
* ``/staff``, room ``staff`` — :func:`staff_payload` (everything but tracking tokens);
* ``/staff``, room ``tablet:<n>`` — :func:`tablet_view`: ``rating_opened`` / ``rating_closed`` at window ``n``.

When the stream goes back (a failover lost its newest events, and the next event takes a ``seq`` the screens have
already seen: :mod:`shared.event_follower`), every audience gets :data:`STREAM_REWOUND` ``{seq, type, ts}`` before
the next event: the live client drops what it buffered, loads its state again and applies what follows
(shared/static/js/live.js).

When an audience's view of an event cannot be built (a bug in the view, the store failing for a read it needs), that
audience gets :data:`RESYNC` ``{seq, type: "resync", ts, entry, event}`` in the event's place, in order: its screens
take the seq and load their state at once (live.js), instead of staying stale until the next event. The others get
the event as usual; the failure is logged once per audience and batch (the audience, the events' types and seqs, the
exception's class and where it was raised — never its message or the event's data, which may carry a token or a
name) and counted (``on_view_failed``: ``/metrics``). Nothing is retried here: the relay goes on with the next batch,
so a view that keeps failing costs one stub per event, and the screens' snapshots are throttled by live.js.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from display.namespace import (DISPLAY_NAMESPACE, RATING_CLOSED, RATING_OPENED, RESYNC, STAFF_NAMESPACE,
                               STAFF_ROOM, STREAM_REWOUND, tablet_room)
from display.fanout import Fanout
from shared import events
from shared.event_follower import EventFollower

logger = logging.getLogger(__name__)

PUBLIC_EVENTS = {
    events.TICKET_ISSUED, events.TICKET_CALLED, events.TICKET_RECALLED, events.TICKET_FINISHED,
    events.TICKET_MARKED_NO_SHOW, events.TICKET_TRANSFERRED, events.TICKET_CANCELLED, events.WINDOW_PAUSED,
    events.WINDOW_RESUMED, events.NO_SHOW_UNDONE,
}
_PRIVATE_FIELDS = ("clerk", "kiosk", "lang", "token")
_SECRET_FIELDS = ("token",)  # a ticket's tracking token is its holder's key: no page but the holder's sees it


def _stub(event: events.Event) -> dict:
    """What every audience gets of every event: ``seq``, ``type``, ``ts`` and ``entry`` — the event's stream entry id,
    which a reconnecting client sends back with ``catch_up`` so that the server can tell whether the event it saw
    last is still in the stream (a failover may have lost it, and the seq reused: :mod:`shared.catch_up`)."""
    return {"seq": event.seq, "type": event.type, "ts": event.ts, "entry": event.id}


def _without(data: dict, fields: tuple[str, ...]) -> dict:
    out = {k: v for k, v in data.items() if k not in fields}
    if isinstance(out.get("ticket"), dict):
        out["ticket"] = {k: v for k, v in out["ticket"].items() if k not in fields}
    return out


def public_payload(event: events.Event) -> dict:
    """What a public screen may see of an event."""
    if event.type not in PUBLIC_EVENTS:
        return _stub(event)
    return {**_without(event.data, _PRIVATE_FIELDS), **_stub(event)}


def staff_payload(event: events.Event) -> dict:
    """What the staff pages see of an event: all of it but tracking tokens."""
    return {**_without(event.data, _SECRET_FIELDS), **_stub(event)}


def tablet_view(window: int) -> Callable[[events.Event], dict]:
    """What window ``window``'s tablet sees: the rating offer opening and closing there, stubs of the rest."""

    def view(event: events.Event) -> dict:
        if event.data.get("window") == window and event.type in (events.TICKET_FINISHED, events.TICKET_RATED):
            ticket = event.data.get("ticket") or {}
            kind = RATING_OPENED if event.type == events.TICKET_FINISHED else RATING_CLOSED
            return {**_stub(event), "type": kind, "window": window, "ticket_id": ticket.get("id")}
        return _stub(event)

    return view


@dataclass(frozen=True)
class Audience:
    """Who hears an event (a namespace, or one room of it) and what of it (``view``: event → payload)."""

    namespace: str
    room: str | None
    view: Callable[[events.Event], dict]

    @property
    def label(self) -> str:
        """The audience in a log line or a metric's label: ``/display``, ``/staff staff``, ``/staff tablet:2``."""
        return self.namespace if self.room is None else f"{self.namespace} {self.room}"


def resync_stub(event: events.Event) -> dict:
    """What an audience gets in place of an event whose view for it could not be built: load your state again."""
    return {**_stub(event), "type": RESYNC, "event": event.type}


def log_view_failure(audience: str, failed: Sequence[events.Event], exc: BaseException) -> None:
    """One log line for an audience's views that raised ``exc``: who, which events (types and seqs), the exception's
    class and the innermost frame — not its message, nor the events' data (tokens, names)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" in {frames[-1].name} ({os.path.basename(frames[-1].filename)}:{frames[-1].lineno})" if frames else ""
    shown = ", ".join(f"{e.type} #{e.seq}" for e in failed[:10]) + (" …" if len(failed) > 10 else "")
    logger.error("the view of %s failed for %d event(s) (%s): %s%s; its screens are told to resync", audience,
                 len(failed), shown, type(exc).__name__, where)


def audiences(windows: Iterable[int], prefix: str = "") -> list[Audience]:
    """Every audience of a hall with these window numbers: the public screens, the staff, each window's tablet —
    in the hall's namespaces (``prefix``: "" for the only hall, ``/h/<hall id>`` when a process serves several)."""
    display, staff = prefix + DISPLAY_NAMESPACE, prefix + STAFF_NAMESPACE
    return [Audience(display, None, public_payload), Audience(staff, STAFF_ROOM, staff_payload),
            *(Audience(staff, tablet_room(n), tablet_view(n)) for n in sorted(windows))]


class Relay:
    """Follows the stream (:class:`shared.event_follower.EventFollower`) in a background thread and emits every
    event to each audience, in ``seq`` order.

    Events go out in batches (what one XREAD returned, at most ``batch_size``, batches at least ``min_interval``
    seconds apart): per batch and audience each event is encoded once and every socket of the audience gets the
    batch as one item, written with one ``sendall`` (:mod:`display.fanout`). A screen still receives one Socket.IO
    event per hall event, in ``seq`` order."""

    #: default spacing of batches: under a stream of events, a screen gets at most ~50 writes a second; a call still
    #: reaches it within this much of the previous batch (docs/display.md, "Under load")
    MIN_INTERVAL = 0.02

    def __init__(self, socketio, redis_url: str, stream: str, *, windows: Iterable[int] = (),
                 on_emitted=None, on_view_failed: Callable[[str, str], None] | None = None,
                 on_delivered: Callable[[int, int], None] | None = None, prefix: str = "",
                 batch_size: int = 500, min_interval: float | None = None) -> None:
        self.socketio = socketio
        self.follower = EventFollower(redis_url, stream, batch_size=batch_size, on_rewound=self.emit_rewound,
                                      min_interval=self.MIN_INTERVAL if min_interval is None else min_interval)
        self.audiences = audiences(windows, prefix)  # one relay per hall: its stream → its namespaces
        self.fanout = Fanout(socketio, on_delivered)  # on_delivered(written, queued): display.fanout (metrics)
        self.on_emitted = on_emitted  # callable(event) after each emit (metrics: call→emit latency)
        self.on_view_failed = on_view_failed  # callable(audience label, event type) per view that failed (metrics)

    def start(self) -> None:
        self.follower.anchor()  # from the newest event now: nothing appended once this process serves is skipped
        threading.Thread(target=self.follower.run, kwargs={"on_batch": self.emit_batch}, name="onewindow-relay",
                         daemon=True).start()

    def stop(self) -> None:
        """Stop following (the server's worker does at exit)."""
        self.follower.stop()

    def emit(self, event: events.Event) -> None:
        """Send one event to every audience (each its own view of it)."""
        self.emit_batch([event])

    def emit_batch(self, batch: list[events.Event]) -> None:
        """Send these events, in order, to every audience (each its own view of them; :data:`RESYNC` in place of a
        view that could not be built)."""
        for audience in self.audiences:
            counted: set[int] = set()  # seqs of this audience's views that failed, logged and counted already
            try:  # the views are worked out only when someone listens (Fanout.send calls them then)
                self.fanout.send(audience.namespace, audience.room,
                                 lambda audience=audience, counted=counted: self._views(audience, batch, counted))
            except Exception as exc:  # not sent at all (e.g. a payload that cannot be encoded): this audience's
                # screens load their state; the others still get the batch
                self._failed(audience, [event for event in batch if event.seq not in counted], exc)
                try:
                    self.fanout.send(audience.namespace, audience.room,
                                     [(RESYNC, resync_stub(event)) for event in batch])
                except Exception:
                    logger.exception("telling %s to resync failed", audience.label)
        if self.on_emitted is not None:
            for event in batch:
                self.on_emitted(event)

    def _views(self, audience: Audience, batch: list[events.Event], counted: set[int]) -> list[tuple[str, dict]]:
        """``audience``'s view of each event as (Socket.IO event name, payload); :func:`resync_stub` for each view
        that raised (logged once for the batch, their seqs added to ``counted``)."""
        items, failed, error = [], [], None
        for event in batch:
            try:
                payload = audience.view(event)
                items.append((payload["type"], payload))
            except Exception as exc:
                failed.append(event)
                error = exc
                items.append((RESYNC, resync_stub(event)))
        if error is not None:
            self._failed(audience, failed, error)
            counted.update(event.seq for event in failed)
        return items

    def _failed(self, audience: Audience, failed: list[events.Event], exc: BaseException) -> None:
        if not failed:
            return
        log_view_failure(audience.label, failed, exc)
        if self.on_view_failed is not None:
            for event in failed:
                try:
                    self.on_view_failed(audience.label, event.type)
                except Exception:
                    logger.exception("counting a failed view")

    def emit_rewound(self, seq: int) -> None:
        """The stream went back to ``seq`` (events the screens saw were lost): tell every audience to load its state
        again (the events that follow reuse seq ``seq + 1`` …)."""
        payload = {"seq": seq, "type": STREAM_REWOUND, "ts": int(time.time() * 1000)}
        for audience in self.audiences:  # the batches' path: it reaches each socket after the events before it
            try:
                self.fanout.send(audience.namespace, audience.room, [(STREAM_REWOUND, payload)])
            except Exception:
                logger.exception("telling %s %s the stream went back failed", audience.namespace, audience.room or "")

    def position(self) -> str | None:
        """The stream id of the last event emitted (None before the first: the relay started at the newest)."""
        return self.follower.position()
