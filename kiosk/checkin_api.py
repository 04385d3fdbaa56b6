"""The kiosk's real-name and check-in API (实名取号, 预约签到, 远程取号签到; docs/realname.md, docs/appointments.md).

Registered on the kiosk blueprint by :func:`register`. Every route needs a registered kiosk (its device token) and
counts as one look-up of that kiosk (:class:`shared.limits.DeviceLookupLimiter`: guessing booking codes or ID
numbers stops there). The person comes as the ``card`` object the card-reader agent gave the page, or as a typed
``id_number`` (GB 11643 check digit validated here too); the number goes no further than
:func:`shared.identity.identify` — answers carry only its masked form, logs and events nothing of it.

* ``POST /api/v1/kiosk/identify`` — "is this you?": the masked person, today's bookings and remote tickets;
* ``POST /api/v1/check-ins`` — check in by card, typed number or booking code / QR (early, on time, late → the core
  decides), remote tickets activated; each ticket handed out is printed once (a replay prints nothing);
* the real-name walk-in ticket is ``POST /api/v1/tickets`` with ``card`` or ``id_number`` (:func:`identity_from`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from flask import Blueprint, jsonify

from shared import bookings, idempotency, remote
from shared.cardreader import identify_card
from shared.checkin import check_in
from shared.config import KIOSK_ID, MachineToken
from shared.errors import PermissionDeniedError, ValidationError
from shared.identity import Identity, identify
from shared.limits import DeviceLookupLimiter
from shared.validation import Field

from kiosk.printing import KioskPrinter

if TYPE_CHECKING:
    from onewindow.edge import WebEdge

logger = logging.getLogger(__name__)

REQUEST_ID = r"[A-Za-z0-9_-]{8,64}"
#: what identifies a person: the agent's card object, or a typed number (spaces, dashes and full-width digits allowed)
PERSON_SPEC = {"card": Field(dict), "id_number": Field(str, max_length=40)}
IDENTIFY_SPEC = {**PERSON_SPEC, "kiosk": Field(str, pattern=KIOSK_ID.pattern)}
CHECKIN_SPEC = {**PERSON_SPEC, "code": Field(str, max_length=200), "lang": Field(str, choices=("zh", "en")),
                "request_id": Field(str, pattern=REQUEST_ID), "kiosk": Field(str, pattern=KIOSK_ID.pattern)}
#: what the kiosk shows of a booking (no code: the card is the proof; no contact)
BOOKING_FIELDS = ("id", "service", "service_name", "service_name_en", "day", "slot", "start", "end", "state",
                  "check_in", "ticket")
#: check-in outcomes that hand out a ticket to print (``already``: the same ticket again, reprinted)
PRINTED_OUTCOMES = ("checked_in", "walk_in", "activated", "already")


def in_use(config) -> bool:
    """Does this hall use real-name tickets, appointments or remote tickets (any service)? Only then does the kiosk
    page show the card bar and poll the card-reader agent."""
    def rules(r) -> bool:
        return bool(r.required or r.max_open or r.daily_cap or r.noshow_limit or r.green_age)

    return any(s.appointments or s.remote.enabled or rules(s.id_rules) for s in config.services.values())


def identity_from(engine, body: dict) -> Identity | None:
    """The person of a request body (``card`` or ``id_number``; both is a 400), or None."""
    card, number = body.get("card"), body.get("id_number")
    if card is not None and number is not None:
        raise ValidationError("send the card read or the typed ID number, not both", code="invalid_request")
    today = engine.clock.business_date()
    if card is not None:
        return identify_card(engine.config, card, today=today)
    if number is not None:
        return identify(engine.config, number, today=today)
    return None


def green_services(engine, identity: Identity) -> list[str]:
    """The services whose 绿色通道 age (``green_age``) this person has reached today."""
    age = identity.age_on(engine.clock.business_date())
    return [c for c, s in engine.config.services.items() if s.id_rules.green_age and age >= s.id_rules.green_age]


def _own_kiosk(device: MachineToken, body: dict) -> None:
    if body.get("kiosk", device.kiosk) != device.kiosk:
        raise PermissionDeniedError(f"this token belongs to kiosk {device.kiosk}", code="wrong_kiosk")


def register(bp: Blueprint, edge: WebEdge, printer: KioskPrinter, kiosk_device: Callable[[], MachineToken],
             public_base: Callable[[], str]) -> None:
    """Add the routes of the module doc to the kiosk blueprint ``bp``."""
    engine = edge.hall.engine
    limiter = DeviceLookupLimiter(engine)

    @bp.post("/api/v1/kiosk/identify")
    def kiosk_identify():
        """The person of a card read or typed number: masked, with today's bookings and remote tickets. A POST (the
        number must never be in a URL); it changes nothing."""
        device = kiosk_device()
        body = edge.body(IDENTIFY_SPEC)
        _own_kiosk(device, body)
        limiter.take(device.kiosk)
        identity = identity_from(engine, body)
        if identity is None:
            raise ValidationError("send 'card' (the card read) or 'id_number'", code="missing_field", field="card")
        found = [{k: b.get(k) for k in BOOKING_FIELDS} for b in bookings.find(engine, identity)]
        return jsonify({"person": identity.view(), "green": green_services(engine, identity), "bookings": found,
                        "remote": remote.find(engine, identity)})

    @bp.post("/api/v1/check-ins")
    def kiosk_check_in():
        """Check in (签到) what the card / typed number / code names; each ticket handed out is printed."""
        device = kiosk_device()
        body = edge.body(CHECKIN_SPEC)
        _own_kiosk(device, body)
        identity = identity_from(engine, body)
        code = body.get("code")
        if (identity is None) == (code is None):
            raise ValidationError("check in with one of 'card', 'id_number' or 'code'", code="invalid_request")
        limiter.take(device.kiosk)
        result = check_in(engine, identity=identity, code=code, kiosk=device.kiosk, lang=body.get("lang", "zh"),
                          request_id=body.get("request_id"))
        scope = idempotency.current()
        replayed = bool(scope is not None and scope.replayed)
        base = public_base()
        printed = []
        for item in result["items"]:
            ticket = item.get("ticket")
            if ticket is None or item["outcome"] not in PRINTED_OUTCOMES:
                continue
            ticket["tracking_url"] = f"{base}/t/{ticket['token']}"  # (the same object as in result["tickets"])
            # once per ticket, a resend included; a new check-in of a ticket already handed out reprints it
            outcome = printer.print_once(ticket, device.kiosk, again=item["outcome"] == "already" and not replayed)
            printed.append({"ticket": ticket["id"], **outcome.to_dict()})
        return jsonify({**result, "print": printed, "created": not replayed}), 200 if replayed else 201
