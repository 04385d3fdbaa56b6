"""Events → facts: one row per ticket (its whole life on its business day), one per transfer, per 办不成事 case, per
follow-up, per rectification record (差评整改) and per step of one. The same fold serves the live day (from the Redis
stream) and the archive (closed days), so a figure is computed the same way whichever store it comes from.

Every ticket event belongs to the ticket's business date (``ticket.day``) — a rating and the rectification record it
opens included, however late; events without a ticket (follow-ups, the steps, call-backs and appeals of a
rectification record, schedule changes, printer and sign-in events) belong to the local date of their timestamp and
are linked to what they act on by reference.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from shared import events
from shared.events import Event

# final states of a ticket at the end of its day (or now, for today)
HANDLED, CONSULTED, NO_SHOW, CANCELLED, WAITING, CALLED = "handled", "consulted", "no_show", "cancelled", "waiting", "called"
EXPIRED = "expired"  # a remote ticket whose holder had not checked in when its turn came
# how a ticket came: taken in the hall, checked in for a booking (in its window), or taken remotely
WALK_IN, APPOINTMENT, REMOTE = "walk_in", "appointment", "remote"
UNSERVED = (WAITING, CALLED)


@dataclass
class TicketFact:
    """A ticket's life: issue, first call, last call, how it ended, its rating."""

    id: str
    day: str  # YYYY-MM-DD
    number: str
    service_issued: str
    service: str  # the service it ended in (a transfer to a service changes it)
    priority: bool
    issued_ms: int
    status: str = WAITING  # handled | consulted | no_show | cancelled | expired | waiting | called
    first_call_ms: int | None = None
    first_window: int | None = None
    first_clerk: str | None = None
    last_call_ms: int | None = None
    end_ms: int | None = None
    window: int | None = None  # where it was last called / ended
    clerk: str | None = None
    service_ms: int | None = None  # last call → finish, finished tickets only
    transfers: int = 0
    rating: int | None = None
    rated_ms: int | None = None
    rating_window: int | None = None
    rating_clerk: str | None = None
    matter_code: str | None = None  # the 事项 served (chosen at finish)
    matter_name: str | None = None
    rating_default: bool = False  # the first rating is the system's default (默认评价)
    rating_channel: str | None = None  # tablet | phone | default
    followup: int | None = None  # the level of the 追评
    followup_ms: int | None = None
    kind: str = WALK_IN  # walk_in | appointment | remote (a late booking's walk-in ticket is a walk-in)
    realname: bool = False  # taken with an ID (card or typed number)
    green_auto: bool = False  # 绿色通道 given by age
    slot_ms: int | None = None  # appointment: its slot's start
    activated_ms: int | None = None  # remote: when its holder checked in
    booking: str | None = None  # the booking id (appointments, late bookings)

    @property
    def wait_ms(self) -> int | None:
        """Issue → first call."""
        return None if self.first_call_ms is None else max(0, self.first_call_ms - self.issued_ms)

    @property
    def appointment_wait_ms(self) -> int | None:
        """An appointment's wait: from its slot's start (or its check-in, if later) to its first call."""
        if self.kind != APPOINTMENT or self.first_call_ms is None:
            return None
        return max(0, self.first_call_ms - max(self.issued_ms, self.slot_ms or 0))


@dataclass
class TransferFact:
    day: str
    ticket: str
    ts: int
    from_service: str
    from_window: int | None
    from_clerk: str | None
    to_service: str | None
    to_window: int | None
    reason: str | None = None  # the code of the clerk's reason (engine.TRANSFER_REASONS), if any
    reason_text: str | None = None


@dataclass
class CaseFact:
    """A 办不成事 case as recorded at the window."""

    id: str
    day: str
    ticket: str
    number: str
    service: str
    window: int | None
    clerk: str | None
    department: str
    problem: str
    action: str
    resolved_on_spot: bool
    recorded_ms: int


