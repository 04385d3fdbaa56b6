"""Catching a screen up: the events of the stream after the ``seq`` it last applied, for a screen that reconnects.

Every server process follows the stream and emits each new event to its own sockets, so a screen gets every event
whichever process holds its socket; what it misses is what happened while it had no socket (a blip, a process that
died, a restart). On reconnecting it asks for the events after its last ``seq`` (:func:`events_after`) while new
ones already reach it: it applies the missed ones in order, then the new ones, skipping any ``seq`` it already has.
When the events are no longer in the stream (archived and trimmed, a store reset) or too many to be worth sending,
the answer says so and the screen loads a snapshot instead.

**The seq alone is not enough.** After a failover that lost the newest events (no ``WAIT``), the stream goes back
and the next events take the lost ones' seqs again. A screen that had no socket while the relay announced it
(``stream_rewound``) and reconnects once the stream has grown past its seq again would be given the events after
that seq as if nothing had happened, and keep showing tickets that no longer exist. So a client also sends the
stream entry id of the event it saw last (``entry``: every event the relay sends carries it, and so does every live
page's snapshot — ``seq_and_entry`` in ``shared/lua/_prelude.lua``): :func:`events_after_entry` answers only while
the entry with that seq is still that entry.
"""

from __future__ import annotations

from dataclasses import dataclass

from typing import TYPE_CHECKING

import re

import redis

from shared.events import Event

if TYPE_CHECKING:
    from shared.engine import Engine

#: a screen that missed more than this loads a snapshot rather than replaying them
MAX_CATCH_UP = 500
_PAGE = 100
_ENTRY_ID = re.compile(r"([0-9]{1,20})-([0-9]{1,20})")


def is_entry_id(value: object) -> bool:
    """``value`` is a stream entry id as Redis writes it (``<ms>-<n>``, each part a 64-bit unsigned integer): what a
    client may send as ``entry``."""
    m = _ENTRY_ID.fullmatch(value) if isinstance(value, str) else None
    return m is not None and all(int(part) < 2 ** 64 for part in m.groups())


@dataclass(frozen=True)
class CatchUp:
    """The events after ``after`` (oldest first), or ``complete=False`` when they cannot all be given."""

    after: int
    events: list[Event]
    complete: bool


def catch_up(engine: Engine, after: int, limit: int = MAX_CATCH_UP, entry: str | None = None) -> CatchUp:
    """The hall's events after ``seq == after`` — after the stream entry ``entry`` when the client names the event
    it saw last (:func:`events_after_entry`), else by seq alone (:func:`events_after`, older clients)."""
    if entry is not None:
        return events_after_entry(engine.redis, engine.keys.events, after, entry, limit)
    return events_after(engine.redis, engine.keys.events, after, limit)


def events_after_entry(client: redis.Redis, stream: str, after: int, entry: str,
                       limit: int = MAX_CATCH_UP) -> CatchUp:
    """The events after the stream entry ``entry``, which must still be the event with ``seq == after``.

    One read (``XRANGE stream entry + COUNT limit + 2``), everything decided from it: complete only when its first
    entry is ``entry`` itself with ``seq == after`` (that event was not lost in a failover, nor trimmed) and the
    ones after it run ``after + 1, after + 2, …`` without a hole, at most ``limit`` of them. Otherwise incomplete:
    the entry is gone (lost, with its seq maybe reused by a different event; or archived and trimmed), the stream
    ends before it, or more than ``limit`` events followed it — the screen loads a snapshot."""
    page = client.xrange(stream, min=entry, max="+", count=limit + 2)
    if not page or page[0][0] != entry or int(page[0][1]["seq"]) != after or len(page) > limit + 1:
        return CatchUp(after, [], False)
    newer = [Event.from_entry(entry_id, fields) for entry_id, fields in page[1:]]
    whole = all(e.seq == after + 1 + i for i, e in enumerate(newer))
    return CatchUp(after, newer if whole else [], whole)


def events_after(client: redis.Redis, stream: str, after: int, limit: int = MAX_CATCH_UP) -> CatchUp:
    """The events with ``seq > after``, read backwards from the newest (a short outage costs one small read; a
    ``after`` too old, or past the newest after a lossy failover, costs one entry's read).

    Complete when the event with ``seq == after`` (or, at the oldest event kept, ``seq == after + 1``) is reached
    within ``limit`` events and the seqs run without a hole; otherwise incomplete (the screen loads a snapshot)."""
    newest = client.xrevrange(stream, count=1)
    if not newest:
        return CatchUp(after, [], after == 0)
    top = int(newest[0][1]["seq"])
    if top < after or top - after > limit:  # the stream went back, or more than a catch-up gives: a snapshot, at once
        return CatchUp(after, [], False)
    if top == after:  # nothing missed: the one entry read says so
        return CatchUp(after, [], True)
    newer = [Event.from_entry(*newest[0])]  # the newest, read already; then what should reach seq == after, in one
    upper, count = "(" + newest[0][0], top - after  # more read when the seqs run on
    while True:
        page = client.xrevrange(stream, max=upper, min="-", count=count)
        for entry_id, fields in page:
            event = Event.from_entry(entry_id, fields)
            if event.seq <= after:
                return _checked(after, newer, reached=event.seq == after)
            newer.append(event)
            if len(newer) > limit:
                return CatchUp(after, [], False)
        if len(page) < count:  # the oldest event kept: complete if it is the one right after ``after``
            return _checked(after, newer, reached=newer[-1].seq == after + 1 if newer else after == 0)
        upper, count = "(" + page[-1][0], _PAGE


def _checked(after: int, newer: list[Event], *, reached: bool) -> CatchUp:
    events = newer[::-1]
    whole = reached and all(e.seq == after + 1 + i for i, e in enumerate(events))
    return CatchUp(after, events if whole else [], whole)
