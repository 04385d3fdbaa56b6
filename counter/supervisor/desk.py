"""The supervisor desk's 好差评 and 帮办代办 routes (part of the supervisor blueprint, :mod:`counter.supervisor.views`):

* the upstream reports (outbox of ratings): counts, the entries of one state with their attempts and last error,
  and *resend* of a failed one (``Outbox.resend``);
* the 差评 / 办不成事 rectification records: list, one record (its contact in clear only on ``?reveal=1``, logged),
  complete a step, log a call-back (回访), rule an appeal (申诉复核);
* 帮办代办: mark a waiting or called ticket of today by its number.

Every route needs a supervisor's session; state changes carry its CSRF token and an Idempotency-Key (the edge's
rules). Bad input is a 4xx with a code (the core's errors).
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from flask import Blueprint, jsonify, request

from shared.errors import ValidationError
from shared.haocaiping import rating_outbox
from shared.outbox import STATES as OUTBOX_STATES
from shared.rectification import complete_step, get_record, list_records, log_callback, rule_appeal
from shared.validation import Field

if TYPE_CHECKING:
    from onewindow.edge import WebEdge

logger = logging.getLogger(__name__)

NOTE = Field(str, max_length=500)
STEP_SPEC = {"note": NOTE}
CALLBACK_SPEC = {"outcome": Field(str, required=True, max_length=16), "note": NOTE}
RULING_SPEC = {"upheld": Field(bool, required=True), "note": NOTE}
ASSIST_SPEC = {"note": Field(str, max_length=200)}
MAX_LIST = 500


def register(bp: Blueprint, edge: WebEdge) -> None:
    """Add the desk's 好差评 and 帮办代办 routes to the supervisor blueprint."""
    _outbox(bp, edge)
    _rectifications(bp, edge)
    _assist(bp, edge)


def _limit(default: int = 100) -> int:
    text = request.args.get("limit")
    if text in (None, ""):
        return default
    if not re.fullmatch(r"[0-9]{1,4}", text) or not 1 <= int(text) <= MAX_LIST:  # ASCII digits only ("²" isdigit)
        raise ValidationError(f"'limit' must be 1 … {MAX_LIST}", code="invalid_value", field="limit")
    return int(text)


# ------------------------------------------------------------------------------------------------ upstream reports
def _outbox(bp: Blueprint, edge: WebEdge) -> None:
    hall, auth = edge.hall, edge.auth

    @bp.get("/api/v1/supervisor/outbox")
    def supervisor_outbox():
        auth.require_supervisor()
        state = request.args.get("state", "pending")
        if state not in OUTBOX_STATES:
            raise ValidationError(f"'state' must be one of: {', '.join(OUTBOX_STATES)}", code="invalid_value",
                                  field="state")
        box = rating_outbox(hall.engine)
        upstream = hall.config.haocaiping.upstream
        return jsonify({"state": state, "counts": box.counts(), "enabled": upstream.enabled,
                        "items": [e.view() for e in box.list(state, _limit())]})

    @bp.post("/api/v1/supervisor/outbox/<entry_id>/resend")
    def supervisor_outbox_resend(entry_id: str):
        actor = auth.require_supervisor()
        edge.body({})
        if not 1 <= len(entry_id) <= 64:
            raise ValidationError("no such report", code="invalid_value", field="id")
        entry = rating_outbox(hall.engine).resend(entry_id, by=actor.id)
        return jsonify({"entry": entry.view()})


# ------------------------------------------------------------------------------------------------ rectification
def _rectifications(bp: Blueprint, edge: WebEdge) -> None:
    engine, auth = edge.hall.engine, edge.auth

    @bp.get("/api/v1/supervisor/rectifications")
    def supervisor_rectifications():
        auth.require_supervisor()
        overdue_only = request.args.get("overdue", "0")
        if overdue_only not in ("0", "1"):
            raise ValidationError("'overdue' must be 0 or 1", code="invalid_value", field="overdue")
        items = list_records(engine, state=request.args.get("state", "open"), overdue_only=overdue_only == "1",
                             limit=_limit(MAX_LIST))
        return jsonify({"items": items, "today": engine.clock.business_date().isoformat()})

    @bp.get("/api/v1/supervisor/rectifications/<record_id>")
    def supervisor_rectification(record_id: str):
        actor = auth.require_supervisor()
        reveal = request.args.get("reveal", "0")
        if reveal not in ("0", "1"):
            raise ValidationError("'reveal' must be 0 or 1", code="invalid_value", field="reveal")
        record = get_record(engine, record_id, reveal=reveal == "1")
        if reveal == "1" and record["has_contact"]:
            logger.info("supervisor %s revealed the contact of rectification %s", actor.id, record["id"])
        return jsonify({"record": record})

    @bp.post("/api/v1/supervisor/rectifications/<record_id>/steps/<step>")
    def supervisor_rectification_step(record_id: str, step: str):
        actor = auth.require_supervisor()
        body = edge.body(STEP_SPEC)
        return jsonify({"record": complete_step(engine, record_id, step, by=actor.id, note=body.get("note", ""))})

    @bp.post("/api/v1/supervisor/rectifications/<record_id>/callbacks")
    def supervisor_rectification_callback(record_id: str):
        actor = auth.require_supervisor()
        body = edge.body(CALLBACK_SPEC)
        return jsonify({"record": log_callback(engine, record_id, by=actor.id, outcome=body["outcome"],
                                               note=body.get("note", ""))})

    @bp.post("/api/v1/supervisor/rectifications/<record_id>/ruling")
    def supervisor_rectification_ruling(record_id: str):
        actor = auth.require_supervisor()
        body = edge.body(RULING_SPEC)
        return jsonify({"record": rule_appeal(engine, record_id, by=actor.id, upheld=body["upheld"],
                                              note=body.get("note", ""))})


# ------------------------------------------------------------------------------------------------ 帮办代办
def _assist(bp: Blueprint, edge: WebEdge) -> None:
    engine, auth = edge.hall.engine, edge.auth

    @bp.post("/api/v1/supervisor/tickets/<number>/assist")
    def supervisor_assist(number: str):
        actor = auth.require_guide()  # a guide (导办) in the lobby, or the supervisor
        body = edge.body(ASSIST_SPEC)
        return jsonify(engine.assist(number.strip().upper(), by=actor.id, note=body.get("note", "")))