@dataclass
class Resolution:
    """A follow-up: a case resolved later (``case``) or a bad rating followed up (``rating``)."""

    kind: str  # case | rating
    ref: str  # case id | ticket id
    day: str
    by: str
    note: str
    at_ms: int


@dataclass
class RectificationFact:
    """A rectification record as opened (its visit's day): what it is about and its deadlines."""

    id: str
    day: str
    kind: str  # rating | case
    ref: str  # rating id | case id
    ticket: str
    service: str
    window: int | None
    clerk: str | None
    matter_code: str | None
    level: int | None
    assess: int | None
    has_contact: bool
    opened_ms: int
    verify_due: str
    rectify_due: str
    reply_due: str


@dataclass
class RectificationEvent:
    """Something done on a rectification record (the day it was done): a step, a call-back, an appeal, a ruling."""

    ref: str  # the record's id
    day: str
    kind: str  # step | callback | appeal | ruling
    detail: str  # the step (verify | rectify | reply), the call-back's outcome, the appeal's grounds, upheld | rejected
    flag: bool  # step: on time; ruling: upheld
    by: str
    at_ms: int


@dataclass
class BookingEvent:
    """Something that happened to a booking: ``made`` (confirmed), ``cancelled`` (a confirmed booking, before its
    slot), ``rescheduled`` — on the day it happened —; ``checked_in``, ``missed`` (爽约) — on the slot's day."""

    ref: str  # the booking id
    day: str
    service: str
    kind: str  # made | cancelled | rescheduled | checked_in | missed
    detail: str  # made: the channel (phone, province, kiosk, staff); cancelled: the actor
    at_ms: int


@dataclass
class DayFacts:
    """Everything the statistics know about one business day."""

    day: str
    tickets: dict[str, TicketFact] = field(default_factory=dict)
    transfers: list[TransferFact] = field(default_factory=list)
    cases: dict[str, CaseFact] = field(default_factory=dict)
    resolutions: dict[tuple[str, str], Resolution] = field(default_factory=dict)
    rectifications: dict[str, RectificationFact] = field(default_factory=dict)
    rect_events: list[RectificationEvent] = field(default_factory=list)
    #: (window, "called" | "recalled") → how many calls and recalls a window made that day (live days only: the
    #: counter's today; the archive keeps the tickets, whose first and last calls it needs)
    calls: Counter[tuple[int, str]] = field(default_factory=Counter)
    booking_events: list[BookingEvent] = field(default_factory=list)
    #: help_requested events (a kiosk's "需要帮助" button) that day
    help_requests: int = 0
    last_seq: int = 0
    events: int = 0


def iso_day(compact: str) -> str:
    """20261127 → 2026-11-27."""
    return f"{compact[:4]}-{compact[4:6]}-{compact[6:8]}"


def event_day(event: Event, tz: ZoneInfo) -> str:
    """The business date an event belongs to (YYYY-MM-DD): its ticket's day, a missed booking's slot day
    (``on_day``), else the local date it happened."""
    on_day = event.data.get("on_day")
    if isinstance(on_day, str) and len(on_day) == 8 and on_day.isdigit():
        return iso_day(on_day)
    ticket = event.data.get("ticket")
    if isinstance(ticket, dict) and isinstance(ticket.get("day"), str) and len(ticket["day"]) == 8:
        return iso_day(ticket["day"])
    return datetime.fromtimestamp(event.ts / 1000, tz).date().isoformat()


class Folder:
    """Folds events, in stream order, into :class:`DayFacts` per business day."""

    def __init__(self, tz: ZoneInfo, days: dict[str, DayFacts] | None = None) -> None:
        self.tz = tz
        self.days: dict[str, DayFacts] = days if days is not None else {}

    def day(self, name: str) -> DayFacts:
        facts = self.days.get(name)
        if facts is None:
            facts = self.days[name] = DayFacts(name)
        return facts

    def apply(self, event: Event) -> str:
        """Apply one event; returns the day it belonged to."""
        name = event_day(event, self.tz)
        facts = self.day(name)
        facts.events += 1
        facts.last_seq = max(facts.last_seq, event.seq)
        handler = _HANDLERS.get(event.type)
        if handler is not None:
            handler(facts, event, self.tz)
        return name


