"""Kiosk blueprint: public service list, ticket issuing and lookup, and the kiosk page."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, request

from shared.errors import PermissionDeniedError
from shared.validation import Field, parse_json_object, validate

logger = logging.getLogger(__name__)

REQUEST_ID = r"[A-Za-z0-9_-]{8,64}"
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


def create_blueprint() -> Blueprint:
    bp = Blueprint("kiosk", __name__, template_folder="templates", static_folder="static",
                   static_url_path="/kiosk/static")

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
        ticket["tracking_url"] = f"{hall.config.public_url}/t/{ticket['token']}"
        return jsonify({"ticket": ticket, "created": issued.created}), 201 if issued.created else 200

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
