"""Counter blueprint: staff sign-in, the window actions (each one engine call authorised to that window), the
window's view and today's figures, the evaluation tablet's rating API, 办不成事 cases, and the two pages
(``/counter``, ``/rate/<window>``)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from flask import Blueprint, jsonify, request

from shared import ratings, rectification
from shared.cases import complaint_service, is_complaint_window, record_case
from shared.engine import TRANSFER_REASONS
from shared.config import MachineToken
from shared.devices import TABLET, describe, require_kind
from shared.errors import AuthenticationError, NotFoundError, PermissionDeniedError, ValidationError
from shared.validation import Field
from shared.window_view import window_state, window_view

if TYPE_CHECKING:
    from onewindow.edge import WebEdge
    from onewindow.auth import Actor

logger = logging.getLogger(__name__)

LOGIN_SPEC = {
    "username": Field(str, required=True, max_length=64),
    "password": Field(str, required=True, max_length=256),
    "window": Field(int, minimum=1, maximum=999),  # required for clerks; a supervisor may sign in without one
}
NUMBER_SPEC = {"number": Field(str, required=True, max_length=8)}
FINISH_SPEC = {
    "outcome": Field(str, required=True, choices=("handled", "consulted")),
    "matter": Field(str, max_length=64),  # the 事项 served (a code of the service's matters; default: the first)
    "case_no": Field(str, max_length=64),  # the 办件编号, typed or scanned
}
TRANSFER_SPEC = {
    "service": Field(str, max_length=32), "window": Field(int, minimum=1, maximum=999),
    "reason": Field(str, max_length=32, choices=tuple(TRANSFER_REASONS)),  # a tap choice …
    "reason_text": Field(str, max_length=200),  # … and/or words: at least one of the two
}
UNDO_SPEC = {"ticket_id": Field(str, required=True, max_length=32)}
APPEAL_SPEC = {
    "record": Field(str, required=True, max_length=16),
    "grounds": Field(str, required=True, choices=rectification.APPEAL_GROUNDS),
    "reason": Field(str, required=True, max_length=rectification.NOTE_MAX),
}
PAUSE_SPEC = {"reason": Field(str, max_length=100)}
HOLD_SPEC = {"ticket_id": Field(str, required=True, max_length=32)}
RATING_SPEC = {
    "ticket_id": Field(str, required=True, max_length=32),
    "level": Field(int, required=True, minimum=1, maximum=5),
    "token": Field(str, max_length=64),  # the holder's tracking token, when the phone rates instead of the tablet
    "options": Field(list),  # content option codes offered for the level (ratings.rating_form)
    "text": Field(str, max_length=500),  # free text (low levels only)
    "contact_phone": Field(str, max_length=32),  # a call-back number (不满意 / 非常不满意 only)
    "contact_name": Field(str, max_length=32),
}
CASE_SPEC = {
    "department": Field(str, required=True, max_length=64),
    "problem": Field(str, required=True, max_length=500),
    "action": Field(str, max_length=500),
    "resolved": Field(bool, required=True),
    "contact_name": Field(str, max_length=32),  # the citizen's contact for the call-back (both optional)
    "contact_phone": Field(str, max_length=32),
}
EMPTY_SPEC: dict = {}

PAUSE_REASONS = (("午间休息", "Lunch break"), ("临时离开", "Away for a moment"), ("业务培训", "Training"),
                 ("系统故障", "System fault"))


def create_blueprint(edge: WebEdge) -> Blueprint:
    bp = Blueprint("counter", __name__, template_folder="templates", static_folder="static",
                   static_url_path="/counter/static")
    _pages(bp, edge)
    _sign_in(bp, edge)
    _window_reads(bp, edge)
    _window_actions(bp, edge)
    _tablet(bp, edge)
    return bp


# ------------------------------------------------------------------------------------------------ pages
def _pages(bp: Blueprint, edge: WebEdge) -> None:
    config = edge.hall.config
    complaint = complaint_service(config)
    boot = {
        **edge.facts,
        "windows": [{**w, "complaint": is_complaint_window(config, w["number"])} for w in edge.facts["windows"]],
        "complaint_service": complaint.code if complaint else None,
        "pause_reasons": [{"zh": zh, "en": en} for zh, en in PAUSE_REASONS],
        "levels": ratings.levels_view(),
        "rating_seconds": config.counter.rating_seconds,
        "rating_form": ratings.rating_form(config),
        "matters": {s.code: [{"code": m.code, "name": m.name} for m in s.matters] for s in config.services.values()},
        "transfer_reasons": [{"code": c, "zh": zh, "en": en} for c, (zh, en) in TRANSFER_REASONS.items()],
        "no_show_undo_seconds": config.counter.no_show_undo_seconds,
        "min_calls_before_no_show": config.counter.min_calls_before_no_show,
        "appeal_grounds": list(rectification.APPEAL_GROUNDS),
    }

    @bp.get("/counter")
    def counter_page():
        return edge.page("counter.html", boot={**boot, "window": None})

    @bp.get("/rate/<int:window>")
    def rate_page(window: int):
        return edge.page("rate.html", boot={**boot, "window": window}, window=edge.hall.engine.window_config(window))


# ------------------------------------------------------------------------------------------------ sign-in
def _sign_in(bp: Blueprint, edge: WebEdge) -> None:
    auth, config = edge.auth, edge.hall.config

    @bp.post("/api/v1/login")
    def login():
        body = edge.body(LOGIN_SPEC)
        address = request.remote_addr or "-"
        auth.login_limiter.reserve(body["username"], address)  # counted before the hash: guesses cannot slip past
        clerk = auth.check_credentials(body["username"], body["password"])
        auth.login_limiter.succeeded(body["username"], address)
        window = body.get("window")
        if window is None and clerk.role not in ("supervisor", "guide"):
            raise ValidationError("'window' is required", code="missing_field", field="window")
        if window is not None and clerk.role == "guide":  # a guide (导办) works in the lobby, never at a window
            raise ValidationError("a guide signs in without a window", code="invalid_value", field="window")
        if window is not None and window not in config.windows:
            raise NotFoundError(f"no window {window}", code="unknown_window")
        hold = auth.holds.hold(window, clerk.username, clerk.name) if window is not None else None
        previous = auth.session_or_none()
        if previous is not None:  # this browser was signed in: end that session, give its window back
            auth.sessions.end(auth.session_id())
            if previous.window is not None and previous.hold and (hold is None or previous.hold != hold.hold_id):
                auth.holds.release(previous.window, previous.hold)
        session_id, record = auth.sessions.create(clerk, window, hold.hold_id if hold else "")
        auth.start_session(session_id)
        logger.info("%s %s signed in (window %s)", clerk.role, clerk.username, window)
        return jsonify({"clerk": {"username": clerk.username, "name": clerk.name, "role": clerk.role},
                        "window": window, "csrf_token": record.csrf})

    @bp.post("/api/v1/logout")
    def logout():
        """End this browser's session on the server (a copy of the cookie stops working too) and give its window
        back. Without a live session it is a no-op."""
        released = False
        record = auth.session_or_none()
        if record is not None:
            auth.check_csrf(record)
            auth.sessions.end(auth.session_id())
            if record.window is not None and record.hold:
                released = auth.holds.release(record.window, record.hold)
            logger.info("%s signed out (window %s)", record.clerk, record.window)
        auth.forget_session()
        return jsonify({"ok": True, "released": released})

    @bp.get("/api/v1/me")
    def me():
        """Who is signed in, or which device this is (a kiosk or tablet checks its pairing with this)."""
        actor = auth.actor()
        who = {"id": actor.id, "name": actor.name, "role": actor.role, "window": actor.window}
        if actor.role == "machine":
            return jsonify({**who, "csrf_token": None, "device": describe(auth.device())})
        return jsonify({**who, "csrf_token": auth.session().csrf})

    @bp.get("/api/v1/windows/holders")
    def holders():
        auth.require_supervisor()
        return jsonify({"holders": {str(n): h for n, h in auth.holds.holders().items()}})

    @bp.post("/api/v1/windows/<int:window>/release")
    def release(window: int):
        actor = auth.require_supervisor()
        edge.body(EMPTY_SPEC)
        return jsonify({"released": auth.holds.force_release(window, actor.id)})


# ------------------------------------------------------------------------------------------------ window reads
def _window_reads(bp: Blueprint, edge: WebEdge) -> None:
    hall = edge.hall

    @bp.get("/api/v1/windows/<int:window>")
    @edge.auth.require_window
    def state(window: int, actor: Actor):
        return jsonify({"window": window_state(hall.engine, window)})

    @bp.get("/api/v1/windows/<int:window>/overview")
    @edge.auth.require_window
    def overview(window: int, actor: Actor):
        return jsonify(window_view(hall.engine, window))

    @bp.get("/api/v1/windows/<int:window>/today")
    @edge.auth.require_window
    def today(window: int, actor: Actor):
        return jsonify({"window": window, "counts": hall.stats.window_today(window)})


# ------------------------------------------------------------------------------------------------ window actions
def _window_actions(bp: Blueprint, edge: WebEdge) -> None:
    engine = edge.hall.engine
    acting = edge.auth.require_window

    @bp.post("/api/v1/windows/<int:window>/call-next")
    @acting
    def call_next(window: int, actor: Actor):
        edge.body(EMPTY_SPEC)
        return jsonify({"ticket": engine.call_next(window, actor.id)})

    @bp.post("/api/v1/windows/<int:window>/call")
    @acting
    def call_number(window: int, actor: Actor):
        body = edge.body(NUMBER_SPEC)
        return jsonify({"ticket": engine.call_number(window, body["number"].strip().upper(), actor.id)})

    @bp.post("/api/v1/windows/<int:window>/recall")
    @acting
    def recall(window: int, actor: Actor):
        edge.body(EMPTY_SPEC)
        return jsonify({"ticket": engine.recall(window, actor.id)})

    @bp.post("/api/v1/windows/<int:window>/no-show")
    @acting
    def no_show(window: int, actor: Actor):
        edge.body(EMPTY_SPEC)
        return jsonify({"ticket": engine.no_show(window, actor.id)})

    @bp.post("/api/v1/windows/<int:window>/undo-no-show")
    @acting
    def undo_no_show(window: int, actor: Actor):
        """Take back this window's 过号 of ``ticket_id`` within ``[counter] no_show_undo_seconds``."""
        body = edge.body(UNDO_SPEC)
        return jsonify({"ticket": engine.undo_no_show(window, body["ticket_id"].strip(), actor.id)})

    @bp.post("/api/v1/windows/<int:window>/finish")
    @acting
    def finish(window: int, actor: Actor):
        body = edge.body(FINISH_SPEC)
        case_no = body.get("case_no", "").strip() or None
        return jsonify({"ticket": engine.finish(window, body["outcome"], actor.id, matter=body.get("matter") or None,
                                                case_no=case_no)})

    @bp.post("/api/v1/windows/<int:window>/transfer")
    @acting
    def transfer(window: int, actor: Actor):
        body = edge.body(TRANSFER_SPEC)
        if not body.get("reason") and not body.get("reason_text", "").strip():
            raise ValidationError("a transfer needs a reason: 'reason' (a choice) and/or 'reason_text'",
                                  code="missing_field", field="reason")
        ticket = engine.transfer(window, service=body.get("service"), to_window=body.get("window"), clerk=actor.id,
                                 reason=body.get("reason"), reason_text=body.get("reason_text"))
        return jsonify({"ticket": ticket})

    @bp.post("/api/v1/windows/<int:window>/pause")
    @acting
    def pause(window: int, actor: Actor):
        body = edge.body(PAUSE_SPEC)
        engine.pause(window, body.get("reason", "").strip(), actor.id)
        return jsonify({"window": window_state(engine, window)})

    @bp.post("/api/v1/windows/<int:window>/resume")
    @acting
    def resume(window: int, actor: Actor):
        edge.body(EMPTY_SPEC)
        engine.resume(window, actor.id)
        return jsonify({"window": window_state(engine, window)})

    @bp.post("/api/v1/windows/<int:window>/case")
    @acting
    def case(window: int, actor: Actor):
        body = edge.body(CASE_SPEC)
        recorded = record_case(engine, window, actor.id, department=body["department"], problem=body["problem"],
                               action=body.get("action", ""), resolved=body["resolved"],
                               contact_name=body.get("contact_name", ""), contact_phone=body.get("contact_phone", ""))
        return jsonify({"case": recorded}), 201

    @bp.get("/api/v1/windows/<int:window>/bad-ratings")
    @acting
    def bad_ratings(window: int, actor: Actor):
        """The signed-in clerk's 差评 of today (their rectification records; contacts masked), to appeal one."""
        day = engine.clock.business_date()
        mine = [r for r in rectification.list_records(engine, state="all")
                if r["kind"] == "rating" and r["clerk"] == actor.id and r.get("opened_ms")
                and engine.clock.business_date(engine.clock.from_ms(r["opened_ms"])) == day]
        return jsonify({"records": mine})

    @bp.post("/api/v1/windows/<int:window>/appeals")
    @acting
    def appeal(window: int, actor: Actor):
        """申诉: the clerk appeals one of their 差评 as mistaken or malicious (the script checks it is theirs)."""
        body = edge.body(APPEAL_SPEC)
        record = rectification.file_appeal(engine, body["record"], clerk=actor.id, grounds=body["grounds"],
                                           reason=body["reason"])
        return jsonify({"record": record}), 201


