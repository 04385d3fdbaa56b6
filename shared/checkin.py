"""Check-in at the kiosk (签到): a citizen who booked, or took a remote ticket, arrives. docs/appointments.md.

:func:`check_in` takes what the kiosk has — the card's :class:`~shared.identity.Identity` (a read or a typed ID
number), or what its scanner read / the person typed (a booking code, the booking's QR, a remote ticket's QR or
tracking token) — and ``check_in.lua`` decides, from the bookings and tickets as they are then:

* a confirmed booking of today, from ``early_minutes`` before its slot to ``late_minutes`` after its start → a ticket
  in the **appointment band** (ahead of walk-ins for its slot: served from the slot's start, before walk-ins; see
  :mod:`shared.engine`), ``appointment: true``, the booking ``checked_in``;
* earlier → ``too_early`` (``opens_ms``); later → the booking is missed (爽约) and, when the service's ``late`` is
  ``walk_in``, the person gets a walk-in ticket (``late_booking: true``), else ``too_late``;
* a remote ticket not yet arrived → activated (``arrived: true``): it keeps its place; one that lapsed →
  ``remote_expired``.

The per-ID rules of the service apply to the ticket (open tickets, daily cap), and 绿色通道 by age (exact from the
card; by birth year for a booking code). A check-in sent again has one effect (its ``request_id``, or the edge's
``Idempotency-Key``); checking in a booking already checked in answers its ticket (``already``).
"""

from __future__ import annotations

import json
import logging
import secrets

from shared import idempotency
from shared.bookings import parse_scan
from shared.engine import Engine
from shared.errors import NotFoundError, RuleRefusedError, ServiceClosedError, ValidationError
from shared.identity import Identity
from shared.realname import explain
from shared.schedule import availability
from shared.runner import RetryScript

logger = logging.getLogger(__name__)

#: outcomes that hand the person a ticket
TICKET_OUTCOMES = ("checked_in", "walk_in", "activated", "already")


def _list(value) -> list:
    return value if isinstance(value, list) else []


def check_in(engine: Engine, *, identity: Identity | None = None, code: str | None = None, kiosk: str = "",
             lang: str = "zh", request_id: str | None = None) -> dict:
    """Check in what ``identity`` (all of today's bookings and remote tickets of the card's holder) or ``code`` names.

    Returns ``{"tickets": [public tickets, with their tracking token], "items": [{kind: booking | remote, ref,
    outcome, ticket?, booking?, message_zh?, message_en?}]}`` — ``tickets`` are what the kiosk prints (one per
    booking checked in or remote ticket activated); ``items`` also name what could not be checked in and why.

    Raises ValidationError (give exactly one of identity / code), NotFoundError ``not_found`` (no such code) /
    ``nothing_booked`` (nothing for this card today), RuleRefusedError (when nothing could be checked in: the first
    reason — ``too_early`` with ``opens_ms``, ``too_late``, ``not_today``, ``remote_expired``, ``id_open_limit``, …)."""
    if (identity is None) == (code is None):
        raise ValidationError("check in with the ID card (or number) or with a code, not both", code="invalid_request")
    config = engine.config
    k = engine.keys
    day = engine.today()
    booking_ids: list[str] = []
    remote_ids: list[str] = []
    if code is not None:
        scanned = parse_scan(code)
        if scanned.token:
            ticket_id = engine.redis.hget(k.tokens(scanned.token[:8]), scanned.token)
            if not ticket_id:
                raise NotFoundError("no ticket has this code", code="not_found")
            remote_ids.append(ticket_id)
        else:
            booking_id = engine.redis.hget(k.booking_codes, scanned.code)
            if not booking_id:
                raise NotFoundError("no booking has this code", code="not_found")
            booking_ids.append(booking_id)
    services = [s for s in config.services.values() if s.appointments]
    remote_services = [c for c, s in config.services.items() if s.remote.enabled]
    keys = [k.tickets(day), k.tokens(day), k.bookings, k.bookings_upcoming, k.remote_pending(day), k.id_day(day),
            k.id_history, k.id_history_seen, k.contacts(day), k.schedule, k.service_times, k.booking_index,
            k.remote_index(day), *engine.reception_keys(day)[5:]]
    for s in services:
        keys += [k.counter(day, s.code), k.queue(day, s.code)]
    scope = idempotency.keyed("check-in", config.hall_id, day, request_id) if request_id else None
    with idempotency.using(scope):
        for _attempt in range(5):
            now = engine.clock.now()
            calendar = engine.rota.calendar()
            rows = [{"code": s.code, "prefix": s.prefix, "quota": s.daily_quota,
                     "open": availability(config, s, now, calendar.overrides,
                                           plan=calendar.plan(config, now.date())).open, "rules": s.id_rules.as_dict(),
                     "early_ms": s.appointments.early_minutes * 60_000, "late_ms": s.appointments.late_minutes * 60_000,
                     "late": s.appointments.late} for s in services]
            args = [int(now.timestamp() * 1000), day, engine.reception_args(), json.dumps(rows),
                    json.dumps(booking_ids), json.dumps(remote_ids),
                    json.dumps([secrets.token_urlsafe(16)[:22] for _ in (booking_ids or services)] or [""]), lang,
                    kiosk,
                    config.haocaiping.ticket_keep_days * 86400,
                    identity.age_on(now.date()) if identity is not None else "", now.year,
                    identity.hash if identity is not None else "", now.date().isoformat(),
                    calendar.stored_entry(now.date()), json.dumps(remote_services)]
            try:
                r = engine.runner.run("check_in", keys, args)
                break
            except RetryScript:
                engine.rota.invalidate()
        else:
            raise ServiceClosedError("the calendar keeps changing; try again", code="busy")

    items, tickets = [], []
    for item in _list(r.get("items")):
        out = {"kind": item["kind"], "ref": item["ref"], "outcome": item["outcome"], "service": item.get("service")}
        t = item.get("ticket")
        if item["outcome"] in ("checked_in", "walk_in") and isinstance(t, dict):  # made now: as the script saw it
            known = {"ahead": item.get("ahead") or 0, "service_ms": item.get("service_ms") or 0}
            public = engine.public_ticket(t, with_token=True, known=known)
            out["ticket"] = public
            tickets.append(public)
        elif item["outcome"] in TICKET_OUTCOMES and isinstance(t, dict):
            public = engine.public_ticket(engine._load(t["day"], t["id"]) or t, with_token=True)
            out["ticket"] = public
            tickets.append(public)
        elif item["outcome"] not in TICKET_OUTCOMES:
            refusal = explain(RuleRefusedError(item["outcome"], code=item["outcome"], **(item.get("details") or {})),
                              config, config.services.get(item.get("service") or ""))
            out.update(message_zh=refusal.details.get("message_zh"), message_en=refusal.details.get("message_en"),
                       details=item.get("details") or {})
        items.append(out)
    if not tickets:
        first = next((i for i in _list(r.get("items"))), None)
        if first is None:
            raise explain(NotFoundError("nothing booked for this ID today", code="nothing_booked"), config)
        if first["outcome"] == "not_found":
            raise NotFoundError("no booking or ticket has this code", code="not_found")
        raise explain(RuleRefusedError(first["outcome"], code=first["outcome"], **(first.get("details") or {})), config,
                      config.services.get(first.get("service") or ""))
    logger.info("check-in at %s: %s", kiosk or "-", ", ".join(f"{i['ref']} {i['outcome']}" for i in items))
    return {"tickets": tickets, "items": items}
