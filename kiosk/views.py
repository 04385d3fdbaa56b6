"""Kiosk blueprint: the public service list, ticket issuing (and printing) and lookup, the kiosk's printer health,
and the kiosk page."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from flask import Blueprint, Response, jsonify

from kiosk import checkin_api
from kiosk.printing import NO_KIOSK, REPLAYED, KioskPrinter
from kiosk.qr import qr_svg
from shared.config import KIOSK_ID, MachineToken
from shared.devices import KIOSK, require_kind
from shared.engine import Issued
from shared.errors import AuthenticationError, NotFoundError, PermissionDeniedError
from shared.help_requests import request_help
from shared.limits import PublicIssueLimiter
from shared.validation import Field

if TYPE_CHECKING:
    from onewindow.edge import Caller, WebEdge

logger = logging.getLogger(__name__)

REQUEST_ID = r"[A-Za-z0-9_-]{8,64}"
IDLE_SECONDS = 60  # the kiosk page returns to the start screen (and to Chinese) after this long untouched
TICKET_SPEC = {
    "service": Field(str, required=True, max_length=32),
    "priority": Field(bool),
    "lang": Field(str, choices=("zh", "en")),
    "request_id": Field(str, pattern=REQUEST_ID),
    "kiosk": Field(str, pattern=KIOSK_ID.pattern),
    **checkin_api.PERSON_SPEC,  # a real-name ticket (registered kiosks only): the card read or the typed ID number
}
CANCEL_SPEC = {"token": Field(str, required=True, max_length=64)}


def create_blueprint(edge: WebEdge) -> Blueprint:
    """The kiosk blueprint; ``[printer]`` is validated now, so a wrong printer config stops the app at start-up
    instead of failing the first ticket."""
    bp = Blueprint("kiosk", __name__, template_folder="templates", static_folder="static",
                   static_url_path="/kiosk/static")
    # one printer per hall, however many places the hall is mounted at (its lock serialises the device)
    printer = edge.hall.once("kiosk_printer", lambda: KioskPrinter.from_config(edge.hall.printers))
    _pages(bp, edge)
    _tickets(bp, edge, printer)
    checkin_api.register(bp, edge, printer, lambda: _kiosk_device(edge), edge.public_base)

    @bp.get("/api/v1/kiosks/<kiosk_id>/health")
    def kiosk_health(kiosk_id: str):
        """The kiosk's printer: asked now (within the printer timeout), plus its last fault and last print. Only
        that kiosk asks (asking talks to the printer)."""
        if not KIOSK_ID.fullmatch(kiosk_id):
            raise NotFoundError("a kiosk id is 1–32 letters, digits, - or _", code="unknown_kiosk")
        device = _kiosk_device(edge)
        if device.kiosk != kiosk_id:
            raise PermissionDeniedError(f"this token belongs to kiosk {device.kiosk}", code="wrong_kiosk")
        return jsonify(printer.health(kiosk_id))

    @bp.post("/api/v1/kiosks/<kiosk_id>/help")
    def kiosk_help(kiosk_id: str):
        """The kiosk's "需要帮助" button: the supervisor / floor guide is alerted (``help_requested``). Only that
        kiosk asks; a kiosk with an open request gets it back (200, ``created`` false), one that asked a moment
        ago is 429 ``rate_limited``."""
        if not KIOSK_ID.fullmatch(kiosk_id):
            raise NotFoundError("a kiosk id is 1–32 letters, digits, - or _", code="unknown_kiosk")
        device = _kiosk_device(edge)
        if device.kiosk != kiosk_id:
            raise PermissionDeniedError(f"this token belongs to kiosk {device.kiosk}", code="wrong_kiosk")
        done = request_help(edge.hall.engine, kiosk_id)
        return jsonify(done), 201 if done["created"] else 200

    return bp


def _kiosk_device(edge: WebEdge) -> MachineToken:
    """The registered kiosk making this request, or 401 ``device_required`` / 403 ``wrong_device``."""
    device = edge.auth.device()
    if device is None:
        raise AuthenticationError("this needs a registered kiosk (Authorization: Bearer <kiosk token>)",
                                  code="device_required")
    return require_kind(device, KIOSK)


# ------------------------------------------------------------------------------------------------ pages
def _pages(bp: Blueprint, edge: WebEdge) -> None:
    hall = edge.hall
    config = hall.config

    @bp.get("/kiosk")
    def kiosk_page():
        """The touch page. Which kiosk it is comes from its device token (paired once, kept in the browser): an
        unpaired browser sees the pairing screen, never the tiles. Without the store the page still loads (its
        script fetches the services until the store answers)."""
        boot = {
            "hall": config.hall_name, "hall_en": config.hall_name_en,
            "notice": config.notice, "notice_en": config.notice_en, "timezone": config.timezone.key,
            "idle_seconds": IDLE_SECONDS, "services": edge.unless_store_down(hall.engine.services_overview, None),
            "checkin": checkin_api.in_use(config), "card_reader": config.realname.card_reader,
        }
        reader = (config.realname.card_reader,) if boot["checkin"] else ()
        return edge.page("kiosk.html", boot=boot, hall=config, connect_src=reader)

    @bp.get("/kiosk/qr/<token>.svg")
    def ticket_qr(token: str):
        """The QR code of a ticket's tracking URL; only for a valid token (it shows what the token holder has)."""
        hall.engine.ticket_by_token(token)
        return Response(qr_svg(f"{edge.public_base()}/t/{token}"), mimetype="image/svg+xml",
                        headers={"Cache-Control": "private, no-store"})


