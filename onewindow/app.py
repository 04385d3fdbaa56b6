"""``create_app``: the wiring of one server process — config, Redis, the hall handle and its web edge, the four
blueprints, the Socket.IO namespace, and the background workers (relay, archiver, 好差评)."""

from __future__ import annotations

import importlib.util
import os
import secrets
from urllib.parse import urlsplit

from flask import Flask
from flask_socketio import SocketIO
from werkzeug.middleware.proxy_fix import ProxyFix

from onewindow import web
from onewindow.auth import SESSION_KEY, CityAuth
from onewindow.city_api import city_api_blueprint
from onewindow.edge import City, Hall, WebEdge
from onewindow.lean import LeanLane
from shared.clock import Clock
from shared.config import Config, Deployment, load_deployment
from shared.engine import Engine
from shared.errors import ConfigError
from shared.redis_client import connect

DEFAULT_CONFIG = "config.toml"


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app. ``test_config`` may set CONFIG_PATH (a config file or directory), CONFIG (a Config: one hall),
    DEPLOYMENT (a :class:`shared.config.Deployment`), REDIS_URL, CLOCK, START_RELAY, START_ARCHIVER,
    START_HAOCAIPING, START_RECEPTION, STATS_ARCHIVE_PATH (one hall only), SESSION_NOW_MS, … (the rest goes to
    ``app.config``)."""
    settings = dict(test_config or {})
    deployment = _deployment(settings)
    config = deployment.process  # Redis, security, var_dir: the same in every hall of a directory
    redis_url = settings.pop("REDIS_URL", None) or os.environ.get("ONEWINDOW_REDIS_URL") or config.redis_url
    if not redis_url:
        raise ConfigError("redis.url", "no Redis URL: `onewindow serve` starts the embedded server and passes its URL")
    fixed_clock = settings.pop("CLOCK", None)

    app = Flask(__name__, static_folder=None)
    _configure(app, config, settings)
    client = connect(redis_url)
    single = len(deployment.halls) == 1
    halls = []
    for hall_config in deployment.halls:
        clock = fixed_clock or Clock(hall_config.timezone)
        archive = (lambda c=hall_config: app.config.get("STATS_ARCHIVE_PATH") or c.archive_path) if single else (
            lambda c=hall_config: c.archive_path)
        halls.append(Hall(hall_config, Engine(client, hall_config, clock), redis_url, archive_path=archive))
    city = City(deployment.city, halls)
    city.auth = CityAuth(city, client, config, app.config)
    hall = halls[0]
    app.extensions["onewindow"] = hall  # the only hall (the first one in a city)
    app.extensions["onewindow_city"] = city
    lane = LeanLane() if app.config["LEAN_LANE"] else None
    _register_halls(app, city, lane)
    metrics = web.install(app, hall, city)
    socketio = _socketio(app, config, city, settings.get("SERVER_PROCESSES", 1))
    web.route_around_socketio(app)
    if lane is not None:  # the hot JSON routes' plain requests, past Flask's request machinery (onewindow/lean.py)
        lane.install(app, metrics)
    if config.security.trusted_proxies:
        # the client address (limits) and scheme come from the last N proxies' X-Forwarded-For/-Proto; wrapping
        # after SocketIO puts Socket.IO's origin check behind the fix too
        n = config.security.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)
    for each in city.halls:
        _start_workers(app, each, socketio, metrics, live=live_prefix(city, each))
    return app


def _deployment(settings: dict) -> Deployment:
    """What this process serves: DEPLOYMENT, or CONFIG (one hall), or the file or directory at CONFIG_PATH /
    ``ONEWINDOW_CONFIG`` / config.toml."""
    deployment = settings.pop("DEPLOYMENT", None)
    config = settings.pop("CONFIG", None)
    path = settings.pop("CONFIG_PATH", None)
    if deployment is not None:
        return deployment
    if config is not None:
        return Deployment(city=None, halls=[config])
    return load_deployment(path or os.environ.get("ONEWINDOW_CONFIG", DEFAULT_CONFIG))


def live_prefix(city: City, hall: Hall) -> str:
    """The prefix of ``hall``'s Socket.IO namespaces: none for the only hall (``/display``, ``/staff``), else
    ``/h/<hall id>`` (``/h/<hall id>/display`` …): a screen of one hall never hears another hall."""
    return city.base(hall) if city.several else ""


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
        LEAN_LANE=True,  # False: every request through Flask (tests compare the two)
    )
    app.json.ensure_ascii = False
    app.config.update(settings)


def _register_halls(app: Flask, city: City, lane: LeanLane | None) -> None:
    """Every hall's four blueprints under ``/h/<hall id>/`` (named ``<blueprint>@<hall id>``), each on the hall's
    own web edge; the only hall also at ``/`` under the blueprints' own names (today's URLs). Then the city's own
    routes (``/city/api/v1/…``) and, when that package exists, the city page (``counter/city``)."""
    from counter import create_blueprint as counter_blueprint
    from counter.supervisor import create_blueprint as supervisor_blueprint
    from display import create_blueprint as display_blueprint
    from kiosk import create_blueprint as kiosk_blueprint

    makers = (kiosk_blueprint, counter_blueprint, supervisor_blueprint, display_blueprint)
    for hall in city.halls:
        live = live_prefix(city, hall)
        session_key = f"{SESSION_KEY}@{hall.id}" if city.several else SESSION_KEY
        if not city.several:
            edge = WebEdge(hall, app.config, base="", live=live, session_key=session_key, lean=lane)
            for make in makers:
                app.register_blueprint(make(edge))
        base = city.base(hall)
        edge = WebEdge(hall, app.config, base=base, live=live, session_key=session_key, lean=lane)
        for make in makers:
            bp = make(edge)
            app.register_blueprint(bp, name=f"{bp.name}@{hall.id}", url_prefix=base)
    app.register_blueprint(city_api_blueprint(city))
    if importlib.util.find_spec("counter.city") is not None:  # the city page (overview and figures at /city)
        from counter.city import create_blueprint as city_blueprint

        app.register_blueprint(city_blueprint(city))


def _socketio(app: Flask, config: Config, city: City, processes: int = 1) -> SocketIO:
    from display import register_namespaces

    others = tuple(h.config.public_url for h in city.halls[1:])  # every hall's public_url is an allowed origin
    # several processes share the listening socket: a long-polling session's requests would land on any of them, so
    # Socket.IO runs over WebSocket only (one connection, one process; docs/deploy.md, "Several processes")
    transports = {"transports": ["websocket"]} if processes > 1 else {}
    socketio = SocketIO(app, async_mode="threading", cors_allowed_origins=_origin_check(config, others), json=None,
                        **transports)
    for hall in city.halls:
        # /display (public screens) and /staff (staff pages, tablets) — under /h/<hall id> when there are several
        register_namespaces(socketio, hall=hall, prefix=live_prefix(city, hall),
                            session_key=f"{SESSION_KEY}@{hall.id}" if city.several else SESSION_KEY)
    return socketio


def _start_workers(app: Flask, hall: Hall, socketio: SocketIO, metrics, *, live: str = "") -> None:
    """The relay (the hall's stream → this process's sockets of that hall), the archiver (closed days → the hall's
    statistics archive), the 好差评 worker (default ratings; reports to the province) and the reception worker
    (bookings' sweep, reminders, notifications) of one hall; tests start only what they need. The first hall's are
    ``app.extensions["onewindow_relay"]`` …; every hall's are in ``app.extensions["onewindow_hall_workers"]``."""
    workers = app.extensions.setdefault("onewindow_hall_workers", [])

    def keep(name: str, worker) -> None:
        workers.append(worker)
        if name not in app.extensions:
            app.extensions[name] = worker

    if app.config["START_RELAY"]:
        from display import Relay

        relay = Relay(socketio, hall.redis_url, hall.engine.keys.events, windows=hall.config.windows,
                      on_emitted=metrics.observe_emit, on_view_failed=metrics.observe_view_failure,
                      on_delivered=metrics.observe_delivery, prefix=live)
        relay.start()
        keep("onewindow_relay", relay)
        app.extensions.setdefault("onewindow_relays", {})[hall.config.hall_id] = relay  # (/metrics: relay lag per hall)
    if app.config.get("START_ARCHIVER", app.config["START_RELAY"]):
        from shared.stats import start_archiver

        keep("onewindow_archiver", start_archiver(hall.engine, hall.config))
    if app.config.get("START_HAOCAIPING", app.config["START_RELAY"]):
        from shared.haocaiping import start_worker

        keep("onewindow_haocaiping", start_worker(hall.engine, hall.config))
    if app.config.get("START_RECEPTION", app.config["START_RELAY"]):
        from shared.reception import start_worker as start_reception

        # bookings' sweep (expired holds, missed bookings), reminders and "N ahead"; the notification sender
        keep("onewindow_reception", start_reception(hall.engine, hall.config))


def _origin_check(config: Config, other_public_urls: tuple[str, ...] = ()):
    """Which ``Origin`` may open a Socket.IO connection: the page's own origin (scheme + Host of the request), the
    origin of ``hall.public_url`` and ``[security] allowed_origins``. (python-engineio reads ``[]`` as "no check at
    all", which let any web page on the hall's network connect.)"""
    parts = urlsplit(config.public_url)
    fixed = {f"{parts.scheme}://{parts.netloc}", *config.security.allowed_origins}
    fixed |= {f"{p.scheme}://{p.netloc}" for p in map(urlsplit, other_public_urls) if p.netloc}

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
