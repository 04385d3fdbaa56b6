"""Appointments (预约): hold a slot, confirm, cancel, reschedule, look up — for the provincial app's API and the
hall's phone page — and the background sweep (expired holds, missed bookings, reminders). docs/appointments.md.

Every change is one Lua script (``booking_*.lua``) that decides from the booking and the slot as they are then,
through the one runner: a request sent again (its ``request_id``, or the edge's ``Idempotency-Key`` scope) has one
effect. Python reads the booking only to name its keys; the script checks that what it reads is what Python read
(else ``retry``).

**Lifecycle**::

    hold ──confirm──▶ confirmed ──check-in (kiosk)──▶ checked_in   (a ticket in the appointment band)
     │                  │   │  └──window closed, nobody came──▶ missed (爽约: a no-show of the ID)
     │                  │   └──reschedule──▶ confirmed (another slot, same code)
     ├──hold ran out──▶ expired
     └──cancel──▶ cancelled ◀──cancel── (before the slot starts)

A **hold** takes a place for ``hold_minutes``: while it lasts the place is gone; when it runs out the place is free
at once (capacity counts confirmed bookings plus *live* holds), and the sweep marks the booking ``expired``.

The **booking code** (``K7M2-9QXD``: 8 characters of an alphabet without 0/O/1/I, 40 random bits) is what the
citizen holds: it confirms, cancels, moves and checks in the booking, and is sent in the confirmation message —
never on the event stream or a screen of the hall. The booking's ``id`` (``BK0000042``) is what the hall's events
and figures use. :func:`qr_text` is the content of the booking's QR code (the phone page shows it; the kiosk's
scanner reads it back with :func:`parse_scan`).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from shared import idempotency
from shared.config import Service
from shared.engine import NOTIFY_TOPIC, TOKEN, Engine
from shared.errors import NotFoundError, OneWindowError, RuleRefusedError, ValidationError
from shared.identity import Identity
from shared.keys import day_key
from shared.notify.contacts import make_contact, mask_contact
from shared.runner import RetryScript
from shared.slots import Slot, bookable_days, find_slot, service_with_appointments, slots_on

logger = logging.getLogger(__name__)

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud and typed at a kiosk
CODE_LENGTH = 8
CHANNELS = ("phone", "province", "kiosk", "staff")
STATES = ("held", "confirmed", "checked_in", "missed", "cancelled", "expired")
_CODE = re.compile(f"[{CODE_ALPHABET}]{{{CODE_LENGTH}}}")
_BOOKING_URL = re.compile(r"/b/([A-Za-z0-9-]{8,12})/?$")
_TRACK_URL = re.compile(r"/t/([A-Za-z0-9_-]{30})/?$")
#: booking refusals raised as RuleRefusedError (messages in zh and en: shared/realname.py)
RULES = ("booking_exists", "slot_full", "slot_unavailable", "hold_expired", "booking_closed", "cancel_too_late",
         "same_slot", "not_confirmed", "id_banned", "appointments_disabled")


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(text: str) -> str:
    """A booking code as typed (``k7m2 9qxd``, ``K7M2-9QXD``) → ``K7M29QXD``; NotFoundError when it cannot be one."""
    s = re.sub(r"[\s-]", "", text).upper() if isinstance(text, str) else ""
    if not _CODE.fullmatch(s):
        raise NotFoundError("no booking has this code", code="not_found")
    return s


def show_code(code: str) -> str:
    """``K7M29QXD`` → ``K7M2-9QXD`` (how it is printed and sent)."""
    return f"{code[:4]}-{code[4:]}"


def qr_text(engine: Engine, code: str, base_url: str | None = None) -> str:
    """The booking's QR code: the phone page of the booking (``<public_url>/b/<code>``) — scanned at the kiosk it
    checks in, opened on a phone it shows the booking."""
    base = (base_url if base_url is not None else engine.config.public_url).rstrip("/")
    return f"{base}/b/{show_code(code)}"


@dataclass(frozen=True)
class Scanned:
    """What the kiosk's scanner (or a typed code) names: a booking code, or a remote ticket's tracking token."""

    code: str | None = None
    token: str | None = None


def parse_scan(text: str) -> Scanned:
    """A booking code, a booking QR (``…/b/<code>``), a tracking token or a ticket's QR (``…/t/<token>``)."""
    if not isinstance(text, str) or len(text) > 300:
        raise NotFoundError("nothing is booked under this code", code="not_found")
    s = text.strip()
    m = _TRACK_URL.search(s)
    if m or TOKEN.fullmatch(s):
        return Scanned(token=m.group(1) if m else s)
    m = _BOOKING_URL.search(s)
    return Scanned(code=normalize_code(m.group(1) if m else s))


