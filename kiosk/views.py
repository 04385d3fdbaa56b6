"""Kiosk blueprint: public service list, ticket issuing (and printing) and lookup, kiosk health, and the kiosk page."""

from __future__ import annotations

import logging
import re

import redis
from flask import Blueprint, current_app, jsonify, render_template, request

from kiosk.print_service import DEFAULT_KIOSK, NO_KIOSK, REPLAYED, KioskPrinting
from kiosk.qr import qr_svg
from shared.errors import NotFoundError, PermissionDeniedError
from shared.validation import Field, parse_json_object, validate

logger = logging.getLogger(__name__)

REQUEST_ID = r"[A-Za-z0-9_-]{8,64}"
KIOSK_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
PRINTING_EXTENSION = "onewindow_kiosk_printing"
IDLE_SECONDS = 60  # the kiosk page returns to the start screen (and to Chinese) after this long untouched
TICKET_SPEC = {
    "service": Field(str, required=True, max_length=32),
    "priority": Field(bool),
    "lang": Field(str, choices=("zh", "en")),
    "request_id": Field(str, pattern=REQUEST_ID),
    "kiosk": Field(str, pattern=r"[A-Za-z0-9_-]{1,32}"),
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
        """The touch page; ``?id=lobby-1`` names the kiosk (printer health and events are kept per kiosk)."""
        hall = _hall()
        kiosk_id = request.args.get("id", "")
        if not KIOSK_ID.match(kiosk_id):
            kiosk_id = DEFAULT_KIOSK
        try:
            services = hall.engine.services_overview()
        except redis.RedisError as exc:  # the page still loads; its script retries until the store answers
            logger.warning("kiosk page without services: %s", exc)
            services = None
        config = hall.config
        boot = {
            "kiosk": kiosk_id, "hall": config.hall_name, "hall_en": config.hall_name_en,
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
        """The kiosk's printer: asked now (within the printer timeout), plus its last fault and last print."""
        if not KIOSK_ID.match(kiosk_id):
            raise NotFoundError("a kiosk id is 1–32 letters, digits, - or _", code="unknown_kiosk")
        return jsonify(_printing().health(kiosk_id))

    @bp.get("/api/v1/services")
    def services():
        return jsonify({"services": _hall().engine.services_overview()})

    @bp.post("/api/v1/tickets")
    def issue_ticket():
        body = validate(parse_json_object(request.get_data(), request.mimetype), TICKET_SPEC)
        hall = _hall()
        issued = hall.engine.issue(body["service"], priority=body.get("priority", False), lang=body.get("lang", "zh"),
                                   request_id=body.get("request_id"), kiosk=body.get("kiosk", ""))
        ticket = issued.ticket
        ticket["tracking_url"] = f"{_public_base()}/t/{ticket['token']}"
        if not issued.created:
            printed = REPLAYED
        elif "kiosk" not in body:
            printed = NO_KIOSK
        else:
            printed = _printing().print_ticket(ticket, body["kiosk"])
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
