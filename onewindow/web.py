"""What the app does around every request, registered once by :func:`onewindow.create_app`: the idempotency scope,
the mapping of errors to responses, the security headers (one Content-Security-Policy for every page), the request
timer and ``/metrics``; and the few routes of the app itself (``/``, ``/livez``, ``/healthz``, the OpenAPI document,
the shared assets under ``/assets``).
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import re
import time
from collections.abc import Callable
from importlib import resources

import redis
from flask import Blueprint, Flask, g, jsonify, redirect, request, send_from_directory, session
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import HTTPException

from onewindow.edge import City, Hall
from shared import idempotency
from shared.errors import OneWindowError, StoreUnavailableError, ValidationError
from shared.metrics import CONTENT_TYPE, Metrics

logger = logging.getLogger("onewindow")

MAX_BODY_BYTES = 16 * 1024
IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_ENVIRON = "HTTP_IDEMPOTENCY_KEY"  # the header as WSGI names it (read straight from the environ)
IDEMPOTENCY_KEY = re.compile(r"\A[A-Za-z0-9_.:-]{8,128}\Z")
REPLAYED_HEADER = "Idempotent-Replayed"
# every page: everything from this origin (no CDN), nothing inline executed, never framed
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "connect-src 'self'; media-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
                           "form-action 'self'")


def content_security_policy(connect_src: tuple[str, ...] = ()) -> str:
    """The one policy, with ``connect_src`` origins added to ``connect-src`` (a page that must reach a local agent)."""
    if not connect_src:
        return CONTENT_SECURITY_POLICY
    return CONTENT_SECURITY_POLICY.replace("connect-src 'self'", "connect-src 'self' " + " ".join(connect_src))


# tracking tokens and booking codes travel in these paths (the ticket's QR code, the phone pages, their API): never
# into a log line
_TOKEN_IN_PATH = re.compile(r"(/t/|/api/v1/track/|/kiosk/qr/|/b/|/api/v1/bookings/)[^/?#\s\"]+")


def install(app: Flask, hall: Hall, city: City | None = None) -> Metrics:
    """Register everything this module does on ``app``; returns the app's metrics (the relays report to them)."""
    app.register_blueprint(assets_blueprint())
    app.session_interface = CookieSessionInterface()
    _register_operation_scope(app)
    _register_error_handlers(app)
    _register_root_routes(app, hall, city or City(None, [hall]))
    app.after_request(security_headers)
    return _register_metrics(app, city.halls if city is not None else [hall])


def route_around_socketio(app: Flask) -> None:
    """Send only Socket.IO's own path through Flask-SocketIO's WSGI middleware (call once, after the SocketIO
    object wrapped the app): for every other request that middleware copied the environ and defined a class
    (engineio's ``eventlet.input`` shim) before calling Flask — ~2 % of a worker's CPU per API request."""
    middleware = app.wsgi_app
    inner = getattr(middleware, "wsgi_app", None)
    path = getattr(middleware, "engineio_path", None)
    if inner is None or not isinstance(path, str) or getattr(middleware, "static_files", None):
        return  # not the middleware this expects: leave it as it is
    app.wsgi_app = _SocketIOPathOnly(middleware, inner, path)


class _SocketIOPathOnly:
    """WSGI: ``path`` and below to Flask-SocketIO's middleware, everything else straight to Flask."""

    def __init__(self, middleware, inner, path: str) -> None:
        self.middleware, self.inner, self.path = middleware, inner, path

    def __call__(self, environ, start_response):
        if (environ.get("PATH_INFO") or "").startswith(self.path):
            return self.middleware(environ, start_response)
        return self.inner(environ, start_response)


def assets_blueprint() -> Blueprint:
    """The assets every page shares (``shared/static``: the vendored Socket.IO client, the web font, …), served
    locally under ``/assets``: never a CDN."""
    folder = resources.files("shared") / "static"
    return Blueprint("assets", __name__, static_folder=str(folder), static_url_path="/assets")


class CookieSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, without its per-request set-up where it is not needed: a request without the
    session cookie (every kiosk, phone and API call) gets an empty session at once instead of first building the
    signing serializer, and the serializer is built once per secret key, not per request. Signing, expiry and the
    cookie itself are Flask's, unchanged (the staff session it carries is checked on the server, onewindow/auth.py)."""

    def __init__(self) -> None:
        self._serializer: tuple[tuple, object] | None = None

    def open_session(self, app, request):
        if app.secret_key and ("HTTP_COOKIE" not in request.environ
                               or not request.cookies.get(self.get_cookie_name(app))):
            return self.session_class()
        return super().open_session(app, request)

    def get_signing_serializer(self, app):
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        cached = self._serializer
        if cached is None or cached[0] != keys:
            cached = self._serializer = (keys, super().get_signing_serializer(app))
        return cached[1]


