"""The citizen's phone beyond the tracking page: booking (预约), remote tickets (远程取号) and the rating of a visit
from the phone (好差评, by tracking token). Routes of the display blueprint (the phone's blueprint); docs/api.md.

Pages:
  ``/book``                     book a time, "my booking" (look up, cancel, reschedule), take a remote ticket
  ``/b/<code>``                 one booking's page (the booking's QR): the same page, opened on that booking
API (JSON; every POST needs an ``Idempotency-Key``: a resent action has one effect):
  ``GET  /api/v1/phone/services``                          what the phone offers per service (booking, remote)
  ``GET  /api/v1/phone/services/<service>/days``           bookable days, places left
  ``GET  /api/v1/phone/services/<service>/slots?day=``     the day's slots with their places
  ``POST /api/v1/bookings``                                hold a slot (身份证号 → the keyed hash only)
  ``GET  /api/v1/bookings/<code>``                         the booking of a code
  ``POST /api/v1/bookings/<code>/confirm|cancel|reschedule``
  ``GET  /api/v1/bookings/<code>/qr.svg``                  the booking's QR code
  ``POST /api/v1/remote-tickets``                          a remote ticket (not yet arrived until the kiosk)
  ``GET  /api/v1/track/<token>/rating``                    what the holder may rate now, and the form
  ``POST /api/v1/track/<token>/rating``                    the holder's rating (or 追评) of the visit

Who may call: anyone (the hall's own phone page) within ``[public] phone_*`` limits per client address — the booking
code is what proves a booking (docs/appointments.md: it confirms, cancels and moves it; 40 random bits, look-ups
limited), the tracking token what proves a visit — or the provincial app's server with its device token (``kind =
"app"``: channel ``province``, not limited per address). Any other device token is refused (``wrong_device``).
"""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import TYPE_CHECKING

from flask import Blueprint, Response, jsonify, request

from shared import bookings, ratings, remote
from shared.devices import require_kind
from shared.errors import PermissionDeniedError, ValidationError
from shared.identity import identify
from shared.limits import PhoneLimiter
from shared.qr import qr_svg
from shared.validation import Field

if TYPE_CHECKING:
    from onewindow.edge import WebEdge

logger = logging.getLogger(__name__)

