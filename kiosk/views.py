"""Kiosk blueprint: public service list, ticket issuing (and printing) and lookup, kiosk health, and the kiosk page."""

from __future__ import annotations

import logging

import redis
from flask import Blueprint, current_app, jsonify, render_template, request

from kiosk.print_service import NO_KIOSK, REPLAYED, KioskPrinting
from kiosk.qr import qr_svg
from shared.config import KIOSK_ID, MachineToken
from shared.devices import KIOSK, identify, require_kind
from shared.errors import AuthenticationError, NotFoundError, OneWindowError, PermissionDeniedError
from shared.limits import PublicIssueLimiter
from shared.validation import Field, parse_json_object, validate

logger = logging.getLogger(__name__)

REQUEST_ID = r"[A-Za-z0-9_-]{8,64}"
PRINTING_EXTENSION = "onewindow_kiosk_printing"
IDLE_SECONDS = 60  # the kiosk page returns to the start screen (and to Chinese) after this long untouched
TICKET_SPEC = {
    "service": Field(str, required=True, max_length=32),
    "priority": Field(bool),
    "lang": Field(str, choices=("zh", "en")),
    "request_id": Field(str, pattern=REQUEST_ID),
    "kiosk": Field(str, pattern=KIOSK_ID.pattern),
}
CANCEL_SPEC = {"token": Field(str, required=True, max_length=64)}


def _hall():
    return current_app.extensions["onewindow"]


def _public_base() -> str:
    """Base of tracking links: ``hall.public_url``, or (unset) the address this request came to."""
    return _hall().config.public_url or request.host_url.rstrip("/")


def _printing() -> KioskPrinting:
    """This process's kiosk printer (made when the blueprint is registered; lazily for an app built otherwise)."""
    printing = current_app.extensions.get(PRINTING_EXTENSION)
    if printing is None:
        hall = _hall()
        printing = current_app.extensions[PRINTING_EXTENSION] = KioskPrinting.from_config(hall.engine, hall.config)
    return printing


def _device() -> MachineToken | None:
    """The registered device making this request (None: an unregistered client); 401 for an unknown token."""
    return identify(_hall().config, request.headers.get("Authorization"))


def _kiosk_device() -> MachineToken:
    """The registered kiosk making this request, or 401 ``device_required`` / 403 ``wrong_device``."""
    device = _device()
    if device is None:
        raise AuthenticationError("this needs a registered kiosk (Authorization: Bearer <kiosk token>)",
                                  code="device_required")
    return require_kind(device, KIOSK)


def _setup_printing(state) -> None:
    """Validate ``[printer]`` at start-up: a wrong printer config stops the app instead of the first ticket."""
    hall = state.app.extensions.get("onewindow")
    if hall is not None:
        state.app.extensions[PRINTING_EXTENSION] = KioskPrinting.from_config(hall.engine, hall.config)