def _ticket(facts: DayFacts, event: Event, tz: ZoneInfo) -> TicketFact | None:
    t = event.data.get("ticket")
    if not isinstance(t, dict) or "id" not in t:
        return None
    fact = facts.tickets.get(t["id"])
    if fact is None:  # its issue is not in this fold (a trimmed stream): start from the snapshot the event carries
        fact = facts.tickets[t["id"]] = TicketFact(
            id=t["id"], day=facts.day, number=t.get("number", ""), service_issued=t.get("service", ""),
            service=t.get("service", ""), priority=bool(t.get("priority")), issued_ms=int(t.get("issued_ms") or event.ts))
    return fact


def _int(value) -> int | None:
    try:
        return None if value is None or value == "" else int(value)
    except (TypeError, ValueError):
        return None


def _str(value) -> str | None:
    return None if value in (None, "") else str(value)


def _issued(facts: DayFacts, event: Event, tz: ZoneInfo) -> None:
    f = _ticket(facts, event, tz)
    if f is None:
        return
    t = event.data["ticket"]
    f.kind = APPOINTMENT if t.get("appointment") else REMOTE if t.get("remote") else WALK_IN
    f.realname = bool(t.get("realname"))
    f.green_auto = t.get("green") == "age"
    f.slot_ms = _int(t.get("slot_ms"))
    f.booking = _str(t.get("booking"))


def _expired(facts: DayFacts, event: Event, tz: ZoneInfo) -> None:
    f = _ticket(facts, event, tz)
    if f is None:
        return
    f.status, f.end_ms = EXPIRED, event.ts
    f.kind = REMOTE


def _activated(facts: DayFacts, event: Event, tz: ZoneInfo) -> None:
    f = _ticket(facts, event, tz)
    if f is not None and f.activated_ms is None:
        f.activated_ms = event.ts
        f.kind = REMOTE


def _booking(kind: str):
    def handler(facts: DayFacts, event: Event, tz: ZoneInfo) -> None:
        b = event.data.get("booking")
        if not isinstance(b, dict) or not b.get("id"):
            return
        if kind == "cancelled" and event.data.get("was") != "confirmed":
            return  # a hold given up or run out: never a booking
        detail = str(event.data.get("actor") or "") if kind == "cancelled" else str(b.get("channel") or "")
        facts.booking_events.append(BookingEvent(str(b["id"]), facts.day, str(b.get("service") or ""), kind, detail,
                                                 event.ts))
    return handler


def _called(facts: DayFacts, event: Event, tz: ZoneInfo) -> None:
    f = _ticket(facts, event, tz)
    if f is None:
        return
    window, clerk = _int(event.data.get("window")), _str(event.data.get("clerk"))
    facts.calls[(window, "called")] += 1
    if f.first_call_ms is None:
        f.first_call_ms, f.first_window, f.first_clerk = event.ts, window, clerk
    f.last_call_ms = event.ts
    f.status, f.window, f.clerk = CALLED, window, clerk
    f.service = event.data["ticket"].get("service", f.service)


def _recalled(facts: DayFacts, event: Event, tz: ZoneInfo) -> None:
    if _ticket(facts, event, tz) is not None:
        facts.calls[(_int(event.data.get("window")), "recalled")] += 1


def _finished(facts: DayFacts, event: Event, tz: ZoneInfo) -> None:
    f = _ticket(facts, event, tz)
    if f is None:
        return
    t = event.data["ticket"]
    f.status = HANDLED if t.get("outcome") == HANDLED else CONSULTED
    f.end_ms = event.ts
    f.window, f.clerk = _int(event.data.get("window")), _str(event.data.get("clerk"))
    f.service = t.get("service", f.service)
    matter = t.get("matter")
    if isinstance(matter, dict):
        f.matter_code, f.matter_name = _str(matter.get("code")), _str(matter.get("name"))
    service_ms = _int(event.data.get("service_ms"))
    if service_ms is None and f.last_call_ms is not None:
        service_ms = event.ts - f.last_call_ms
    f.service_ms = max(0, service_ms) if service_ms is not None else None


