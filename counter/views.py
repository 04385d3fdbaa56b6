"""Counter blueprint: login/logout, the window actions (each one engine call authorised to that window), the
evaluation device's rating API, 办不成事 cases, and the two pages (``/counter``, ``/rate/<window>``)."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, render_template, request, session

from counter.auth import (Actor, check_credentials, check_csrf, current_actor, current_session, login_limiter,
                          require_supervisor, require_window, staff_sessions, window_holds)
from counter.preview import queue_preview, today_counts
from counter.supervisor import register_supervisor_routes
from shared import ratings
from shared.cases import complaint_service, is_complaint_window, record_case
from shared.devices import TABLET, describe, identify, require_kind
from shared.errors import AuthenticationError, NotFoundError, PermissionDeniedError, ValidationError
from shared.validation import Field, parse_json_object, validate

logger = logging.getLogger(__name__)

LOGIN_SPEC = {
    "username": Field(str, required=True, max_length=64),
    "password": Field(str, required=True, max_length=256),
    "window": Field(int, minimum=1, maximum=999),  # required for clerks; a supervisor may sign in without one
}
NUMBER_SPEC = {"number": Field(str, required=True, max_length=8)}
FINISH_SPEC = {"outcome": Field(str, required=True, choices=("handled", "consulted"))}
TRANSFER_SPEC = {"service": Field(str, max_length=32), "window": Field(int, minimum=1, maximum=999)}
PAUSE_SPEC = {"reason": Field(str, max_length=100)}
RATING_SPEC = {
    "ticket_id": Field(str, required=True, max_length=32),
    "level": Field(int, required=True, minimum=1, maximum=5),
    "token": Field(str, max_length=64),  # the holder's tracking token, when the phone rates instead of the tablet
}
CASE_SPEC = {
    "department": Field(str, required=True, max_length=64),
    "problem": Field(str, required=True, max_length=500),
    "action": Field(str, max_length=500),
    "resolved": Field(bool, required=True),
}
EMPTY_SPEC: dict = {}

PAUSE_REASONS = (("午间休息", "Lunch break"), ("临时离开", "Away for a moment"), ("业务培训", "Training"),
                 ("系统故障", "System fault"))

# pages: everything is served from this origin (no CDN); nothing inline is executed
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "connect-src 'self'; media-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
                           "form-action 'self'")


def _hall():
    return current_app.extensions["onewindow"]


def _body(spec: dict) -> dict:
    return validate(parse_json_object(request.get_data(), request.mimetype), spec)


def _page(template: str, **context):
    response = current_app.make_response(render_template(template, **context))
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _boot(window: int | None = None) -> dict:
    """Static facts the pages start from (names, windows, services, shortcuts' targets)."""
    config = _hall().config
    complaint = complaint_service(config)
    return {
        "hall": {"name": config.hall_name, "name_en": config.hall_name_en},
        "services": [{"code": s.code, "name": s.name, "name_en": s.name_en, "prefix": s.prefix}
                     for s in config.services.values()],
        "windows": [{"number": n, "name": w.name, "services": list(w.services),
                     "complaint": is_complaint_window(config, n)} for n, w in sorted(config.windows.items())],
        "complaint_service": complaint.code if complaint else None,
        "pause_reasons": [{"zh": zh, "en": en} for zh, en in PAUSE_REASONS],
        "levels": ratings.levels_view(),
        "rating_seconds": config.counter.rating_seconds,
        "window": window,
    }


def create_blueprint() -> Blueprint:
    bp = Blueprint("counter", __name__, template_folder="templates", static_folder="static",
                   static_url_path="/counter/static")

    # ------------------------------------------------------------------------------------------- pages
    @bp.get("/counter")
    def counter_page():
        return _page("counter.html", boot=_boot())

    @bp.get("/rate/<int:number>")
    def rate_page(number: int):
        config = _hall().config
        if number not in config.windows:
            raise NotFoundError(f"no window {number}", code="unknown_window")
        return _page("rate.html", boot=_boot(number), window=config.windows[number])

    # ------------------------------------------------------------------------------------------- sign-in
    @bp.post("/api/v1/login")
    def login():
        body = _body(LOGIN_SPEC)
        hall = _hall()
        address = request.remote_addr or "-"
        limiter = login_limiter()
        limiter.reserve(body["username"], address)  # counted before the hash: parallel guesses cannot slip past
        clerk = check_credentials(hall.config, body["username"], body["password"])
        limiter.succeeded(body["username"], address)
        window = body.get("window")
        if window is None and clerk.role != "supervisor":
            raise ValidationError("'window' is required", code="missing_field", field="window")
        if window is not None and window not in hall.config.windows:
            raise NotFoundError(f"no window {window}", code="unknown_window")
        holds = window_holds()
        hold = holds.hold(window, clerk.username, clerk.name) if window is not None else None
        sessions = staff_sessions()
        try:
            previous = current_session()
        except AuthenticationError:
            previous = None
        if previous is not None:  # this browser was signed in: end that session, give its window back
            sessions.end(session["sid"])
            if previous.window is not None and previous.hold and (hold is None or previous.hold != hold.hold_id):
                holds.release(previous.window, previous.hold)
        session_id, record = sessions.create(clerk, window, hold.hold_id if hold else "")
        session.clear()
        session.permanent = True
        session["sid"] = session_id
        logger.info("%s %s signed in (window %s)", clerk.role, clerk.username, window)
        return jsonify({"clerk": {"username": clerk.username, "name": clerk.name, "role": clerk.role},
                        "window": window, "csrf_token": record.csrf})

    @bp.post("/api/v1/logout")
    def logout():
        """End this browser's session on the server (a copy of the cookie stops working too) and give its window
        back. Without a live session it is a no-op."""
        released = False
        try:
            record = current_session()
        except AuthenticationError:
            record = None
        if record is not None:
            check_csrf(record)
            staff_sessions().end(session["sid"])
            if record.window is not None and record.hold:
                released = window_holds().release(record.window, record.hold)
            logger.info("%s signed out (window %s)", record.clerk, record.window)
        session.clear()
        return jsonify({"ok": True, "released": released})

    @bp.get("/api/v1/me")
    def me():
        """Who is signed in, or which device this is (a kiosk or tablet checks its pairing with this)."""
        actor = current_actor()
        if actor.role == "machine":
            device = identify(_hall().config, request.headers.get("Authorization"))
            return jsonify({"id": actor.id, "name": actor.name, "role": actor.role, "window": actor.window,
                            "csrf_token": None, "device": describe(device)})
        return jsonify({"id": actor.id, "name": actor.name, "role": actor.role, "window": actor.window,
                        "csrf_token": current_session().csrf})

    @bp.get("/api/v1/windows/holders")
    def holders():
        require_supervisor()
        return jsonify({"holders": {str(n): h for n, h in window_holds().holders().items()}})

    @bp.post("/api/v1/windows/<int:number>/release")
    def release(number: int):
        actor = require_supervisor()
        _body(EMPTY_SPEC)
        return jsonify({"released": window_holds().force_release(number, actor.id)})

    # ------------------------------------------------------------------------------------------- window state
    @bp.get("/api/v1/windows/<int:number>")
    @require_window
    def window_state(number: int, actor: Actor):
        return jsonify({"window": _hall().engine.window_state(number)})

    @bp.get("/api/v1/windows/<int:number>/overview")
    @require_window
    def overview(number: int, actor: Actor):
        engine = _hall().engine
        h = engine.redis.hmget(engine.keys.window(number), ["last_finished"])
        return jsonify({"window": engine.window_state(number), "queues": queue_preview(engine, number),
                        "holder": window_holds().holder(number), "last_finished": h[0] or None,
                        "complaint": is_complaint_window(engine.config, number), "seq": engine.last_seq(),
                        "now": engine.clock.now().isoformat()})

    @bp.get("/api/v1/windows/<int:number>/today")
    @require_window
    def today(number: int, actor: Actor):
        return jsonify({"window": number, "counts": today_counts(_hall().engine, number)})

    # ------------------------------------------------------------------------------------------- window actions
    @bp.post("/api/v1/windows/<int:number>/call-next")
    @require_window
    def call_next(number: int, actor: Actor):
        _body(EMPTY_SPEC)
        return jsonify({"ticket": _hall().engine.call_next(number, actor.id)})

    @bp.post("/api/v1/windows/<int:number>/call")
    @require_window
    def call_number(number: int, actor: Actor):
        body = _body(NUMBER_SPEC)
        return jsonify({"ticket": _hall().engine.call_number(number, body["number"].strip().upper(), actor.id)})

    @bp.post("/api/v1/windows/<int:number>/recall")
    @require_window
    def recall(number: int, actor: Actor):
        _body(EMPTY_SPEC)
        return jsonify({"ticket": _hall().engine.recall(number, actor.id)})

    @bp.post("/api/v1/windows/<int:number>/no-show")
    @require_window
    def no_show(number: int, actor: Actor):
        _body(EMPTY_SPEC)
        return jsonify({"ticket": _hall().engine.no_show(number, actor.id)})

    @bp.post("/api/v1/windows/<int:number>/finish")
    @require_window
    def finish(number: int, actor: Actor):
        body = _body(FINISH_SPEC)
        return jsonify({"ticket": _hall().engine.finish(number, body["outcome"], actor.id)})

    @bp.post("/api/v1/windows/<int:number>/transfer")
    @require_window
    def transfer(number: int, actor: Actor):
        body = _body(TRANSFER_SPEC)
        ticket = _hall().engine.transfer(number, service=body.get("service"), to_window=body.get("window"),
                                         clerk=actor.id)
        return jsonify({"ticket": ticket})

    @bp.post("/api/v1/windows/<int:number>/pause")
    @require_window
    def pause(number: int, actor: Actor):
        body = _body(PAUSE_SPEC)
        engine = _hall().engine
        engine.pause(number, body.get("reason", "").strip(), actor.id)
        return jsonify({"window": engine.window_state(number)})

    @bp.post("/api/v1/windows/<int:number>/resume")
    @require_window
    def resume(number: int, actor: Actor):
        _body(EMPTY_SPEC)
        engine = _hall().engine
        engine.resume(number, actor.id)
        return jsonify({"window": engine.window_state(number)})

    @bp.post("/api/v1/windows/<int:number>/case")
    @require_window
    def case(number: int, actor: Actor):
        body = _body(CASE_SPEC)
        recorded = record_case(_hall().engine, number, actor.id, department=body["department"],
                               problem=body["problem"], action=body.get("action", ""), resolved=body["resolved"])
        return jsonify({"case": recorded}), 201

    # ------------------------------------------------------------------------------------------- evaluation device
    def _tablet(number: int):
        """The window's tablet making this request; None without a device token; 403 for another device."""
        config = _hall().config
        if number not in config.windows:
            raise NotFoundError(f"no window {number}", code="unknown_window")
        device = identify(config, request.headers.get("Authorization"))
        if device is None:
            return None
        require_kind(device, TABLET)
        if device.window != number:
            raise PermissionDeniedError(f"this tablet belongs to window {device.window}", code="wrong_window")
        return device

    @bp.get("/api/v1/windows/<int:number>/rating")
    def rating_state(number: int):
        """The rating the window's tablet should offer now (only the tablet may see which ticket that is)."""
        if _tablet(number) is None:
            raise AuthenticationError("only the window's evaluation tablet may ask (Authorization: Bearer <tablet "
                                      "token>)", code="device_required")
        engine = _hall().engine
        seq = engine.last_seq()  # read first: an event racing the read is applied again rather than missed
        return jsonify({"seq": seq, "window": number, "rating": ratings.open_rating(engine, number),
                        "levels": ratings.levels_view(), "rating_seconds": engine.config.counter.rating_seconds})

    @bp.post("/api/v1/windows/<int:number>/rating")
    def rate(number: int):
        """A rating from the window's tablet, or from the ticket holder's phone with its tracking token."""
        body = _body(RATING_SPEC)
        tablet = _tablet(number)
        if tablet is None and not body.get("token"):
            raise AuthenticationError("a rating comes from the window's evaluation tablet, or from the ticket "
                                      "holder's phone with its tracking token", code="device_required")
        token = "" if tablet is not None else body["token"]
        return jsonify(ratings.rate(_hall().engine, number, body["ticket_id"], body["level"],
                                    tracking_token=token)), 201

    register_supervisor_routes(bp)  # /supervisor and /api/v1/supervisor/* (counter/supervisor.py)
    return bp