# --------------------------------------------------------------------------------------------- reads
def _load(engine: Engine, booking_id: str) -> dict:
    raw = engine.redis.hget(engine.keys.bookings, booking_id) if booking_id else None
    if not raw:
        raise NotFoundError("no booking has this code", code="not_found")
    return json.loads(raw)


def load_by_code(engine: Engine, code: str) -> dict:
    """The stored booking of a code (NotFoundError ``not_found``)."""
    booking_id = engine.redis.hget(engine.keys.booking_codes, normalize_code(code))
    return _load(engine, booking_id)


def effective_state(b: dict, now_ms: int) -> str:
    """A hold that ran out is expired even before the sweep marks it."""
    if b["state"] == "held" and int(b["hold_until_ms"]) <= now_ms:
        return "expired"
    return b["state"]


def view(engine: Engine, b: dict, *, with_code: bool = False) -> dict:
    """A booking as the API shows it to its holder: ``id``, ``code`` and ``qr`` (``with_code`` only: the holder's own
    answers), service and names, ``day``, ``slot`` (HH:MM), ``start`` / ``end`` (ISO), ``state``, ``hold_until``,
    ``check_in`` {opens, closes, late}, ``id_masked`` (3404**********1234), ``contact`` (masked), ``channel``,
    ``ticket`` (after check-in), ``created_at``. Never the id hash, never the full contact."""
    config = engine.config
    svc = config.services.get(b["service"])
    a = svc.appointments if svc else None
    tz = config.timezone
    start = datetime.fromtimestamp(int(b["slot_ms"]) / 1000, tz)
    out = {
        "id": b["id"], "service": b["service"], "service_name": svc.name if svc else b["service"],
        "service_name_en": svc.name_en if svc else "", "day": start.date().isoformat(), "slot": f"{start:%H:%M}",
        "start": start.isoformat(), "end": datetime.fromtimestamp(int(b["end_ms"]) / 1000, tz).isoformat(),
        "state": effective_state(b, engine.clock.now_ms()), "id_masked": b.get("masked", ""),
        "contact": mask_contact(b.get("contact")), "channel": b.get("channel"),
        "ticket": b.get("ticket") or b.get("walk_in_ticket"), "rescheduled": int(b.get("rescheduled") or 0),
        "created_at": datetime.fromtimestamp(int(b["created_ms"]) / 1000, tz).isoformat(),
        "hold_until": None, "check_in": None,
    }
    if out["state"] == "held":
        out["hold_until"] = datetime.fromtimestamp(int(b["hold_until_ms"]) / 1000, tz).isoformat()
    if a is not None:
        out["check_in"] = {"opens": (start - timedelta(minutes=a.early_minutes)).isoformat(),
                           "closes": (start + timedelta(minutes=a.late_minutes)).isoformat(), "late": a.late}
    if with_code:
        out["code"] = show_code(b["code"])
        out["qr"] = qr_text(engine, b["code"])
    return out


def get(engine: Engine, code: str) -> dict:
    """The booking of ``code``, for its holder (with the code and QR). NotFoundError ``not_found``."""
    return view(engine, load_by_code(engine, code), with_code=True)


