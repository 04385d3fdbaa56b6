"""Catching a screen up: the events of the stream after the ``seq`` it last applied, for a screen that reconnects.

Every server process follows the stream and emits each new event to its own sockets, so a screen gets every event
whichever process holds its socket; what it misses is what happened while it had no socket (a blip, a process that
died, a restart). On reconnecting it asks for the events after its last ``seq`` (:func:`events_after`) while new
ones already reach it: it applies the missed ones in order, then the new ones, skipping any ``seq`` it already has.
When the events are no longer in the stream (archived and trimmed, a store reset) or too many to be worth sending,
the answer says so and the screen loads a snapshot instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from typing import TYPE_CHECKING

import redis

from shared.events import Event

if TYPE_CHECKING:
    from shared.engine import Engine

#: a screen that missed more than this loads a snapshot rather than replaying them
MAX_CATCH_UP = 500
_PAGE = 100


@dataclass(frozen=True)
class CatchUp:
    """The events after ``after`` (oldest first), or ``complete=False`` when they cannot all be given."""

    after: int
    events: list[Event]
    complete: bool


def catch_up(engine: Engine, after: int, limit: int = MAX_CATCH_UP) -> CatchUp:
    """The hall's events after ``seq == after`` (see :func:`events_after`)."""
    return events_after(engine.redis, engine.keys.events, after, limit)


def events_after(client: redis.Redis, stream: str, after: int, limit: int = MAX_CATCH_UP) -> CatchUp:
    """The events with ``seq > after``, read backwards from the newest (a short outage costs one small read).

    Complete when the event with ``seq == after`` (or, at the oldest event kept, ``seq == after + 1``) is reached
    within ``limit`` events and the seqs run without a hole; otherwise incomplete (the screen loads a snapshot)."""
    newer: list[Event] = []
    upper = "+"
    while True:
        page = client.xrevrange(stream, max=upper, min="-", count=_PAGE)
        for entry_id, fields in page:
            event = Event.from_entry(entry_id, fields)
            if event.seq <= after:
                return _checked(after, newer, reached=event.seq == after)
            newer.append(event)
            if len(newer) > limit:
                return CatchUp(after, [], False)
        if len(page) < _PAGE:  # the oldest event kept: complete only if the stream starts right after ``after``
            # the oldest event kept: complete if it is the one right after ``after`` (an empty stream: only at 0)
            return _checked(after, newer, reached=newer[-1].seq == after + 1 if newer else after == 0)
        upper = "(" + page[-1][0]


def _checked(after: int, newer: list[Event], *, reached: bool) -> CatchUp:
    events = newer[::-1]
    whole = reached and all(e.seq == after + 1 + i for i, e in enumerate(events))
    return CatchUp(after, events if whole else [], whole)
