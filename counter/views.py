"""Counter blueprint: login/logout and the window actions, each one engine call authorised to that window."""

from __future__ import annotations

import logging
import time

from flask import Blueprint, current_app, jsonify, request, session

from counter.auth import Actor, check_credentials, current_actor, require_window
from shared.errors import NotFoundError
from shared.validation import Field, parse_json_object, validate

logger = logging.getLogger(__name__)

LOGIN_SPEC = {
    "username": Field(str, required=True, max_length=64),
    "password": Field(str, required=True, max_length=256),
    "window": Field(int, required=True, minimum=1, maximum=999),
}
NUMBER_SPEC = {"number": Field(str, required=True, max_length=8)}
FINISH_SPEC = {"outcome": Field(str, required=True, choices=("handled", "consulted"))}
TRANSFER_SPEC = {"service": Field(str, max_length=32), "window": Field(int, minimum=1, maximum=999)}
PAUSE_SPEC = {"reason": Field(str, max_length=100)}
EMPTY_SPEC: dict = {}


def _hall():
    return current_app.extensions["onewindow"]


def _body(spec: dict) -> dict:
    return validate(parse_json_object(request.get_data(), request.mimetype), spec)


def create_blueprint() -> Blueprint:
    bp = Blueprint("counter", __name__, template_folder="templates", static_folder="static",
                   static_url_path="/counter/static")

    @bp.post("/api/v1/login")
    def login():
        body = _body(LOGIN_SPEC)
        hall = _hall()
        clerk = check_credentials(hall.config, body["username"], body["password"])
        if body["window"] not in hall.config.windows:
            raise NotFoundError(f"no window {body['window']}", code="unknown_window")
        session.clear()
        session.permanent = True
        session.update(clerk=clerk.username, window=body["window"], login_at=time.time())
        logger.info("clerk %s signed in to window %s", clerk.username, body["window"])
        return jsonify({"clerk": {"username": clerk.username, "name": clerk.name, "role": clerk.role},
                        "window": body["window"]})

    @bp.post("/api/v1/logout")
    def logout():
        session.clear()
        return jsonify({"ok": True})

    @bp.get("/api/v1/me")
    def me():
        actor = current_actor()
        return jsonify({"id": actor.id, "name": actor.name, "role": actor.role, "window": actor.window})

    @bp.get("/api/v1/windows/<int:number>")
    @require_window
    def window_state(number: int, actor: Actor):
        return jsonify({"window": _hall().engine.window_state(number)})

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
        engine.pause(number, body.get("reason", ""), actor.id)
        return jsonify({"window": engine.window_state(number)})

    @bp.post("/api/v1/windows/<int:number>/resume")
    @require_window
    def resume(number: int, actor: Actor):
        _body(EMPTY_SPEC)
        engine = _hall().engine
        engine.resume(number, actor.id)
        return jsonify({"window": engine.window_state(number)})

    return bp