def find(engine: Engine, identity: Identity, day: date | None = None) -> list[dict]:
    """The bookings of the card's holder on ``day`` (default today) that are still to be checked in or were checked
    in, one per service — what the kiosk shows after a card read ("your booking"). Without the code: the card is the
    proof at the kiosk, the code stays with its holder."""
    day = day or engine.clock.business_date()
    fields = [f"{identity.hash}:{code}:{day_key(day)}" for code, s in engine.config.services.items() if s.appointments]
    if not fields:
        return []
    ids = [i for i in engine.redis.hmget(engine.keys.booking_index, fields) if i]
    raws = engine.redis.hmget(engine.keys.bookings, ids) if ids else []
    now_ms = engine.clock.now_ms()
    out = [json.loads(r) for r in raws if r]
    return [view(engine, b) for b in out if effective_state(b, now_ms) in ("confirmed", "checked_in", "missed")]


def slots(engine: Engine, service: str, day: date) -> list[dict]:
    """The slots of ``service`` on ``day`` with their places: ``start``, ``end``, ``slot``, ``capacity``, ``booked``,
    ``held``, ``left``, ``bookable`` (advisory: the hold decides again)."""
    svc = service_with_appointments(engine.config, service)
    now = engine.clock.now()
    day_slots = slots_on(engine.config, svc, day, engine.rota.overrides())
    if not day_slots:
        return []
    k, d = engine.keys, day_key(day)
    counts = engine.redis.hgetall(k.slot_counts(svc.code, d))
    pipe = engine.redis.pipeline(transaction=False)
    for s in day_slots:
        pipe.zcount(k.slot_holds(svc.code, d, s.hhmm), f"({int(now.timestamp() * 1000)}", "+inf")
    held = pipe.execute()
    days = set(bookable_days(svc, now.date()))
    cutoff = timedelta(minutes=svc.appointments.cutoff_minutes)
    out = []
    for s, h in zip(day_slots, held):
        booked = int(counts.get(s.hhmm) or 0)
        left = max(0, s.capacity - booked - h)
        out.append({"start": s.start.isoformat(), "end": s.end.isoformat(), "slot": f"{s.start:%H:%M}",
                    "capacity": s.capacity, "booked": booked, "held": h, "left": left,
                    "bookable": left > 0 and s.start.date() in days and s.start - cutoff > now})
    return out


def days(engine: Engine, service: str) -> list[dict]:
    """The bookable days of ``service``: ``day``, ``open`` (has slots), ``left`` (places left, advisory)."""
    svc = service_with_appointments(engine.config, service)
    out = []
    for d in bookable_days(svc, engine.clock.business_date()):
        day_slots = slots(engine, svc.code, d)
        out.append({"day": d.isoformat(), "open": bool(day_slots),
                    "left": sum(s["left"] for s in day_slots if s["bookable"])})
    return out


# --------------------------------------------------------------------------------------------- changes
def _scope(engine: Engine, name: str, request_id: str | None):
    return idempotency.keyed(f"booking-{name}", engine.config.hall_id, request_id) if request_id else None


def _rules(engine: Engine, exc: OneWindowError, svc: Service | None) -> OneWindowError:
    return engine.refusal(exc, svc)


def _errors() -> dict:
    return dict.fromkeys(RULES, RuleRefusedError)


def _expires_at(slot_day: date, engine: Engine) -> int:
    """When a day's slot counts may go, on the hall's clock: two days after it (the scripts keep them that long after
    the hall's now, whatever the clock of the Redis host)."""
    end = datetime(slot_day.year, slot_day.month, slot_day.day, tzinfo=engine.config.timezone) + timedelta(days=3)
    return int(end.timestamp() * 1000)


