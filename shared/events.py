"""The event stream: every state change, in ``seq`` order — the audit log, and the source for screens and statistics.

Event names are past-tense constants; each stream entry holds ``seq``, ``type``, ``ts`` (ms) and ``data`` (JSON,
which repeats seq/type/ts and carries the ticket and window involved).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import redis

logger = logging.getLogger(__name__)

TICKET_ISSUED = "ticket_issued"
TICKET_CALLED = "ticket_called"
TICKET_RECALLED = "ticket_recalled"
TICKET_FINISHED = "ticket_finished"
TICKET_MARKED_NO_SHOW = "ticket_marked_no_show"
TICKET_TRANSFERRED = "ticket_transferred"
TICKET_CANCELLED = "ticket_cancelled"
WINDOW_PAUSED = "window_paused"
WINDOW_RESUMED = "window_resumed"
PRINTER_FAULTED = "printer_faulted"
PRINTER_RECOVERED = "printer_recovered"
# counter: evaluation device, 办不成事 cases, clerk sign-in (payloads documented in docs/counter.md)
TICKET_RATED = "ticket_rated"
CASE_RECORDED = "case_recorded"
CLERK_SIGNED_IN = "clerk_signed_in"
CLERK_SIGNED_OUT = "clerk_signed_out"
# supervisor: follow-ups and the calendar (payloads documented in docs/statistics.md)
CASE_RESOLVED = "case_resolved"
RATING_FOLLOWED_UP = "rating_followed_up"
SCHEDULE_CHANGED = "schedule_changed"
# 好差评: the 差评 workflow and upstream reporting (payloads documented in docs/haocaiping.md)
RECTIFICATION_OPENED = "rectification_opened"
RECTIFICATION_STEP_COMPLETED = "rectification_step_completed"
CALLBACK_LOGGED = "callback_logged"
APPEAL_FILED = "appeal_filed"
APPEAL_RULED = "appeal_ruled"
OUTBOX_ENTRY_FAILED = "outbox_entry_failed"
OUTBOX_ENTRY_RESENT = "outbox_entry_resent"
# issue 14: remote tickets, appointments (payloads documented in docs/appointments.md)
TICKET_EXPIRED = "ticket_expired"
TICKET_ACTIVATED = "ticket_activated"
BOOKING_HELD = "booking_held"
BOOKING_CONFIRMED = "booking_confirmed"
BOOKING_CANCELLED = "booking_cancelled"
BOOKING_RESCHEDULED = "booking_rescheduled"
BOOKING_CHECKED_IN = "booking_checked_in"
BOOKING_MISSED = "booking_missed"
# counter: a 过号 undone by its window ({ticket, window, clerk, no_show_ms}; the ticket waits again in its place)
NO_SHOW_UNDONE = "no_show_undone"
# kiosk: the "需要帮助" button and the guide who answered it (payloads documented in docs/kiosk.md)
HELP_REQUESTED = "help_requested"
HELP_HANDLED = "help_handled"
# 帮办代办: a guide or the supervisor marked a waiting / called ticket as helped (payload {ticket, by, note})
TICKET_ASSISTED = "ticket_assisted"

ALL_EVENTS = (
    TICKET_ISSUED, TICKET_CALLED, TICKET_RECALLED, TICKET_FINISHED, TICKET_MARKED_NO_SHOW, TICKET_TRANSFERRED,
    TICKET_CANCELLED, WINDOW_PAUSED, WINDOW_RESUMED, PRINTER_FAULTED, PRINTER_RECOVERED,
    TICKET_RATED, CASE_RECORDED, CLERK_SIGNED_IN, CLERK_SIGNED_OUT,
    CASE_RESOLVED, RATING_FOLLOWED_UP, SCHEDULE_CHANGED,
    RECTIFICATION_OPENED, RECTIFICATION_STEP_COMPLETED, CALLBACK_LOGGED, APPEAL_FILED, APPEAL_RULED,
    OUTBOX_ENTRY_FAILED, OUTBOX_ENTRY_RESENT,
    TICKET_EXPIRED, TICKET_ACTIVATED, BOOKING_HELD, BOOKING_CONFIRMED, BOOKING_CANCELLED, BOOKING_RESCHEDULED,
    BOOKING_CHECKED_IN, BOOKING_MISSED,
    NO_SHOW_UNDONE,
    HELP_REQUESTED, HELP_HANDLED, TICKET_ASSISTED,
)


@dataclass(frozen=True)
class Event:
    """One stream entry."""

    id: str  # stream id
    seq: int
    type: str
    ts: int  # ms since the epoch
    data: dict

    @classmethod
    def from_entry(cls, entry_id: str, fields: dict) -> Event:
        return cls(entry_id, int(fields["seq"]), fields["type"], int(fields["ts"]), json.loads(fields["data"]))


def read_range(client: redis.Redis, stream: str, start: str = "-", end: str = "+", count: int = 1000) -> Iterator[Event]:
    """All events between two stream ids, oldest first, read in pages."""
    lower = start
    while True:
        batch = client.xrange(stream, min=lower, max=end, count=count)
        for entry_id, fields in batch:
            yield Event.from_entry(entry_id, fields)
        if len(batch) < count:
            return
        lower = "(" + batch[-1][0]


def follow(client: redis.Redis, stream: str, last_id: str = "$", block_ms: int = 5000,
           count: int = 500) -> Iterator[list[Event]]:
    """Yield batches of new events forever (an empty batch on each idle ``block_ms``).

    ``client`` must have no socket timeout (see :func:`shared.redis_client.connect`). Connection errors propagate; the
    caller decides how to back off and resume from the last id it handled. A batch holds at most ``count`` events.
    """
    if last_id == "$":
        newest = client.xrevrange(stream, count=1)
        last_id = newest[0][0] if newest else "0-0"
    while True:
        answer = client.xread({stream: last_id}, block=block_ms, count=count)
        batch: list[Event] = []
        streams = answer.items() if isinstance(answer, dict) else (answer or [])
        for _stream, entries in streams:
            for entry_id, fields in entries:
                batch.append(Event.from_entry(entry_id, fields))
                last_id = entry_id
        yield batch
