"""Remote tickets (远程取号): a ticket taken on the phone that waits "not yet arrived" until its holder checks in at
the kiosk (:func:`shared.checkin.check_in`: the ID card, or the ticket's QR). docs/appointments.md.

A remote ticket is numbered and queued like any walk-in ticket, at the time it was taken (绿色通道 by age too), so
it holds a real place. It keeps that place only if its holder checks in before it would be called: when call-next
reaches a remote ticket still not arrived, it skips it — the ticket ``expired``, a no-show of its ID — and calls the
next (``call_next.lua``); calling it by number is refused (``not_arrived``). Quotas: the service's ``daily_quota``
and ``remote.daily_quota``; the per-ID rules of the service apply (open tickets, daily cap, the no-show ban).
"""

from __future__ import annotations

import json

from shared.engine import Engine, Issued
from shared.errors import RuleRefusedError, ValidationError
from shared.identity import Identity
from shared.notify.contacts import make_contact


def take(engine: Engine, service: str, identity: Identity, *, phone: str = "", openid: str = "", lang: str = "zh",
         request_id: str | None = None) -> Issued:
    """Take a remote ticket of ``service`` for the person ``identity`` names (they typed their ID number on the
    phone); ``phone`` / ``openid`` receive "N ahead" and "called" (optional). Returns :class:`~shared.engine.Issued`
    — the ticket with ``remote: true``, ``arrived: false`` and its tracking token (the phone follows it; its QR
    checks it in at the kiosk).

    Raises UnprocessableError ``unknown_service``, ValidationError (phone, openid), ServiceClosedError
    ``service_closed`` / ``quota_reached``, RuleRefusedError ``remote_disabled`` / ``remote_quota_reached`` /
    ``id_open_limit`` / ``id_daily_cap`` / ``id_banned`` (``until_ms``)."""
    svc = engine.service(service)
    if not svc.remote.enabled:
        raise engine.refusal(RuleRefusedError(f"{svc.code} offers no remote tickets", code="remote_disabled"), svc)
    if not isinstance(identity, Identity):
        raise ValidationError("a remote ticket needs the person's ID", code="id_missing", field="id_number")
    contact = make_contact(engine.config, phone=phone, openid=openid, lang=lang)
    return engine._issue(svc, priority=False, lang=lang, request_id=request_id, kiosk="", identity=identity,
                         remote=True, contact=contact, scope_name="remote")


def find(engine: Engine, identity: Identity) -> list[dict]:
    """The remote tickets of the card's holder today that wait for their holder to arrive — what the kiosk shows
    after a card read ("您有 1 个远程取号"), one per service: public tickets without their token (the card is the
    proof at the kiosk; checking in is :func:`shared.checkin.check_in`)."""
    codes = [c for c, s in engine.config.services.items() if s.remote.enabled]
    if not codes:
        return []
    day = engine.today()
    ids = [i for i in engine.redis.hmget(engine.keys.remote_index(day), [f"{identity.hash}:{c}" for c in codes]) if i]
    raws = engine.redis.hmget(engine.keys.tickets(day), ids) if ids else []
    out = []
    for raw in raws:
        t = json.loads(raw) if raw else None
        if t and t.get("status") == "waiting" and t.get("remote") and not t.get("arrived"):
            out.append(engine.public_ticket(t))
    return out
