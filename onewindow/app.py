"""``create_app``: the wiring of one server process — config, Redis, the hall handle and its web edge, the four
blueprints, the Socket.IO namespace, and the background workers (relay, archiver, 好差评)."""

from __future__ import annotations

import os
import secrets
from urllib.parse import urlsplit

from flask import Flask
from flask_socketio import SocketIO
from werkzeug.middleware.proxy_fix import ProxyFix

from onewindow import web
from onewindow.edge import Hall, WebEdge
from shared.clock import Clock
from shared.config import Config, load_config
from shared.engine import Engine
from shared.errors import ConfigError
from shared.redis_client import connect

DEFAULT_CONFIG = "config.toml"


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app. ``test_config`` may set CONFIG_PATH, CONFIG (a Config), REDIS_URL, CLOCK, START_RELAY,
    START_ARCHIVER, START_HAOCAIPING, START_RECEPTION, STATS_ARCHIVE_PATH, SESSION_NOW_MS, … (the rest goes to ``app.config``)."""
    settings = dict(test_config or {})
    config: Config = settings.pop("CONFIG", None) or load_config(
        settings.pop("CONFIG_PATH", None) or os.environ.get("ONEWINDOW_CONFIG", DEFAULT_CONFIG))
    redis_url = settings.pop("REDIS_URL", None) or os.environ.get("ONEWINDOW_REDIS_URL") or config.redis_url
    if not redis_url:
        raise ConfigError("redis.url", "no Redis URL: `onewindow serve` starts the embedded server and passes its URL")
    clock = settings.pop("CLOCK", None) or Clock(config.timezone)

    app = Flask(__name__, static_folder=None)
    _configure(app, config, settings)
    hall = Hall(config, Engine(connect(redis_url), config, clock), redis_url,
                archive_path=lambda: app.config.get("STATS_ARCHIVE_PATH") or config.archive_path)
    app.extensions["onewindow"] = hall
    edge = WebEdge(hall, app.config)
    _register_blueprints(app, edge)
    metrics = web.install(app, hall)
    socketio = _socketio(app, config, settings.get("SERVER_PROCESSES", 1))
    web.route_around_socketio(app)
    if config.security.trusted_proxies:
        # the client address (limits) and scheme come from the last N proxies' X-Forwarded-For/-Proto; wrapping
        # after SocketIO puts Socket.IO's origin check behind the fix too
        n = config.security.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)
    _start_workers(app, hall, socketio, metrics)
    return app


def _configure(app: Flask, config: Config, settings: dict) -> None:
    app.config.update(
        SECRET_KEY=_secret_key(config),
        MAX_CONTENT_LENGTH=web.MAX_BODY_BYTES,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_NAME="onewindow_session",
        SESSION_COOKIE_SECURE=config.secure_cookie,  # [security] secure_cookie; automatic with an https public_url
        PERMANENT_SESSION_LIFETIME=int(config.security.session_hours * 3600),
        START_RELAY=True,
    )
    app.json.ensure_ascii = False
    app.config.update(settings)


def _register_blueprints(app: Flask, edge: WebEdge) -> None:
    from counter import create_blueprint as counter_blueprint
    from counter.supervisor import create_blueprint as supervisor_blueprint
    from display import create_blueprint as display_blueprint
    from kiosk import create_blueprint as kiosk_blueprint

    for make in (kiosk_blueprint, counter_blueprint, supervisor_blueprint, display_blueprint):
        app.register_blueprint(make(edge))


def _socketio(app: Flask, config: Config, processes: int = 1) -> SocketIO:
    from display import register_namespaces

    # several processes share the listening socket: a long-polling session's requests would land on any of them, so
    # Socket.IO runs over WebSocket only (one connection, one process; docs/deploy.md, "Several processes")
    transports = {"transports": ["websocket"]} if processes > 1 else {}
    socketio = SocketIO(app, async_mode="threading", cors_allowed_origins=_origin_check(config), json=None,
                        **transports)
    register_namespaces(socketio)  # /display (public screens) and /staff (staff pages, tablets)
    return socketio


def _start_workers(app: Flask, hall: Hall, socketio: SocketIO, metrics) -> None:
    """The relay (stream → this process's sockets), the archiver (closed days → the statistics archive), the
    好差评 worker (default ratings; reports to the province) and the reception worker (bookings' sweep, reminders,
    notifications); tests start only what they need."""
    if app.config["START_RELAY"]:
        from display import Relay

        relay = Relay(socketio, hall.redis_url, hall.engine.keys.events, windows=hall.config.windows,
                      on_emitted=metrics.observe_emit)
        relay.start()
        app.extensions["onewindow_relay"] = relay
    if app.config.get("START_ARCHIVER", app.config["START_RELAY"]):
        from shared.stats import start_archiver

        app.extensions["onewindow_archiver"] = start_archiver(hall.engine, hall.config)
    if app.config.get("START_HAOCAIPING", app.config["START_RELAY"]):
        from shared.haocaiping import start_worker

        app.extensions["onewindow_haocaiping"] = start_worker(hall.engine, hall.config)
    if app.config.get("START_RECEPTION", app.config["START_RELAY"]):
        from shared.reception import start_worker as start_reception

        # bookings' sweep (expired holds, missed bookings), reminders and "N ahead"; the notification sender
        app.extensions["onewindow_reception"] = start_reception(hall.engine, hall.config)


def _origin_check(config: Config):
    """Which ``Origin`` may open a Socket.IO connection: the page's own origin (scheme + Host of the request), the
    origin of ``hall.public_url`` and ``[security] allowed_origins``. (python-engineio reads ``[]`` as "no check at
    all", which let any web page on the hall's network connect.)"""
    parts = urlsplit(config.public_url)
    fixed = {f"{parts.scheme}://{parts.netloc}", *config.security.allowed_origins}

    def allowed(origin: str | None, environ: dict | None = None) -> bool:
        if origin is None:
            return True  # not a browser page: nothing to check (python-engineio asks only when Origin is sent)
        if origin in fixed:
            return True
        environ = environ or {}
        own = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}"
        return bool(environ.get("HTTP_HOST")) and origin == own

    return allowed


def _secret_key(config: Config) -> str:
    """A per-installation secret kept in var/, created on first start (sessions survive restarts)."""
    path = config.var_dir / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
        return key
    except FileExistsError:  # pragma: no cover - another process won the race
        return path.read_text().strip()