APP = "app"
LANGS = ("zh", "en")
_DAY = re.compile(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")

PERSON_FIELDS = {
    "service": Field(str, required=True, max_length=32),
    "id_number": Field(str, required=True, max_length=32),
    "name": Field(str, max_length=40),
    "phone": Field(str, max_length=20),
    "openid": Field(str, max_length=64),
    "lang": Field(str, choices=LANGS),
}
HOLD_SPEC = {**PERSON_FIELDS, "start": Field(str, required=True, max_length=32)}
REMOTE_SPEC = PERSON_FIELDS
EMPTY_SPEC: dict[str, Field] = {}
RESCHEDULE_SPEC = {"start": Field(str, required=True, max_length=32)}
RATING_SPEC = {
    "level": Field(int, required=True, minimum=1, maximum=5),
    "options": Field(list),
    "text": Field(str, max_length=2000),
    "contact_name": Field(str, max_length=40),
    "contact_phone": Field(str, max_length=20),
    "followup": Field(bool),
    "ticket_id": Field(str, max_length=40),
}


def register(bp: Blueprint, edge: WebEdge, page_config) -> None:
    """Add the phone's pages and API to the display blueprint ``bp``."""
    engine = edge.hall.engine
    config = edge.hall.config

    def caller() -> str:
        """The booking channel of this request: ``province`` (the app's token) or ``phone`` (anyone, limited)."""
        device = edge.auth.device()
        if device is not None:
            require_kind(device, APP)
            return "province"
        PhoneLimiter(engine).take(request.remote_addr or "-")
        return "phone"

    def acting() -> str:
        """As :func:`caller`, for an action: it must carry an Idempotency-Key (a resend has one effect)."""
        if not request.headers.get("Idempotency-Key"):
            raise ValidationError("send an Idempotency-Key header (a fresh random id per action, the same one when "
                                  "the action is retried)", code="idempotency_key_required")
        return caller()

    def person(body: dict):
        return identify(config, body["id_number"], today=engine.clock.business_date(), name=body.get("name") or "")

    def offered() -> list[dict]:
        out = []
        for s in config.services.values():
            booking = s.appointments is not None
            if booking or s.remote.enabled:
                out.append({"code": s.code, "name": s.name, "name_en": s.name_en, "prefix": s.prefix,
                            "booking": booking, "remote": s.remote.enabled})
        return out

    def with_links(b: dict) -> dict:
        if b.get("code"):
            b["qr_svg"] = f"{edge.base}/api/v1/bookings/{b['code']}/qr.svg"
            b["page"] = f"{edge.base}/b/{b['code']}"
            if edge.base and "qr" in b:  # the QR's text: the booking's page under the hall's own path
                b["qr"] = bookings.qr_text(engine, bookings.normalize_code(b["code"]), config.public_url + edge.base)
        return b

    # -------------------------------------------------------------------------------------------- pages
    def book_config(code: str) -> dict:
        return page_config(_lang(), phone_services=offered(), code=code,
                           today=engine.clock.business_date().isoformat())

    @bp.get("/book")
    def book_page():
        return _private(edge.page("display/book.html", cfg=book_config("")))

    @bp.get("/b/<path:code>")
    def booking_page(code: str):
        code = code if re.fullmatch(r"[A-Za-z0-9-]{1,16}", code) else ""
        return _private(edge.page("display/book.html", cfg=book_config(code)))

    # -------------------------------------------------------------------------------------------- slots
    @bp.get("/api/v1/phone/services")
    def phone_services():
        caller()
        return jsonify({"services": offered()})

    @bp.get("/api/v1/phone/services/<service>/days")
    def booking_days(service: str):
        caller()
        return jsonify({"service": service, "days": bookings.days(engine, service)})

    @bp.get("/api/v1/phone/services/<service>/slots")
    def booking_slots(service: str):
        caller()
        day = request.args.get("day", "")
        try:
            wanted = date.fromisoformat(day) if _DAY.match(day) else None
        except ValueError:
            wanted = None
        if wanted is None:
            raise ValidationError("'day' must be a date like 2026-11-30", code="invalid_value", field="day")
        return jsonify({"service": service, "day": wanted.isoformat(), "slots": bookings.slots(engine, service, wanted)})

    # -------------------------------------------------------------------------------------------- bookings
    @bp.post("/api/v1/bookings")
    def hold_booking():
        body = edge.body(HOLD_SPEC)
        channel = acting()
        booking = bookings.hold(engine, body["service"], body["start"], person(body), phone=body.get("phone") or "",
                                openid=body.get("openid") or "", channel=channel, lang=body.get("lang") or "zh")
        return jsonify({"booking": with_links(booking)}), 201

    @bp.get("/api/v1/bookings/<code>")
    def get_booking(code: str):
        caller()
        return _private(jsonify({"booking": with_links(bookings.get(engine, code))}))

    @bp.post("/api/v1/bookings/<code>/confirm")
    def confirm_booking(code: str):
        edge.body(EMPTY_SPEC)
        acting()
        return jsonify({"booking": with_links(bookings.confirm(engine, code))})

    @bp.post("/api/v1/bookings/<code>/cancel")
    def cancel_booking(code: str):
        edge.body(EMPTY_SPEC)
        acting()
        return jsonify({"booking": with_links(bookings.cancel(engine, code))})

    @bp.post("/api/v1/bookings/<code>/reschedule")
    def reschedule_booking(code: str):
        body = edge.body(RESCHEDULE_SPEC)
        acting()
        return jsonify({"booking": with_links(bookings.reschedule(engine, code, body["start"]))})

    @bp.get("/api/v1/bookings/<code>/qr.svg")
    def booking_qr(code: str):
        caller()
        b = bookings.load_by_code(engine, code)  # only a booking's own code draws its QR
        # the booking's phone page under the hall's own path (/h/<hall id>/b/<code> when served there)
        base = config.public_url + edge.base if edge.base else None
        return Response(qr_svg(bookings.qr_text(engine, b["code"], base)), mimetype="image/svg+xml",
                        headers={"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"})

    # -------------------------------------------------------------------------------------------- remote tickets
    @bp.post("/api/v1/remote-tickets")
    def take_remote():
        body = edge.body(REMOTE_SPEC)
        acting()
        issued = remote.take(engine, body["service"], person(body), phone=body.get("phone") or "",
                             openid=body.get("openid") or "", lang=body.get("lang") or "zh")
        ticket = issued.ticket
        return jsonify({"ticket": ticket, "created": issued.created,
                        "tracking_url": f"{edge.base}/t/{ticket['token']}"}), 201 if issued.created else 200

    # -------------------------------------------------------------------------------------------- 好差评 from the phone
    @bp.get("/api/v1/track/<token>/rating")
    def rating_state(token: str):
        caller()
        state = ratings.visit_rating_state(engine, token)
        return _private(jsonify({**state, "form": ratings.rating_form(config),
                                 "followup_days": config.haocaiping.followup_days}))

    @bp.post("/api/v1/track/<token>/rating")
    def rate_visit(token: str):
        body = edge.body(RATING_SPEC)
        if edge.auth.device() is not None:
            raise PermissionDeniedError("a visit is rated from the phone with its tracking token (a device rates "
                                        "through its window)", code="wrong_device")
        acting()
        result = ratings.rate_by_token(engine, token, body["level"], options=body.get("options"),
                                       text=body.get("text"), contact_name=body.get("contact_name") or "",
                                       contact_phone=body.get("contact_phone") or "",
                                       followup=body.get("followup", False), ticket_id=body.get("ticket_id") or "")
        return jsonify(result), 201


def _lang() -> str:
    value = request.args.get("lang")
    return value if value in LANGS else "zh"


def _private(response):
    """Never cached, and the code or token in the URL never leaks through a Referer."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