def security_headers(response):
    """On every response (pages, not-found pages, API, assets); a view may set stricter values first (the tracking
    page: ``Referrer-Policy: no-referrer``, its URL holds the token)."""
    headers = response.headers
    present = {name.lower() for name in headers.keys()}  # (Headers.setdefault raises and catches per absent name)
    for name, value in DEFAULT_HEADERS:
        if name.lower() not in present:
            headers.add(name, value)
    if "content-security-policy" not in present and response.mimetype == "text/html":
        headers.add("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    return response


DEFAULT_HEADERS = (("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
                    ("Referrer-Policy", "same-origin"))


def redact(text: str) -> str:
    """``text`` (a request line, path or URL) with any tracking token replaced by ``…``."""
    return _TOKEN_IN_PATH.sub(r"\1…", text)


def _route() -> str:
    """The matched route pattern (``/t/<path:token>``), never the path itself: paths may carry tracking tokens."""
    return request.url_rule.rule if request.url_rule is not None else "(no route)"


def _error(code: str, message: str, status: int):
    return jsonify({"error": {"code": code, "message": message}}), status


# ------------------------------------------------------------------------------------------------ idempotency
def _register_operation_scope(app: Flask) -> None:
    """Each request is one idempotency scope (:mod:`shared.idempotency`): named by the client's ``Idempotency-Key`` on
    a state-changing method — together with who sends it (bearer token or session, and address), the method, the
    path and the body, so a key never reaches another client's answers — or else a scope of its own. A request sent
    again with the same key gets the answers of the first one and acts no more; the response then carries
    ``Idempotent-Replayed: true``."""

    @app.before_request
    def enter_scope():
        scope = operation_scope(request.environ, request.path, lambda: request.get_data(cache=True), _session_ids)
        g.onewindow_scope = scope
        g.onewindow_scope_token = idempotency.enter(scope)

    @app.after_request
    def mark_replay(response):
        scope = g.get("onewindow_scope")
        if scope is not None and scope.replayed:
            response.headers[REPLAYED_HEADER] = "true"
        return response

    @app.teardown_request
    def leave_scope(_exc):
        token = g.pop("onewindow_scope_token", None)
        if token is not None:
            try:
                idempotency.leave(token)
            except ValueError:  # pragma: no cover - torn down in another context
                pass


def operation_scope(environ: dict, path: str, body: Callable[[], bytes],
                    session_ids: Callable[[], str]) -> idempotency.Scope:
    """The idempotency scope of one request, from its WSGI environ (see :func:`_register_operation_scope`): a fresh
    one for a read or a request without ``Idempotency-Key``, else one keyed by who sends it (bearer token, or the
    session ids: ``session_ids()``), the address, method, ``path``, the body's digest (``body()``) and the key.
    ValidationError for a malformed key. Flask's hook and the lean lane (onewindow/lean.py) both use it."""
    key = environ.get(IDEMPOTENCY_ENVIRON)
    method = environ.get("REQUEST_METHOD")
    if key is None or method in ("GET", "HEAD", "OPTIONS"):  # a read is never answered from a stored answer
        return idempotency.fresh()
    if not IDEMPOTENCY_KEY.match(key):
        raise ValidationError(f"{IDEMPOTENCY_HEADER} must be 8–128 of A–Z a–z 0–9 _ . : - (a fresh random id per "
                              "action, sent again unchanged when the action is retried)",
                              code="invalid_idempotency_key")
    who = environ.get("HTTP_AUTHORIZATION") or session_ids()
    digest = hashlib.sha256(body()).hexdigest()
    return idempotency.keyed("http", environ.get("REMOTE_ADDR") or "-", who, method, path, digest, key)


def _session_ids() -> str:
    """The session ids of every hall this browser is signed in to ("sid", or "sid@<hall>" in a city)."""
    return "|".join(f"{k}={v}" for k, v in sorted(session.items()) if k.startswith("sid")) or ""


# ------------------------------------------------------------------------------------------------ errors
def _register_error_handlers(app: Flask) -> None:
    def answer(exc: Exception):
        status, body, headers = error_answer(exc, request.method, _route())
        response = jsonify(body)
        response.status_code = status
        response.headers.extend(headers)
        return response

    for kind in (OneWindowError, redis.RedisError, HTTPException, Exception):
        app.register_error_handler(kind, answer)


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large", 400: "invalid_request"}


def error_answer(exc: Exception, method: str, route: str) -> tuple[int, dict, list[tuple[str, str]]]:
    """(status, JSON body, extra headers) answering ``exc`` raised by ``method`` on ``route`` (the route pattern,
    never the path: paths carry tracking tokens): a domain error as itself; the store down as 503 (logged); an
    HTTP error by its code; anything else is a true bug — logged with its traceback, and a 500 that says nothing
    about the inside (every input the fuzz tests send must be answered before this). Flask's error handlers and
    the lean lane (onewindow/lean.py) both answer with it."""
    if isinstance(exc, redis.RedisError):
        # the error's type only: its text may quote a command's arguments (a tracking token, a session id)
        logger.warning("Redis error on %s %s: %s", method, route, type(exc).__name__)
        exc = StoreUnavailableError(
            "the queue store did not answer in time. Send the same request again (with the same "
            f"{IDEMPOTENCY_HEADER} or request_id): an action that already took effect is answered, not repeated",
            retry_after=1)
    if isinstance(exc, OneWindowError):
        # 429, 503: when to try again, for programs as well as for people
        retry = [("Retry-After", str(exc.details["retry_after"]))] if exc.details.get("retry_after") else []
        return exc.status, {"error": exc.to_dict()}, retry
    if isinstance(exc, HTTPException):
        message = {413: f"the body is larger than {MAX_BODY_BYTES} bytes"}.get(exc.code, exc.description)
        return exc.code, {"error": {"code": _HTTP_CODES.get(exc.code, "http_error"), "message": message}}, []
    logger.error("unhandled %s on %s %s", type(exc).__name__, method, route, exc_info=exc)
    return 500, {"error": {"code": "internal_error",
                           "message": "something went wrong on the server; the hall staff have been told"}}, []


# ------------------------------------------------------------------------------------------------ metrics
def _register_metrics(app: Flask, halls: list[Hall]) -> Metrics:
    """``GET /metrics`` (Prometheus; loopback clients only, see docs/deploy.md) and the per-route request timer; the
    hall counts of every hall (labelled ``hall`` when there are several)."""

    def relay_position(hall_id: str) -> str | None:
        relay = app.extensions.get("onewindow_relays", {}).get(hall_id)
        return relay.position() if relay is not None else None

    metrics = app.extensions["onewindow_metrics"] = Metrics(halls=[
        (h.config.hall_id, h.engine, lambda h=h: relay_position(h.config.hall_id)) for h in halls])

    @app.before_request
    def _start_timer():
        g.ow_started = time.perf_counter()

    @app.after_request
    def _observe(response):
        started = g.pop("ow_started", None)
        if started is not None:
            route = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
            metrics.observe_request(request.method, route, time.perf_counter() - started)
        return response

    @app.get("/metrics")
    def prometheus_metrics():
        try:
            local = ipaddress.ip_address(request.remote_addr or "").is_loopback
        except ValueError:
            local = False
        if not local:
            return _error("forbidden", "metrics are served to this machine only (scrape each process directly)", 403)
        return app.response_class(metrics.render(), mimetype=None, content_type=CONTENT_TYPE)

    return metrics


# ------------------------------------------------------------------------------------------------ the app's own routes
def _register_root_routes(app: Flask, hall: Hall, city: City) -> None:
    @app.get("/livez")
    def livez():
        """Liveness only (no Redis round trip): the process answers HTTP."""
        return jsonify({"status": "ok"})

    def health(of: Hall):
        try:
            of.engine.ping_store()
        except redis.RedisError as exc:
            return jsonify({"status": "degraded", "redis": "down", "detail": str(exc)}), 503
        return jsonify({"status": "ok", "redis": "up", "hall": of.config.hall_id})

    @app.get("/healthz")
    def healthz():
        return health(hall)  # one store serves every hall of the process

    @app.get("/h/<hall_id>/healthz")
    def hall_healthz(hall_id: str):
        return health(city.hall(hall_id))

    @app.get("/api/v1/openapi.json")
    def openapi():
        return send_from_directory(str(resources.files("shared") / "static"), "openapi.json",
                                   mimetype="application/json")

    @app.get("/")
    def index():
        if not city.several:
            return redirect("/kiosk")
        return _halls_page(city)

    @app.get("/h/<hall_id>/")
    def hall_index(hall_id: str):
        return redirect(f"{city.base(city.hall(hall_id))}/kiosk")


def _halls_page(city: City):
    """``/`` of a process serving several halls: the halls, each with its pages (Chinese first, English beside)."""
    from html import escape

    pages = (("kiosk", "取号机", "Kiosk"), ("display", "大厅显示屏", "Hall display"), ("counter", "窗口", "Counter"),
             ("supervisor", "值班主任", "Supervisor"), ("book", "预约取号", "Appointments"))
    items = []
    for each in city.halls:
        base = city.base(each)
        links = "".join(f'<a href="{base}/{path}">{zh}<span lang="en"> {en}</span></a>' for path, zh, en in pages)
        items.append(f'<li id="hall-{escape(each.id)}"><h2><a href="{base}/kiosk">{escape(each.config.hall_name)}</a> '
                     f'<small lang="en">{escape(each.config.hall_name_en)}</small></h2><p>{links}</p></li>')
    city_link = ('<a class="city-link" href="/city">全市监管<span lang="en"> City figures</span></a>'
                 if city.supervisors else "")
    body = (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(city.name)} — 一窗通</title>'
            '<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">'
            '<link rel="stylesheet" href="/assets/fonts.css"><link rel="stylesheet" href="/assets/css/tokens.css">'
            '<link rel="stylesheet" href="/assets/css/halls.css">'
            f'</head><body><header class="city-head"><h1>{escape(city.name)} <small lang="en">{escape(city.name_en)}'
            f'</small></h1>{city_link}</header><ul class="halls">{"".join(items)}</ul></body></html>')
    response = app_response(body)
    response.headers["Cache-Control"] = "no-store"
    return response


def app_response(body: str):
    from flask import current_app

    return current_app.response_class(body, mimetype="text/html")