def _no_show(facts: DayFacts, event: Event, tz: ZoneInfo) -> None:
    f = _ticket(facts, event, tz)
    if f is None:
        return
    f.status, f.end_ms = NO_SHOW, event.ts
    f.window, f.clerk = _int(event.data.get("window")), _str(event.data.get("clerk"))
    f.service = event.data["ticket"].get("service", f.service)


def _transferred(facts: DayFacts, event: Event, tz: ZoneInfo) -> None:
    f = _ticket(facts, event, tz)
    if f is None:
        return
    d = event.data
    why = d.get("reason") if isinstance(d.get("reason"), dict) else {}
    from_service = d.get("from_service") or f.service
    facts.transfers.append(TransferFact(
        day=facts.day, ticket=f.id, ts=event.ts, from_service=from_service, from_window=_int(d.get("window")),
        from_clerk=_str(d.get("clerk")), to_service=_str(d.get("to_service")), to_window=_int(d.get("to_window")),
        reason=_str(why.get("code")), reason_text=_str(why.get("text"))))
    f.transfers += 1
    f.status = WAITING
    f.service = d["ticket"].get("service", f.service)
    f.window = f.clerk = None


def _no_show_undone(facts: DayFacts, event: Event, tz: ZoneInfo) -> None:
    """A 过号 taken back by its window: the ticket waits again (its no-show no longer counts)."""
    f = _ticket(facts, event, tz)
    if f is None:
        return
    facts.calls[(_int(event.data.get("window")), "no_show_undone")] += 1
    f.status, f.end_ms = WAITING, None
    f.window = f.clerk = None
    f.service = event.data["ticket"].get("service", f.service)


def _cancelled(facts: DayFacts, event: Event, tz: ZoneInfo) -> None:
    f = _ticket(facts, event, tz)
    if f is None:
        return
    f.status, f.end_ms = CANCELLED, event.ts
    f.service = event.data["ticket"].get("service", f.service)


def _rated(facts: DayFacts, event: Event, tz: ZoneInfo) -> None:
    f = _ticket(facts, event, tz)
    level = _int(event.data.get("level"))
    if f is None or level is None or not 1 <= level <= 5:
        return
    rating = event.data.get("rating") if isinstance(event.data.get("rating"), dict) else {}
    if _int(rating.get("assess")) == 2:  # a 追评: one per visit, the first counts
        if f.followup is None:
            f.followup, f.followup_ms = level, event.ts
        return
    if f.rating is not None:
        return  # one rating per ticket: the first counts
    f.rating, f.rated_ms = level, event.ts
    f.rating_window = _int(event.data.get("window")) or f.window
    f.rating_clerk = _str(event.data.get("clerk")) or _str(event.data["ticket"].get("clerk")) or f.clerk
    f.rating_default = bool(rating.get("default"))
    f.rating_channel = _str(rating.get("channel"))
    if f.matter_code is None and rating.get("matter_code"):
        f.matter_code, f.matter_name = _str(rating.get("matter_code")), _str(rating.get("matter_name"))


def _rect_opened(facts: DayFacts, event: Event, tz: ZoneInfo) -> None:
    r = event.data.get("rectification")
    t = event.data.get("ticket")
    if not isinstance(r, dict) or not r.get("id") or not isinstance(t, dict) or r["id"] in facts.rectifications:
        return
    due = r.get("deadlines") if isinstance(r.get("deadlines"), dict) else {}
    facts.rectifications[r["id"]] = RectificationFact(
        id=r["id"], day=facts.day, kind=str(r.get("kind") or ""), ref=str(r.get("ref") or ""),
        ticket=str(t.get("id") or ""), service=str(r.get("service") or t.get("service") or ""),
        window=_int(r.get("window")), clerk=_str(r.get("clerk")), matter_code=_str(r.get("matter_code")),
        level=_int(r.get("level")), assess=_int(r.get("assess")), has_contact=bool(r.get("has_contact")),
        opened_ms=event.ts, verify_due=str(due.get("verify") or ""), rectify_due=str(due.get("rectify") or ""),
        reply_due=str(due.get("reply") or ""))