def create_blueprint() -> Blueprint:
    bp = Blueprint("kiosk", __name__, template_folder="templates", static_folder="static",
                   static_url_path="/kiosk/static")
    bp.record_once(_setup_printing)

    @bp.get("/kiosk")
    def kiosk_page():
        """The touch page. Which kiosk it is comes from its device token (paired once, kept in the browser): an
        unpaired browser sees the pairing screen, never the tiles."""
        hall = _hall()
        try:
            services = hall.engine.services_overview()
        except redis.RedisError as exc:  # the page still loads; its script retries until the store answers
            logger.warning("kiosk page without services: %s", exc)
            services = None
        config = hall.config
        boot = {
            "hall": config.hall_name, "hall_en": config.hall_name_en,
            "notice": config.notice, "notice_en": config.notice_en, "timezone": config.timezone.key,
            "idle_seconds": IDLE_SECONDS, "services": services,
        }
        return render_template("kiosk.html", boot=boot, hall=config)

    @bp.get("/kiosk/qr/<token>.svg")
    def ticket_qr(token: str):
        """The QR code of a ticket's tracking URL; only for a valid token (it shows what the token holder has)."""
        hall = _hall()
        hall.engine.ticket_by_token(token)
        svg = qr_svg(f"{_public_base()}/t/{token}")
        return current_app.response_class(svg, mimetype="image/svg+xml",
                                          headers={"Cache-Control": "private, no-store"})

    @bp.get("/api/v1/kiosks/<kiosk_id>/health")
    def kiosk_health(kiosk_id: str):
        """The kiosk's printer: asked now (within the printer timeout), plus its last fault and last print. Only
        that kiosk asks (asking talks to the printer)."""
        if not KIOSK_ID.fullmatch(kiosk_id):
            raise NotFoundError("a kiosk id is 1–32 letters, digits, - or _", code="unknown_kiosk")
        device = _kiosk_device()
        if device.kiosk != kiosk_id:
            raise PermissionDeniedError(f"this token belongs to kiosk {device.kiosk}", code="wrong_kiosk")
        return jsonify(_printing().health(kiosk_id))

    @bp.get("/api/v1/services")
    def services():
        """The service list, with the ``seq`` it is valid from (read first: an event racing the read is applied
        again rather than missed) — the kiosk's live snapshot."""
        engine = _hall().engine
        seq = engine.last_seq()
        return jsonify({"seq": seq, "services": engine.services_overview()})

    @bp.post("/api/v1/tickets")
    def issue_ticket():
        """A registered kiosk issues (prints, and may issue 绿色通道 tickets) as its own kiosk id; an unregistered
        client may take a normal, unprinted ticket when ``[public] allow_issue``, within the per-address limits."""
        body = validate(parse_json_object(request.get_data(), request.mimetype), TICKET_SPEC)
        hall = _hall()
        device = _device()
        limiter = address = None
        if device is not None:
            require_kind(device, KIOSK)
            if body.get("kiosk", device.kiosk) != device.kiosk:
                raise PermissionDeniedError(f"this token belongs to kiosk {device.kiosk}", code="wrong_kiosk")
            kiosk = device.kiosk
        else:
            if body.get("priority") or "kiosk" in body:
                raise PermissionDeniedError(
                    "绿色通道号和打印号票只能在大厅的自助取号机上办理。 / Priority (绿色通道) and printed tickets are "
                    "issued only by the hall's registered kiosks.", code="kiosk_required")
            if not hall.config.public.allow_issue:
                raise PermissionDeniedError(
                    "请到大厅的自助取号机取号。 / Please take a ticket at one of the hall's kiosks.",
                    code="public_issue_closed")
            hall.engine.service(body["service"])  # an unknown service is a 422 before any allowance is spent
            limiter, address = PublicIssueLimiter(hall.engine), request.remote_addr or "-"
            limiter.take(address)
            kiosk = ""
        try:
            issued = hall.engine.issue(body["service"], priority=body.get("priority", False),
                                       lang=body.get("lang", "zh"), request_id=body.get("request_id"), kiosk=kiosk)
        except OneWindowError:
            if limiter is not None:
                limiter.refund(address)
            raise
        if limiter is not None and not issued.created:
            limiter.refund(address)
        ticket = issued.ticket
        ticket["tracking_url"] = f"{_public_base()}/t/{ticket['token']}"
        if not issued.created:
            printed = REPLAYED
        elif device is None:
            printed = NO_KIOSK
        else:
            printed = _printing().print_ticket(ticket, kiosk)
        return (jsonify({"ticket": ticket, "created": issued.created, "print": printed.to_dict()}),
                201 if issued.created else 200)

    @bp.get("/api/v1/tickets/<ticket_id>")
    def get_ticket(ticket_id: str):
        return jsonify({"ticket": _hall().engine.get_ticket(ticket_id)})

    @bp.post("/api/v1/tickets/<ticket_id>/cancel")
    def cancel_ticket(ticket_id: str):
        body = validate(parse_json_object(request.get_data(), request.mimetype), CANCEL_SPEC)
        engine = _hall().engine
        ticket = engine.ticket_by_token(body["token"])
        if ticket["id"] != ticket_id:
            raise PermissionDeniedError("the token does not belong to this ticket", code="wrong_token")
        return jsonify({"ticket": engine.cancel(ticket_id)})

    return bp