def _notify_keys(engine: Engine) -> list[str]:
    k = engine.keys
    return [k.outbox_entries(NOTIFY_TOPIC), k.outbox_partitions(NOTIFY_TOPIC),
            *(k.outbox_queue(NOTIFY_TOPIC, p) for p in range(engine.notify_parts()))]


def hold(engine: Engine, service: str, start: str | datetime, identity: Identity, *, phone: str = "",
         openid: str = "", channel: str = "phone", lang: str = "zh", request_id: str | None = None) -> dict:
    """Hold the slot of ``service`` starting at ``start`` for the person ``identity`` names, for ``hold_minutes``;
    returns the booking (with its code, ``state`` held, ``hold_until``) — confirm it with :func:`confirm`.

    ``phone`` / ``openid``: where the confirmation, the reminder and the calls are sent (optional).
    Raises ValidationError (phone, openid, channel, start), UnprocessableError ``unknown_service``,
    RuleRefusedError ``appointments_disabled`` / ``slot_unavailable`` / ``slot_full`` / ``booking_exists`` /
    ``id_banned`` (``until_ms``)."""
    svc = service_with_appointments(engine.config, service)
    if channel not in CHANNELS:
        raise ValidationError(f"'channel' must be one of: {', '.join(CHANNELS)}", code="invalid_value", field="channel")
    if not isinstance(identity, Identity):
        raise ValidationError("a booking needs the person's ID", code="id_missing", field="id_number")
    contact = make_contact(engine.config, phone=phone, openid=openid, lang=lang)
    a = svc.appointments
    k = engine.keys
    def build(now: datetime, calendar, slot: Slot, _read) -> tuple[list[str], list]:
        now_ms = int(now.timestamp() * 1000)
        keys = [k.bookings, k.booking_codes, k.booking_index, k.booking_seq, k.booking_times, k.booking_holds,
                k.slot_counts(svc.code, slot.day), k.slot_holds(svc.code, slot.day, slot.hhmm), k.id_history,
                k.schedule]
        args = [now_ms, svc.code, slot.day, slot.hhmm, slot.start_ms, slot.end_ms, slot.capacity,
                now_ms + a.hold_minutes * 60_000, new_code(), identity.hash, identity.birth_year, identity.masked,
                json.dumps(svc.id_rules.as_dict()), json.dumps(contact) if contact else "", channel, lang,
                slot.start.date().isoformat(), calendar.stored_entry(slot.start.date())]
        return keys, args

    with idempotency.using(_scope(engine, "hold", request_id)):
        r = _on_slot(engine, "booking_hold", start, lambda: (svc, None), build, "the calendar keeps changing; try again")
    b = r["booking"]
    logger.info("booking %s held: %s %s %s", b["id"], svc.code, b["day"], b["hhmm"])
    return view(engine, b, with_code=True)


def _on_slot(engine: Engine, script: str, start, pick, build, busy: str) -> dict:
    """Run ``script`` on the bookable slot of ``start``: ``pick()`` → (the service, what the caller read) as of now,
    ``build(now, calendar, slot, read)`` → the script's keys and args. The script refuses to act on a calendar or a
    booking that moved since Python read it (RetryScript): read again, at most 8 times, then OneWindowError ``busy``.
    A rule's refusal (of the slot or of the script) is RuleRefusedError with the hall's words."""
    for _attempt in range(8):
        svc, read = pick()
        now = engine.clock.now()
        calendar = engine.rota.calendar()
        try:
            slot = find_slot(engine.config, svc, start, now, calendar.overrides)
            return engine.runner.run(script, *build(now, calendar, slot, read), _errors())
        except RetryScript:
            engine.rota.invalidate()
        except RuleRefusedError as exc:
            raise _rules(engine, exc, svc) from None
    raise OneWindowError(busy, code="busy")


def _by_code(engine: Engine, code: str) -> tuple[dict, Service | None]:
    b = load_by_code(engine, code)
    return b, engine.config.services.get(b["service"])


