"""Display blueprint: the snapshot the screens start from, and the screens themselves."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify


def _hall():
    return current_app.extensions["onewindow"]


def create_blueprint() -> Blueprint:
    bp = Blueprint("display", __name__, template_folder="templates", static_folder="static",
                   static_url_path="/display/static")

    @bp.get("/api/v1/display/state")
    def state():
        return jsonify(_hall().engine.snapshot())

    return bp