def _rect_event(kind: str):
    def handler(facts: DayFacts, event: Event, tz: ZoneInfo) -> None:
        d = event.data
        ref = _str(d.get("ref"))
        if ref is None:
            return
        if kind == "step":
            detail, flag = str(d.get("step") or ""), bool(d.get("on_time"))
        elif kind == "callback":
            detail, flag = str(d.get("outcome") or ""), False
        elif kind == "appeal":
            detail, flag = str(d.get("grounds") or ""), False
        else:
            detail, flag = ("upheld" if d.get("upheld") else "rejected"), bool(d.get("upheld"))
        facts.rect_events.append(RectificationEvent(ref, facts.day, kind, detail, flag, str(d.get("by") or ""),
                                                    event.ts))
    return handler


def _case(facts: DayFacts, event: Event, tz: ZoneInfo) -> None:
    c = event.data.get("case")
    t = event.data.get("ticket")
    if not isinstance(c, dict) or not c.get("id") or not isinstance(t, dict):
        return
    _ticket(facts, event, tz)
    facts.cases[c["id"]] = CaseFact(
        id=c["id"], day=facts.day, ticket=t.get("id", ""), number=t.get("number", ""), service=t.get("service", ""),
        window=_int(event.data.get("window")), clerk=_str(event.data.get("clerk")),
        department=str(c.get("department") or ""), problem=str(c.get("problem") or ""),
        action=str(c.get("action") or ""), resolved_on_spot=bool(c.get("resolved")), recorded_ms=event.ts)


def _resolution(kind: str):
    def handler(facts: DayFacts, event: Event, tz: ZoneInfo) -> None:
        ref = _str(event.data.get("ref"))
        if ref is None or (kind, ref) in facts.resolutions:
            return
        facts.resolutions[(kind, ref)] = Resolution(kind, ref, facts.day, str(event.data.get("by") or ""),
                                                    str(event.data.get("note") or ""), event.ts)
    return handler


def _help_requested(facts: DayFacts, event: Event, tz: ZoneInfo) -> None:
    facts.help_requests += 1


_HANDLERS = {
    events.TICKET_ISSUED: _issued,
    events.TICKET_CALLED: _called,
    events.TICKET_RECALLED: _recalled,
    events.TICKET_FINISHED: _finished,
    events.TICKET_MARKED_NO_SHOW: _no_show,
    events.TICKET_TRANSFERRED: _transferred,
    events.TICKET_CANCELLED: _cancelled,
    events.NO_SHOW_UNDONE: _no_show_undone,
    events.TICKET_RATED: _rated,
    events.CASE_RECORDED: _case,
    events.CASE_RESOLVED: _resolution("case"),
    events.RATING_FOLLOWED_UP: _resolution("rating"),
    events.RECTIFICATION_OPENED: _rect_opened,
    events.RECTIFICATION_STEP_COMPLETED: _rect_event("step"),
    events.CALLBACK_LOGGED: _rect_event("callback"),
    events.APPEAL_FILED: _rect_event("appeal"),
    events.APPEAL_RULED: _rect_event("ruling"),
    events.TICKET_EXPIRED: _expired,
    events.TICKET_ACTIVATED: _activated,
    events.BOOKING_CONFIRMED: _booking("made"),
    events.BOOKING_CANCELLED: _booking("cancelled"),
    events.BOOKING_RESCHEDULED: _booking("rescheduled"),
    events.BOOKING_CHECKED_IN: _booking("checked_in"),
    events.BOOKING_MISSED: _booking("missed"),
    events.HELP_REQUESTED: _help_requested,
}