def confirm(engine: Engine, code: str, *, request_id: str | None = None) -> dict:
    """Confirm a held booking (its hold must not have run out); the confirmation message is queued in the same step.
    Returns the booking (with code). NotFoundError; RuleRefusedError ``hold_expired`` / ``booking_closed``."""
    def keys_of(b: dict) -> list[str]:
        k = engine.keys
        return [k.bookings, k.booking_holds, k.bookings_upcoming, k.slot_counts(b["service"], b["day"]),
                k.slot_holds(b["service"], b["day"], b["hhmm"]), *_notify_keys(engine)]

    def args_of(b: dict) -> list:
        return [engine.clock.now_ms(), b["id"], b["service"], b["day"], b["hhmm"], engine.reception_args(),
                _expires_at(_day(b["day"]), engine)]

    with idempotency.using(_scope(engine, "confirm", request_id)):
        r = _on_booking(engine, "booking_confirm", code, keys_of, args_of)
    logger.info("booking %s confirmed", r["booking"]["id"])
    return view(engine, r["booking"], with_code=True)


def cancel(engine: Engine, code: str, *, actor: str = "citizen", request_id: str | None = None) -> dict:
    """Cancel a held or confirmed booking before its slot starts; its place is free at once. NotFoundError;
    RuleRefusedError ``cancel_too_late`` / ``booking_closed``."""
    def keys_of(b: dict) -> list[str]:
        k = engine.keys
        return [k.bookings, k.booking_index, k.booking_holds, k.bookings_upcoming,
                k.slot_counts(b["service"], b["day"]), k.slot_holds(b["service"], b["day"], b["hhmm"])]

    def args_of(b: dict) -> list:
        return [engine.clock.now_ms(), b["id"], b["service"], b["day"], b["hhmm"], actor]

    with idempotency.using(_scope(engine, "cancel", request_id)):
        r = _on_booking(engine, "booking_cancel", code, keys_of, args_of)
    logger.info("booking %s cancelled by %s", r["booking"]["id"], actor)
    return view(engine, r["booking"], with_code=True)


def reschedule(engine: Engine, code: str, start: str | datetime, *, request_id: str | None = None) -> dict:
    """Move a confirmed booking to another bookable slot of its service (same code). NotFoundError;
    RuleRefusedError ``slot_unavailable`` / ``slot_full`` / ``booking_exists`` / ``same_slot`` / ``not_confirmed`` /
    ``cancel_too_late`` / ``booking_closed``."""
    def pick() -> tuple[Service, tuple[dict, Service]]:
        b, svc = _by_code(engine, code)  # read again on every attempt: the booking may have moved meanwhile
        return svc, (b, svc)

    def build(now: datetime, calendar, slot: Slot, read: tuple[dict, Service]) -> tuple[list[str], list]:
        b, svc = read
        k = engine.keys
        keys = [k.bookings, k.booking_index, k.booking_times, k.bookings_upcoming,
                k.slot_counts(b["service"], b["day"]), k.slot_counts(svc.code, slot.day),
                k.slot_holds(svc.code, slot.day, slot.hhmm), k.schedule]
        args = [int(now.timestamp() * 1000), b["id"], b["service"], b["day"], b["hhmm"], slot.day, slot.hhmm,
                slot.start_ms, slot.end_ms, slot.capacity, slot.start.date().isoformat(),
                calendar.stored_entry(slot.start.date()), _expires_at(slot.start.date(), engine)]
        return keys, args

    with idempotency.using(_scope(engine, "reschedule", request_id)):
        r = _on_slot(engine, "booking_reschedule", start, pick, build, "the booking keeps changing; try again")
    logger.info("booking %s moved to %s %s", r["booking"]["id"], r["booking"]["day"], r["booking"]["hhmm"])
    return view(engine, r["booking"], with_code=True)


def _day(compact: str) -> date:
    return date(int(compact[:4]), int(compact[4:6]), int(compact[6:8]))