# ------------------------------------------------------------------------------------------------ evaluation tablet
def _tablet(bp: Blueprint, edge: WebEdge) -> None:
    engine = edge.hall.engine

    def tablet_of(window: int) -> MachineToken | None:
        """The window's tablet making this request; None without a device token; 403 for another device."""
        engine.window_config(window)
        device = edge.auth.device()
        if device is None:
            return None
        require_kind(device, TABLET)
        if device.window != window:
            raise PermissionDeniedError(f"this tablet belongs to window {device.window}", code="wrong_window")
        return device

    @bp.get("/api/v1/windows/<int:window>/rating")
    def rating_state(window: int):
        """The rating the window's tablet should offer now (only the tablet may see which ticket that is)."""
        if tablet_of(window) is None:
            raise AuthenticationError("only the window's evaluation tablet may ask (Authorization: Bearer <tablet "
                                      "token>)", code="device_required")
        head = engine.seq_entry()  # read first: an event racing the read is applied again rather than missed
        return jsonify({**head, "window": window, "rating": ratings.open_rating(engine, window),
                        "levels": ratings.levels_view(), "rating_seconds": engine.config.counter.rating_seconds,
                        "form": ratings.rating_form(engine.config)})

    @bp.post("/api/v1/windows/<int:window>/rating/hold")
    def hold_rating(window: int):
        """The tablet: a level is chosen and the reason is being typed; keep the rating open for it (once)."""
        body = edge.body(HOLD_SPEC)
        if tablet_of(window) is None:
            raise AuthenticationError("only the window's evaluation tablet holds a rating", code="device_required")
        return jsonify(ratings.hold_rating(engine, window, body["ticket_id"]))

    @bp.post("/api/v1/windows/<int:window>/rating")
    def rate(window: int):
        """A rating from the window's tablet, or from the ticket holder's phone with its tracking token."""
        body = edge.body(RATING_SPEC)
        tablet = tablet_of(window)
        if tablet is None and not body.get("token"):
            raise AuthenticationError("a rating comes from the window's evaluation tablet, or from the ticket "
                                      "holder's phone with its tracking token", code="device_required")
        token = "" if tablet is not None else body["token"]
        result = ratings.rate(engine, window, body["ticket_id"], body["level"], options=body.get("options"),
                              text=body.get("text"), contact_name=body.get("contact_name", ""),
                              contact_phone=body.get("contact_phone", ""), tracking_token=token)
        return jsonify(result), 201