# ------------------------------------------------------------------------------------------------ tickets
def _tickets(bp: Blueprint, edge: WebEdge, printer: KioskPrinter) -> None:
    engine = edge.hall.engine
    public_limit = PublicIssueLimiter(engine)

    @bp.get("/api/v1/services")
    def services():
        """The service list, with the ``seq`` it is valid from and the stream ``entry`` of the event at it (read
        first: an event racing the read is applied again rather than missed) — the kiosk's live snapshot."""
        return jsonify({**engine.seq_entry(), "services": engine.services_overview()})

    def issue_ticket(body: dict, caller: Caller) -> tuple[dict, int]:
        """``POST /api/v1/tickets``: a registered kiosk issues (prints, and may issue 绿色通道 tickets) as its own kiosk
        id; an unregistered client may take a normal, unprinted ticket when ``[public] allow_issue``, within the
        per-address limits. (A hot route: served by the lean lane too, see :meth:`WebEdge.json_post`.)"""
        device = caller.device
        if device is not None:
            issued = _issue_at_kiosk(engine, body, device)
        else:
            issued = _issue_in_public(engine, public_limit, body, caller.address)
        ticket = issued.ticket
        ticket["tracking_url"] = f"{caller.public_base}/t/{ticket['token']}"
        if device is None:
            printed = NO_KIOSK if issued.created else REPLAYED
        else:  # a resent request prints a ticket no kiosk printed yet (its first answer was lost), once
            printed = printer.print_once(ticket, device.kiosk)
        return ({"ticket": ticket, "created": issued.created, "print": printed.to_dict()},
                201 if issued.created else 200)

    edge.json_post(bp, "/api/v1/tickets", TICKET_SPEC, issue_ticket)

    @bp.get("/api/v1/tickets/<ticket_id>")
    def get_ticket(ticket_id: str):
        return jsonify({"ticket": engine.get_ticket(ticket_id)})

    @bp.post("/api/v1/tickets/<ticket_id>/cancel")
    def cancel_ticket(ticket_id: str):
        body = edge.body(CANCEL_SPEC)
        ticket = engine.ticket_by_token(body["token"])
        if ticket["id"] != ticket_id:
            raise PermissionDeniedError("the token does not belong to this ticket", code="wrong_token")
        return jsonify({"ticket": engine.cancel(ticket_id)})


def _issue_at_kiosk(engine, body: dict, device: MachineToken) -> Issued:
    """A registered kiosk issues as itself (its tickets print; it may issue 绿色通道 tickets)."""
    require_kind(device, KIOSK)
    if body.get("kiosk", device.kiosk) != device.kiosk:
        raise PermissionDeniedError(f"this token belongs to kiosk {device.kiosk}", code="wrong_kiosk")
    return engine.issue(body["service"], priority=body.get("priority", False), lang=body.get("lang", "zh"),
                        request_id=body.get("request_id"), kiosk=device.kiosk,
                        identity=checkin_api.identity_from(engine, body))


def _issue_in_public(engine, limiter: PublicIssueLimiter, body: dict, address: str) -> Issued:
    """An unregistered client (a phone): a normal, unprinted ticket when ``[public] allow_issue``, within the
    per-address limits (a request that issues nothing new does not count in today's allowance)."""
    if body.get("priority") or "kiosk" in body or "card" in body or "id_number" in body:
        raise PermissionDeniedError(
            "绿色通道号、实名号和打印号票只能在大厅的自助取号机上办理。 / Priority (绿色通道), real-name and printed "
            "tickets are issued only by the hall's registered kiosks.", code="kiosk_required")
    if not engine.config.public.allow_issue:
        raise PermissionDeniedError("请到大厅的自助取号机取号。 / Please take a ticket at one of the hall's kiosks.",
                                    code="public_issue_closed")
    # the limit is decided by the issuing script itself: a request that issues nothing does not count in the day
    return engine.issue(body["service"], lang=body.get("lang", "zh"), request_id=body.get("request_id"),
                        limit=limiter.for_issue(address))