def _on_booking(engine: Engine, script: str, code: str, keys_of, args_of) -> dict:
    """Run a script on the booking of ``code`` with the keys of the booking as Python read it; read it again when the
    script says it moved meanwhile (its keys were another slot's)."""
    for _attempt in range(8):
        b, svc = _by_code(engine, code)
        try:
            return engine.runner.run(script, keys_of(b), args_of(b), _errors())
        except RetryScript:
            continue
        except RuleRefusedError as exc:
            raise _rules(engine, exc, svc) from None
    raise OneWindowError("the booking keeps changing; try again", code="busy")


# --------------------------------------------------------------------------------------------- the sweep
@dataclass
class SweepResult:
    expired: int = 0
    missed: int = 0
    reminded: int = 0
    pruned: int = 0
    forgotten: int = 0


SWEEP_BATCH = 100


def sweep(engine: Engine) -> SweepResult:
    """Release holds that ran out, mark bookings whose check-in window closed as missed (爽约), queue reminders
    (``[notifications] reminder_minutes`` before the slot), forget bookings ``keep_days`` after their slot and
    no-show histories no rule looks at. Idempotent; safe in several processes (each thing is decided in
    ``booking_sweep.lua``)."""
    config = engine.config
    r = engine.redis
    k = engine.keys
    now_ms = engine.clock.now_ms()
    work: list[dict] = [{"op": "expire", "id": i} for i in r.zrangebyscore(k.booking_holds, "-inf", now_ms)]
    lead_ms = config.notifications.reminder_minutes * 60_000 if config.notifications.sends("reminder") else 0
    horizon = now_ms + lead_ms
    upcoming = r.zrangebyscore(k.bookings_upcoming, "-inf", horizon, withscores=True)
    raws = r.hmget(k.bookings, [i for i, _ in upcoming]) if upcoming else []
    for (booking_id, slot_ms), raw in zip(upcoming, raws):
        if not raw:
            work.append({"op": "miss", "id": booking_id, "at": int(slot_ms)})  # gone: the script tidies the set
            continue
        b = json.loads(raw)
        svc = config.services.get(b["service"])
        late_ms = (svc.appointments.late_minutes if svc and svc.appointments else 0) * 60_000
        closes = int(b["slot_ms"]) + late_ms
        if now_ms > closes:
            work.append({"op": "miss", "id": booking_id, "at": closes})
        elif lead_ms and not b.get("reminded_ms") and now_ms < int(b["slot_ms"]):
            work.append({"op": "remind", "id": booking_id, "at": int(b["slot_ms"]) - lead_ms})
    keep_ms = config.appointments.keep_days * 86_400_000
    work += [{"op": "prune", "id": i, "at": now_ms - keep_ms}
             for i in r.zrangebyscore(k.booking_times, "-inf", now_ms - keep_ms, start=0, num=1000)]
    history_ms = engine.noshow_keep_ms()
    work += [{"op": "forget", "id": h, "at": now_ms - history_ms}
             for h in r.zrangebyscore(k.id_history_seen, "-inf", now_ms - history_ms, start=0, num=1000)]
    result = SweepResult()
    keys = [k.bookings, k.booking_codes, k.booking_index, k.booking_times, k.booking_holds, k.bookings_upcoming,
            k.id_history, k.id_history_seen, *_notify_keys(engine)]
    for i in range(0, len(work), SWEEP_BATCH):
        answer = engine.runner.run("booking_sweep", keys, [now_ms, engine.reception_args(),
                                                     json.dumps(work[i:i + SWEEP_BATCH])])
        for name in ("expired", "missed", "reminded", "pruned", "forgotten"):
            setattr(result, name, getattr(result, name) + int(answer[name]))
    if result.expired or result.missed or result.pruned:
        logger.info("bookings: %s holds released, %s missed, %s reminded, %s forgotten", result.expired,
                    result.missed, result.reminded, result.pruned)
    return result
