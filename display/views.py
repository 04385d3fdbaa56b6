"""Display blueprint: the snapshot the screens start from, the screens themselves and the phone tracking page.

Pages:
  ``/display``                 the hall display (``?layout=portrait``, ``?lang=en``, ``?voice=0``)
  ``/display/window/<n>``      the small screen above window ``n`` (``?voice=1`` to speak its calls)
  ``/t/<token>``               a citizen's tracking page (the QR code on the ticket; rates the visit once it ended)
  ``/book``, ``/b/<code>``      the phone's booking and remote-ticket page (display/phone.py)
API:
  ``GET /api/v1/display/state``   the snapshot (public: current calls, recent calls, waiting counts) at one ``seq``
  ``GET /api/v1/track/<token>``   one ticket's public view, by its unguessable tracking token
Voice:
  ``/display/voice/hall/<file>``  the hall's own clip directory (``[display] voice_dir``), when configured
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from flask import Blueprint, abort, jsonify, request, send_from_directory, url_for

from display.namespace import DISPLAY_NAMESPACE
from display.phone import register as register_phone
from shared.engine import Engine
from shared.errors import NotFoundError
from shared.schedule import weekly_hours

if TYPE_CHECKING:
    from onewindow.edge import WebEdge

logger = logging.getLogger(__name__)

LAYOUTS = ("landscape", "portrait")
LANGS = ("zh", "en")
HALL_VOICE_URL = "/display/voice/hall/"


def create_blueprint(edge: WebEdge) -> Blueprint:
    bp = Blueprint("display", __name__, template_folder="templates", static_folder="static",
                   static_url_path="/display/static")
    engine = edge.hall.engine
    config = edge.hall.config
    facts = _screen_facts(edge)

    def page_config(lang: str, **extra: Any) -> dict[str, Any]:
        """The JSON a screen page starts from: language, hall, services, windows, endpoints (the words are the
        pages' own catalogue, display/static/js/strings.js)."""
        return {"lang": lang, **facts, **extra}

    def not_found_page(lang: str, message_key: str):
        return edge.page("display/not_found.html", status=404, lang=lang, message_key=message_key,
                         hall_name=config.hall_name)

    @bp.get("/api/v1/display/state")
    def state():
        return jsonify(engine.snapshot())

    @bp.get("/api/v1/track/<token>")
    def track(token: str):
        response = jsonify(track_view(engine, token))
        response.headers["Cache-Control"] = "no-store"
        return response

    @bp.get("/display")
    def hall_display():
        lang = pick_lang(request.args.get("lang"))
        layout = request.args.get("layout") if request.args.get("layout") in LAYOUTS else "landscape"
        cfg = page_config(lang, layout=layout, voice=_voice_settings(edge, _flag("voice", True)))
        return edge.page("display/hall.html", cfg=cfg, layout=layout)

    @bp.get("/display/window/<path:window>")
    def window_screen(window: str):
        lang = pick_lang(request.args.get("lang"))
        # ASCII digits only: str.isdigit() is also true for '²', which int() refuses
        if not re.fullmatch(r"[0-9]{1,3}", window) or int(window) not in config.windows:
            return not_found_page(lang, "not_found_window")
        cfg = page_config(lang, window=int(window), voice=_voice_settings(edge, _flag("voice", False)))
        return edge.page("display/window.html", cfg=cfg, window=config.windows[int(window)])

    @bp.get("/t/<path:token>")
    def tracking_page(token: str):
        lang = pick_lang(request.args.get("lang"))
        try:
            view = track_view(engine, token)
        except NotFoundError:
            return not_found_page(lang, "not_found_ticket")
        cfg = page_config(lang, token=token, track_url=f"{edge.base}/api/v1/track/{token}", initial=view)
        response = edge.page("display/tracking.html", cfg=cfg)
        response.headers["Referrer-Policy"] = "no-referrer"  # the token is in the URL
        return response

    @bp.get("/display/voice/hall/<path:filename>")
    def hall_voice(filename: str):
        if config.display.voice_dir is None:
            abort(404)
        return send_from_directory(str(config.display.voice_dir), filename, max_age=3600)

    register_phone(bp, edge, page_config)  # /book, /b/<code>, the booking, remote-ticket and rating API
    return bp


def track_view(engine: Engine, token: str) -> dict[str, Any]:
    """The public view of the one ticket ``token`` belongs to, with the ``seq`` it is valid from and the stream
    ``entry`` of the event at it (:meth:`Engine.seq_entry`).

    The seq is read before the ticket, so an event racing the read is applied again rather than missed.
    Raises NotFoundError for a malformed or unknown token (the same answer for both).
    """
    head = engine.seq_entry()
    ticket = engine.ticket_by_token(token)
    ticket.pop("token", None)
    return {**head, "ticket": ticket, "expired": ticket["id"][:8] != engine.today()}


def _screen_facts(edge: WebEdge) -> dict[str, Any]:
    """What every screen starts from besides its words: the hall, its services with their weekly hours, its
    windows, and where to read the state and follow the events."""
    config = edge.hall.config
    return {
        "hall": {**edge.facts["hall"], "timezone": str(config.timezone), "notice": config.notice,
                 "notice_en": config.notice_en},
        "services": [{"code": s.code, "name": s.name, "name_en": s.name_en, "prefix": s.prefix,
                      "hours": [{"days": list(days), "periods": list(periods)} for days, periods in weekly_hours(s)]}
                     for s in config.services.values()],
        "services_url": "/api/v1/services",
        "windows": edge.facts["windows"],
        "recent_calls": config.display.recent_calls,
        "state_url": "/api/v1/display/state",
        "namespace": DISPLAY_NAMESPACE,
    }


def pick_lang(value: str | None) -> str:
    """``?lang=en`` → "en"; anything else → "zh" (Chinese first)."""
    return value if value in LANGS else "zh"


def _flag(name: str, default: bool) -> bool:
    value = request.args.get(name)
    if value is None:
        return default
    return value not in ("0", "false", "no", "off")


def _voice_settings(edge: WebEdge, enabled: bool) -> dict[str, Any]:
    """What the page needs to build its Announcer: repeat count, English, clip base (hall's own or default)."""
    settings = edge.hall.config.display
    default_base = url_for(".static", filename="voice/default/")
    return {
        "enabled": enabled,
        "repeat": settings.voice_repeat,
        "english": settings.voice_english,
        "base": edge.base + HALL_VOICE_URL if settings.voice_dir is not None else default_base,
        "default_base": default_base,
    }
