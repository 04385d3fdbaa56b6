"""The city's own JSON routes (a process serving several halls): city supervisors sign in, sign out and ask who
they are. The city page itself (overview and figures at ``/city``) is the ``counter.city`` blueprint, registered by
``create_app`` when that package exists.

* ``POST /city/api/v1/login``  ``{"username", "password"}`` → ``{"supervisor": {…}, "csrf_token"}``
* ``POST /city/api/v1/logout`` (``X-CSRF-Token``) → ``{"ok": true, "ended": bool}``
* ``GET  /city/api/v1/me`` → ``{"id", "name", "role": "city_supervisor", "csrf_token", "city": {…}, "halls": […]}``
"""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify, request

from onewindow.edge import City
from shared.validation import Field, parse_json_object, validate

logger = logging.getLogger(__name__)

LOGIN_SPEC = {
    "username": Field(str, required=True, max_length=64),
    "password": Field(str, required=True, max_length=256),
}


def city_api_blueprint(city: City) -> Blueprint:
    bp = Blueprint("city_api", __name__, url_prefix="/city/api/v1")
    auth = city.auth

    @bp.post("/login")
    def login():
        body = validate(parse_json_object(request.get_data(), request.mimetype), LOGIN_SPEC)
        supervisor, csrf = auth.login(body["username"], body["password"])
        logger.info("city supervisor %s signed in", supervisor.username)
        return jsonify({"supervisor": {"username": supervisor.username, "name": supervisor.name,
                                       "role": "city_supervisor"}, "csrf_token": csrf})

    @bp.post("/logout")
    def logout():
        return jsonify({"ok": True, "ended": auth.logout()})

    @bp.get("/me")
    def me():
        actor = auth.require_city_supervisor()
        return jsonify({"id": actor.id, "name": actor.name, "role": actor.role, "csrf_token": auth.session().csrf,
                        "city": {"id": city.id, "name": city.name, "name_en": city.name_en},
                        "halls": [{"id": h.id, "name": h.config.hall_name, "name_en": h.config.hall_name_en,
                                   "base": city.base(h)} for h in city.halls]})

    return bp
