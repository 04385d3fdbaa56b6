"""OneWindow composition root: ``create_app`` wires config, Redis, the three blueprints and the Socket.IO
namespaces; ``main`` is the ``onewindow`` command line. Nothing imports this module.
"""
# ruff: noqa: E402

from __future__ import annotations

import sys


def _serving_with_gevent(argv: list[str]) -> bool:
    """Is this process gunicorn for `onewindow serve` (its ``--child``) with the (default) gevent worker?"""
    if argv[:1] != ["serve"] or "--child" not in argv:
        return False
    for i, arg in enumerate(argv):
        if arg == "--worker" and argv[i + 1:i + 2] == ["gthread"] or arg == "--worker=gthread":
            return False
    return True


# gevent must patch the standard library before redis, ssl and friends are imported (gunicorn's worker patches
# too late for modules the master already imported). Only for `onewindow serve`; importing this module never patches.
if sys.argv and sys.argv[0].endswith(("onewindow", "onewindow.py")) and _serving_with_gevent(sys.argv[1:]):
    from gevent import monkey

    monkey.patch_all()

import argparse  # noqa: E402  (everything below imports after the gevent patch)
import getpass
import hashlib
import logging
import os
import re
import secrets
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import redis
from flask import Flask, g, jsonify, request, send_from_directory, session
from flask_socketio import SocketIO
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from shared.clock import Clock
from shared.config import Config, load_config
from shared.embedded import EmbeddedRedis
from shared.engine import Engine
from shared import idempotency
from shared.errors import ConfigError, OneWindowError, ValidationError
from shared.store import connect

logger = logging.getLogger("onewindow")

DEFAULT_CONFIG = "config.toml"
MAX_BODY_BYTES = 16 * 1024
IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY = re.compile(r"\A[A-Za-z0-9_.:-]{8,128}\Z")
REPLAYED_HEADER = "Idempotent-Replayed"
# every page: everything from this origin (no CDN), nothing inline executed, never framed
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "connect-src 'self'; media-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
                           "form-action 'self'")


@dataclass
class Hall:
    """What every blueprint reaches through ``current_app.extensions['onewindow']``."""

    config: Config
    engine: Engine
    redis: redis.Redis
    redis_url: str


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app. ``test_config`` may set CONFIG_PATH, CONFIG (a Config), REDIS_URL, CLOCK, START_RELAY, …"""
    test_config = dict(test_config or {})
    app = Flask(__name__, static_folder=None)
    config: Config = test_config.pop("CONFIG", None) or load_config(
        test_config.pop("CONFIG_PATH", None) or os.environ.get("ONEWINDOW_CONFIG", DEFAULT_CONFIG))
    redis_url = test_config.pop("REDIS_URL", None) or os.environ.get("ONEWINDOW_REDIS_URL") or config.redis_url
    if not redis_url:
        raise ConfigError("redis.url", "no Redis URL: `onewindow serve` starts the embedded server and passes its URL")
    clock = test_config.pop("CLOCK", None) or Clock(config.timezone)

    app.config.update(
        SECRET_KEY=_secret_key(config),
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_NAME="onewindow_session",
        SESSION_COOKIE_SECURE=config.secure_cookie,  # [security] secure_cookie; automatic with an https public_url
        PERMANENT_SESSION_LIFETIME=int(config.security.session_hours * 3600),
        START_RELAY=True,
    )
    app.json.ensure_ascii = False
    app.config.update(test_config)

    client = connect(redis_url)
    hall = Hall(config=config, engine=Engine(client, config, clock), redis=client, redis_url=redis_url)
    app.extensions["onewindow"] = hall

    from counter import create_blueprint as counter_blueprint
    from display import Relay, register_namespaces
    from display import create_blueprint as display_blueprint
    from kiosk import create_blueprint as kiosk_blueprint

    app.register_blueprint(_assets_blueprint())
    app.register_blueprint(kiosk_blueprint())
    app.register_blueprint(counter_blueprint())
    app.register_blueprint(display_blueprint())
    _register_operation_scope(app)
    _register_error_handlers(app)
    _register_root_routes(app)
    app.after_request(_security_headers)

    socketio = SocketIO(app, async_mode="threading", cors_allowed_origins=_origin_check(config), json=None)
    register_namespaces(socketio)  # /display (public screens) and /staff (staff pages, tablets)
    if config.security.trusted_proxies:
        # the client address (limits) and scheme come from the last N proxies' X-Forwarded-For/-Proto; wrapping
        # after SocketIO puts Socket.IO's origin check behind the fix too
        n = config.security.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)
    metrics = _register_metrics(app, hall)
    if app.config["START_RELAY"]:
        relay = Relay(socketio, redis_url, hall.engine.keys.events, windows=config.windows,
                      on_emitted=metrics.observe_emit)
        relay.start()
        app.extensions["onewindow_relay"] = relay
    if app.config.get("START_ARCHIVER", app.config["START_RELAY"]):  # closed days → the statistics archive
        from shared.stats import start_archiver

        app.extensions["onewindow_archiver"] = start_archiver(hall.engine, config)
    if app.config.get("START_HAOCAIPING", app.config["START_RELAY"]):  # default ratings; reports to the province
        from shared.haocaiping import start_worker

        app.extensions["onewindow_haocaiping"] = start_worker(hall.engine, config)
    return app


def _security_headers(response):
    """On every response (pages, not-found pages, API, assets); a view may set stricter values first (the tracking
    page: ``Referrer-Policy: no-referrer``, its URL holds the token)."""
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    return response


def _origin_check(config: Config):
    """Which ``Origin`` may open a Socket.IO connection: the page's own origin (scheme + Host of the request), the
    origin of ``hall.public_url`` and ``[security] allowed_origins``. (python-engineio reads ``[]`` as "no check at
    all", which let any web page on the hall's network connect.)"""
    from urllib.parse import urlsplit

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


def _assets_blueprint():
    """The front-end layer every page loads (shared/static: DOM helpers, API client, i18n, live client, CSS tokens,
    the web font, the vendored Socket.IO client) at /assets: served locally, never a CDN."""
    from flask import Blueprint

    folder = resources.files("shared") / "static"
    return Blueprint("assets", __name__, static_folder=str(folder), static_url_path="/assets")


def _error(code: str, message: str, status: int, **details):
    body = {"code": code, "message": message}
    if details:
        body["details"] = details
    return jsonify({"error": body}), status


def _register_operation_scope(app: Flask) -> None:
    """Each request is one idempotency scope (:mod:`shared.idempotency`): named by the client's ``Idempotency-Key`` on
    a state-changing method — together with who sends it (bearer token or session, and address), the method, the path and the body, so a key
    never reaches another client's answers — or else a scope of its own. A request sent again with the same key
    gets the answers of the first one and acts no more; the response then carries ``Idempotent-Replayed: true``."""

    @app.before_request
    def enter_scope():
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is None or request.method in ("GET", "HEAD", "OPTIONS"):  # a read is never answered from memory
            scope = idempotency.fresh()
        elif not IDEMPOTENCY_KEY.match(key):
            raise ValidationError(f"{IDEMPOTENCY_HEADER} must be 8–128 of A–Z a–z 0–9 _ . : - (a fresh random id per "
                                  "action, sent again unchanged when the action is retried)",
                                  code="invalid_idempotency_key")
        else:
            who = request.headers.get("Authorization") or session.get("sid") or ""
            body = hashlib.sha256(request.get_data(cache=True)).hexdigest()
            scope = idempotency.keyed("http", request.remote_addr or "-", who, request.method, request.path, body, key)
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


# tracking tokens travel in these paths (the ticket's QR code, the phone page, its API): never into a log line
_TOKEN_IN_PATH = re.compile(r"(/t/|/api/v1/track/|/kiosk/qr/)[^/?#\s\"]+")


def redact(text: str) -> str:
    """``text`` (a request line, path or URL) with any tracking token replaced by ``…``."""
    return _TOKEN_IN_PATH.sub(r"\1…", text)


def redacting_access_logger():
    """gunicorn's logger, with tracking tokens taken out of the request line, path and referer of access logs."""
    from gunicorn.glogging import Logger

    class RedactingLogger(Logger):
        def atoms(self, resp, req, environ, request_time):
            atoms = super().atoms(resp, req, environ, request_time)
            for key in ("r", "U", "f", "q"):
                if isinstance(atoms.get(key), str):
                    atoms[key] = redact(atoms[key])
            return atoms

    return RedactingLogger


def _route() -> str:
    """The matched route pattern (``/t/<path:token>``), never the path itself: paths may carry tracking tokens."""
    return request.url_rule.rule if request.url_rule is not None else "(no route)"


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(OneWindowError)
    def domain_error(exc: OneWindowError):
        response = jsonify({"error": exc.to_dict()})
        response.status_code = exc.status
        if exc.details.get("retry_after"):  # 429: when to try again, for programs as well as for people
            response.headers["Retry-After"] = str(exc.details["retry_after"])
        return response

    @app.errorhandler(redis.RedisError)
    def store_down(exc: redis.RedisError):
        # the error's type only: its text may quote a command's arguments (a tracking token, a session id)
        logger.warning("Redis error on %s %s: %s", request.method, _route(), type(exc).__name__)
        response, status = _error(
            "store_unavailable", "the queue store did not answer in time. Send the same request again (with the same "
            f"{IDEMPOTENCY_HEADER} or request_id): an action that already took effect is answered, not repeated", 503)
        response.headers["Retry-After"] = "1"
        return response, status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        codes = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large", 400: "invalid_request"}
        message = {413: f"the body is larger than {MAX_BODY_BYTES} bytes"}.get(exc.code, exc.description)
        return _error(codes.get(exc.code, "http_error"), message, exc.code)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        """A true bug: logged with its traceback (the route, never the path: paths carry tracking tokens), and a
        500 that says nothing about the inside. Every input the fuzz tests send must be answered before this."""
        logger.error("unhandled %s on %s %s", type(exc).__name__, request.method, _route(), exc_info=exc)
        return _error("internal_error", "something went wrong on the server; the hall staff have been told", 500)


def _register_metrics(app: Flask, hall: Hall):
    """``GET /metrics`` (Prometheus; loopback clients only, see docs/deploy.md) and the per-route request timer."""
    import ipaddress

    from flask import g

    from shared.metrics import CONTENT_TYPE, Metrics

    def relay_position() -> str | None:
        relay = app.extensions.get("onewindow_relay")
        return relay.position() if relay is not None else None

    metrics = app.extensions["onewindow_metrics"] = Metrics(hall.engine, relay_position)

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


def _register_root_routes(app: Flask) -> None:
    @app.get("/livez")
    def livez():
        """Liveness only (no Redis round trip): the process answers HTTP."""
        return jsonify({"status": "ok"})

    @app.get("/healthz")
    def healthz():
        hall: Hall = app.extensions["onewindow"]
        try:
            hall.redis.ping()
        except redis.RedisError as exc:
            return jsonify({"status": "degraded", "redis": "down", "detail": str(exc)}), 503
        return jsonify({"status": "ok", "redis": "up", "hall": hall.config.hall_id})

    @app.get("/api/v1/openapi.json")
    def openapi():
        return send_from_directory(str(resources.files("shared") / "static"), "openapi.json",
                                   mimetype="application/json")

    @app.get("/")
    def index():
        from flask import redirect

        return redirect("/kiosk")


# ------------------------------------------------------------------------------------------------ CLI
# `onewindow serve` is two processes: this one supervises (the embedded Redis, the demo traffic, signals) and runs
# gunicorn as a child (`serve --child`, its own process group). Stopping goes in order: gunicorn's worker first
# (it closes its screens' sockets and stops its relay), then the demo traffic, then the embedded Redis.
LOOPBACK_HOSTS = ("localhost",)
SHUTDOWN_SECONDS = 20  # after this, a gunicorn that has not stopped is killed


def _load_or_exit(path: str) -> Config:
    try:
        config = load_config(path)
        from kiosk.print_service import printer_settings

        printer_settings(config)  # [printer] is validated by the package that owns it
        return config
    except ConfigError as exc:
        print(f"config error in {path}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _is_loopback(host: str | None) -> bool:
    import ipaddress

    if not host:
        return False
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def config_warnings(config: Config, host: str | None = None) -> list[str]:
    """What works but probably not as intended: a missing ticket font, a loopback public_url served to the LAN."""
    from urllib.parse import urlsplit

    from kiosk.print_service import printer_settings

    out = list(printer_settings(config).warnings())
    public_host = urlsplit(config.public_url).hostname if config.public_url else None
    if host is not None and _is_loopback(public_host) and not _is_loopback(host):
        out.append(f"hall.public_url is {config.public_url}, an address of this machine only, but the server listens "
                   f"on {host}: phones that scan a ticket cannot open it. Set hall.public_url to the hall's address, "
                   f"or leave it out so that links follow the address each request came to.")
    return out


def cmd_check_config(args: argparse.Namespace) -> int:
    """Validate the config. Exit 2: invalid. Exit 1: valid, but it holds the shipped demo credentials and does not
    say ``demo = true`` (not fit to go live). Exit 0: fit (a demo config says so loudly)."""
    from shared.demo_credentials import demo_credentials

    config = _load_or_exit(args.config)
    for warning in config_warnings(config, args.host):
        print(f"warning: {warning}", file=sys.stderr)
    print(f"{args.config}: OK — {config.hall_name}, {len(config.services)} services, {len(config.windows)} windows, "
          f"{len(config.clerks)} staff accounts, {len(config.tokens)} device tokens")
    found = demo_credentials(config)
    if found:
        banner = "!" * 78
        print(f"{banner}\nWARNING: {args.config} holds the shipped DEMO credentials (they are public):\n  - "
              + "\n  - ".join(found) + "\n"
              + ("[hall] demo = true: accepted because this installation is marked as a demonstration.\n"
                 if config.demo else
                 "Replace them before going live (`onewindow hash-password`, `onewindow hash-token`); `onewindow "
                 "serve` refuses to bind a non-loopback address with them unless [hall] demo = true.\n")
              + banner, file=sys.stderr)
        if not config.demo:
            return 1
    return 0


def _redis_for(config: Config, *, embedded_only: bool = False) -> tuple[str, EmbeddedRedis | None]:
    """The Redis URL to use: ONEWINDOW_REDIS_URL, else ``[redis] url``, else the embedded server (started now, or
    adopted when one is already running on this hall's data directory). ``embedded_only``: always the embedded one."""
    url = None if embedded_only else os.environ.get("ONEWINDOW_REDIS_URL") or config.redis_url
    if url:
        return url, None
    embedded = EmbeddedRedis(config.var_dir / "redis").start()
    return embedded.url, embedded


def _serve_config(args: argparse.Namespace) -> Config:
    config = _load_or_exit(args.config)
    if args.demo:
        from shared.demo_hall import demo_config

        config = demo_config(config)
    return config


def _configure_logging(args: argparse.Namespace, config: Config | None = None) -> None:
    from shared.logs import configure

    configure(os.environ.get("ONEWINDOW_LOG", "INFO"), getattr(args, "log_format", "text"),
              config.timezone if config else None, getattr(args, "log_file", None))


def cmd_serve(args: argparse.Namespace) -> int:
    config = _serve_config(args)
    _configure_logging(args, config)
    if args.child:
        _run_gunicorn(args, config)
        return 0
    from shared.demo_credentials import demo_credentials, refuse_to_serve

    refusal = refuse_to_serve(config, args.host)
    if refusal:
        print(refusal, file=sys.stderr)
        return 2
    if demo_credentials(config):
        logger.warning("this config holds the shipped DEMO credentials (%s)",
                       "[hall] demo = true" if config.demo else f"accepted only because {args.host} is loopback")
    for warning in config_warnings(config, args.host):
        if not warning.startswith("printer."):  # the printer's own warnings are logged where it is set up
            logger.warning("%s", warning)
    return _supervise(args, config)


def _supervise(args: argparse.Namespace, config: Config) -> int:
    """Start the embedded Redis (and the demo traffic), run gunicorn as a child, stop everything in order."""
    import signal
    import subprocess

    redis_url, embedded = _redis_for(config, embedded_only=args.demo)
    simulator = None
    stopping: list[int] = []
    child: subprocess.Popen | None = None

    def on_signal(signum, _frame):
        if child is not None and child.poll() is None:
            # first signal: gunicorn's graceful stop; a second one: its quick stop
            child.send_signal(signal.SIGTERM if not stopping else signal.SIGINT)
        stopping.append(signum)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        env = {**os.environ, "ONEWINDOW_REDIS_URL": redis_url, "ONEWINDOW_SUPERVISOR_PID": str(os.getpid())}
        child = subprocess.Popen([sys.executable, "-m", "onewindow", *args.argv, "--child"], env=env,
                                 process_group=0)
        if _wait_until_serving(args, child):
            if args.demo:
                from shared.demo_hall import HallSimulator

                simulator = HallSimulator(Engine(connect(redis_url), config)).start()
            print(_banner(args, config, redis_url, embedded), flush=True)
        deadline = None
        while True:
            try:
                child.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                if stopping and deadline is None:
                    deadline = time.monotonic() + SHUTDOWN_SECONDS
                if deadline is not None and time.monotonic() > deadline:
                    logger.error("gunicorn did not stop within %s s; killing it", SHUTDOWN_SECONDS)
                    os.killpg(child.pid, signal.SIGKILL)
        logger.info("server stopped")
        return 0 if stopping or child.returncode == 0 else 1
    finally:
        if child is not None and child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
        if simulator is not None:
            simulator.stop()
        if embedded is not None:
            embedded.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)


def _local_base(args: argparse.Namespace) -> str:
    host = "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host
    return f"http://{'[' + host + ']' if ':' in host else host}:{args.port}"


def _wait_until_serving(args: argparse.Namespace, child, timeout: float = 60.0) -> bool:
    """Poll /livez until gunicorn answers (False if it exited first)."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and child.poll() is None:
        try:
            with urllib.request.urlopen(_local_base(args) + "/livez", timeout=1) as r:
                if r.status == 200:
                    return True
        except OSError:
            time.sleep(0.1)
    return False


def _banner(args: argparse.Namespace, config: Config, redis_url: str, embedded: EmbeddedRedis | None) -> str:
    """Every page, aligned; the demo logins while they still work; what is open now."""
    from werkzeug.security import check_password_hash

    base = _local_base(args)
    windows = sorted(config.windows)
    span = f"{windows[0]}–{windows[-1]}" if len(windows) > 1 else str(windows[0])
    clerks = [c for c in config.clerks.values() if c.role == "clerk"]
    supers = [c for c in config.clerks.values() if c.role == "supervisor"]
    clerk_login = (f"{clerks[0].username} … {clerks[-1].username} / {DEMO_PASSWORDS['clerk']}"
                   if clerks and check_password_hash(clerks[0].password_hash, DEMO_PASSWORDS["clerk"]) else "")
    super_login = (f"{supers[0].username} / {DEMO_PASSWORDS['supervisor']}"
                   if supers and check_password_hash(supers[0].password_hash, DEMO_PASSWORDS["supervisor"]) else "")
    rows = [
        ("kiosk", "/kiosk", "取号机 citizens take tickets"),
        ("counter", "/counter", f"窗口工作台 clerks, windows {span}" + (f" — demo login {clerk_login}" if clerk_login else "")),
        ("rating tablet", f"/rate/{windows[0]}", f"评价器 one per window ({span})"),
        ("display", "/display", "大厅显示屏 hall display with voice"),
        ("window screen", f"/display/window/{windows[0]}", f"窗口屏 one per window ({span})"),
        ("phone page", "/t/<token>", "手机查看 the QR code on each ticket"),
        ("supervisor", "/supervisor", "值班主任 figures, follow-ups, rota" + (f" — demo login {super_login}" if super_login else "")),
        ("metrics", "/metrics", "Prometheus"),
    ]
    width = max(len(base + path) for _, path, _ in rows)
    lines = [f"OneWindow 一窗通 — {config.hall_name}" + ("  [DEMO: open all day, simulated traffic]" if args.demo else "")]
    lines += [f"  {name:<14} {(base + path):<{width}}  {what}" for name, path, what in rows]
    if clerk_login or super_login:
        lines.append("  (demo accounts from config.toml: change them before going live — README, 'Demo accounts')")
    lines.append("  " + _open_now(config, redis_url, args.demo))
    where = f"embedded, data in {config.var_dir / 'redis'}" if embedded is not None else "external"
    lines.append(f"  Redis {redis_url} ({where}). Ctrl-C stops.")
    return "\n".join(lines)


DEMO_PASSWORDS = {"clerk": "demo-clerk", "supervisor": "demo-super"}


def _open_now(config: Config, redis_url: str, demo: bool) -> str:
    """One line: the services issuing tickets now, or when the first opens and how to try OneWindow meanwhile."""
    try:
        services = Engine(connect(redis_url), config).services_overview()
    except redis.RedisError as exc:
        return f"(could not read the services: {exc})"
    now = Clock(config.timezone).now()
    open_now = [s for s in services if s["open"]]
    if open_now:
        return f"Open now ({now:%H:%M} {config.timezone.key}): " + ", ".join(
            f"{s['prefix']} {s['name']}" for s in open_now)
    upcoming = sorted((s["opens_at"], s["name"]) for s in services if s["opens_at"])
    nxt = f"; next: {upcoming[0][1]} at {upcoming[0][0][:16].replace('T', ' ')}" if upcoming else ""
    hint = "" if demo else " To try OneWindow now: `make demo` (the same hall, open all day, with simulated traffic)."
    return f"No service is open now ({now:%Y-%m-%d %H:%M} {config.timezone.key}{nxt}).{hint}"


def _run_gunicorn(args: argparse.Namespace, config: Config) -> None:
    """Serve with gunicorn, one worker per process: gevent (a greenlet per socket: many screens on one process) or
    gthread (a thread per open socket). See docs/deploy.md."""
    from gunicorn.app.base import BaseApplication

    from shared.logs import gunicorn_logconfig

    if args.worker == "gevent":
        try:
            import gevent  # noqa: F401
        except ImportError:
            raise SystemExit("--worker gevent needs gevent (pip install gevent), or use --worker gthread") from None
    app_config = {"CONFIG": config, "REDIS_URL": os.environ.get("ONEWINDOW_REDIS_URL") or config.redis_url}
    _die_with_supervisor()

    class _Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{args.host}:{args.port}")
            self.cfg.set("workers", 1)
            self.cfg.set("worker_class", _worker_class(args.worker))
            if args.worker == "gthread":
                self.cfg.set("threads", args.threads)
            else:
                self.cfg.set("worker_connections", args.threads)
            self.cfg.set("timeout", 60)
            self.cfg.set("graceful_timeout", 10)
            self.cfg.set("accesslog", "-" if args.access_log else None)
            self.cfg.set("logger_class", redacting_access_logger())
            self.cfg.set("control_socket_disable", True)
            self.cfg.set("logconfig_dict", gunicorn_logconfig(
                os.environ.get("ONEWINDOW_LOG", "INFO"), args.log_format, config.timezone, args.log_file,
                args.access_log))
            self.cfg.set("worker_exit", lambda _server, worker: close_app(getattr(worker, "wsgi", None)))

        def load(self):
            return create_app(app_config)

    try:
        _Server().run()
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise


def close_app(app: Flask | None) -> None:
    """Stop the relay and the archiver and close every Socket.IO connection of this process (idempotent): screens
    reconnect (to another process, or to this one once it is back) and resync from the snapshot."""
    if app is None or not hasattr(app, "extensions"):
        return
    for name in ("onewindow_relay", "onewindow_archiver"):
        worker = app.extensions.get(name)
        if worker is not None:
            worker.stop()
    socketio = app.extensions.get("socketio")
    if socketio is not None and socketio.server is not None:
        try:
            socketio.server.eio.disconnect()
        except Exception:  # pragma: no cover - closing what is already closing
            logger.debug("closing sockets", exc_info=True)


def _worker_class(kind: str):
    """gunicorn's worker with one addition: told to stop, it closes its sockets as soon as it has stopped accepting
    (otherwise a graceful stop waits for every open WebSocket, runs past the timeout, and the master SIGKILLs the
    worker; closing them earlier would let the screens reconnect to this very worker)."""
    import threading

    def close_when_not_accepting(worker) -> None:
        deadline = time.monotonic() + worker.cfg.graceful_timeout
        while time.monotonic() < deadline and any(_listening(s) for s in worker.sockets):
            time.sleep(0.05)  # the worker's loop notices within a second and closes its listeners
        close_app(worker.wsgi)

    if kind == "gevent":
        import gevent
        from gunicorn.workers.ggevent import GeventWorker as Base

        def later(worker) -> None:  # a signal handler runs in gevent's loop: nothing blocking in it
            gevent.spawn(close_when_not_accepting, worker)
    else:
        from gunicorn.workers.gthread import ThreadWorker as Base

        def later(worker) -> None:
            threading.Thread(target=close_when_not_accepting, args=(worker,), daemon=True).start()

    class OneWindowWorker(Base):
        def handle_exit(self, sig, frame):
            super().handle_exit(sig, frame)
            later(self)

        def handle_quit(self, sig, frame):  # a quick stop: the worker exits right away anyway
            super().handle_quit(sig, frame)

    OneWindowWorker.__name__ = f"OneWindow{Base.__name__}"
    return OneWindowWorker


def _listening(sock) -> bool:
    """Is this gunicorn listener still open in this process?"""
    inner = getattr(sock, "sock", sock)  # gunicorn's wrapper drops its socket (None) when closed
    try:
        return inner is not None and inner.fileno() != -1
    except (OSError, ValueError):
        return False


def _die_with_supervisor() -> None:
    """In gunicorn's master (Linux): get SIGTERM when the supervising `onewindow serve` dies, even by SIGKILL."""
    import ctypes
    import signal

    if not os.environ.get("ONEWINDOW_SUPERVISOR_PID"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return
    if os.getppid() != int(os.environ["ONEWINDOW_SUPERVISOR_PID"]):  # it died before we asked
        os.kill(os.getpid(), signal.SIGTERM)


def cmd_hash_password(args: argparse.Namespace) -> int:
    from werkzeug.security import generate_password_hash

    password = args.password or getpass.getpass("password: ")
    if len(password) < 8:
        print("a password needs at least 8 characters", file=sys.stderr)
        return 2
    print(generate_password_hash(password))
    return 0


def cmd_hash_token(args: argparse.Namespace) -> int:
    """Print the ``[[tokens]]`` entry to paste into config.toml (only the SHA-256 of the token goes there); with no
    TOKEN a new random one is made and shown once, to be entered on the device."""
    from shared.config import KIOSK_ID

    if args.kind == "kiosk" and not (args.kiosk and KIOSK_ID.fullmatch(args.kiosk)):
        print("a kiosk token needs --kiosk ID (1–32 of A–Z a–z 0–9 _ -)", file=sys.stderr)
        return 2
    if args.kind != "kiosk" and not args.window:
        print(f"a {args.kind} token needs --window N", file=sys.stderr)
        return 2
    token = args.token or secrets.token_urlsafe(24)
    if not args.token:
        print(f"# token for the device (shown once; pair the device with it): {token}")
    bound = f'kiosk = "{args.kiosk}"' if args.kind == "kiosk" else f"window = {args.window}"
    name = args.name or (f"kiosk-{args.kiosk}" if args.kind == "kiosk" else f"{args.kind}-{args.window}")
    print(f'[[tokens]]\nname = "{name}"\nkind = "{args.kind}"\n{bound}\n'
          f'token_sha256 = "{hashlib.sha256(token.encode()).hexdigest()}"')
    return 0


def cmd_print_test(args: argparse.Namespace) -> int:
    from kiosk.print_service import printer_settings
    from kiosk.printing import PrinterFault, print_sample

    config = _load_or_exit(args.config)
    settings = printer_settings(config)  # the same settings (and preview folder) the server prints with
    try:
        result = print_sample(settings)
    except PrinterFault as exc:
        print(f"printer fault: {exc.message}", file=sys.stderr)
        return 1
    print(f"printed a sample ticket: {result}")
    return 0


def cmd_archive(args: argparse.Namespace) -> int:
    """Archive the closed days now (and trim the stream of what is archived), like the server does periodically."""
    from shared.stats import Archive, archive_closed_days

    config = _load_or_exit(args.config)
    redis_url, embedded = _redis_for(config)
    client = connect(redis_url)
    try:
        result = archive_closed_days(Engine(client, config), Archive(config.archive_path), trim=not args.no_trim)
    finally:
        client.close()
        if embedded is not None and embedded.adopted_pid is None:
            embedded.stop()
    if result.skipped:
        print("another process is archiving right now; nothing done", file=sys.stderr)
        return 1
    print(f"archived {len(result.archived)} day(s){': ' + ', '.join(result.archived) if result.archived else ''}; "
          f"trimmed {result.trimmed} event(s) from the stream; archive: {config.archive_path}")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    """Back up the hall's Redis data and statistics archive into one file (while the server runs)."""
    from shared.backup import backup

    config = _load_or_exit(args.config)
    redis_url, embedded = _redis_for(config)
    client = connect(redis_url)
    try:
        engine = Engine(client, config)
        dest = Path(args.out) if args.out else (
            config.var_dir / "backups" / f"onewindow-{config.hall_id}-{engine.clock.now():%Y%m%d-%H%M%S}.zip")
        info = backup(engine, redis_url, config, dest)
    finally:
        client.close()
        if embedded is not None and embedded.adopted_pid is None:
            embedded.stop()
    print(f"backed up {info.keys} keys (event seq {info.seq})"
          f"{' and the statistics archive' if info.archive else ''} to {info.path}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """Restore a backup into an empty hall (a fresh var directory, or an empty Redis)."""
    from shared.backup import restore

    config = _load_or_exit(args.config)
    redis_url, embedded = _redis_for(config)
    client = connect(redis_url)
    try:
        info = restore(Engine(client, config), config, Path(args.backup))
    except OneWindowError as exc:
        print(f"restore refused: {exc.message}", file=sys.stderr)
        return 1
    finally:
        client.close()
        if embedded is not None and embedded.adopted_pid is None:
            embedded.stop()
    print(f"restored {info.keys} keys (event seq {info.seq})"
          f"{' and the statistics archive' if info.archive else ''} from {info.path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """The ``onewindow`` command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=os.environ.get("ONEWINDOW_LOG", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    args.argv = [a for a in argv if a != "--child"]
    return args.func(args)


def build_parser() -> argparse.ArgumentParser:
    """The ``onewindow`` command line (deploy/*.service are checked against it)."""
    parser = argparse.ArgumentParser(prog="onewindow", description="OneWindow (一窗通) queue system")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server (starts the embedded Redis when [redis] url is empty)")
    serve.add_argument("--config", default=DEFAULT_CONFIG)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--worker", choices=("gevent", "gthread"), default="gevent",
                       help="gunicorn worker: gevent (default: a greenlet per socket, hundreds of screens on one "
                            "process) or gthread (a thread per socket)")
    serve.add_argument("--threads", type=int, default=1000,
                       help="open sockets one process can hold (gevent connections / gthread threads)")
    serve.add_argument("--access-log", action="store_true")
    serve.add_argument("--demo", action="store_true",
                       help="the demo hall: open all day, its own data in <var_dir>/demo, simulated traffic")
    serve.add_argument("--log-format", choices=("text", "json"), default=os.environ.get("ONEWINDOW_LOG_FORMAT", "text"),
                       help="text (default) or one JSON object a line; timestamps in the hall's time zone")
    serve.add_argument("--log-file", help="write the log to this file (reopened when logrotate moves it)")
    serve.add_argument("--child", action="store_true", help=argparse.SUPPRESS)  # the gunicorn process
    serve.set_defaults(func=cmd_serve)

    check = sub.add_parser("check-config", help="validate the config file")
    check.add_argument("--config", default=DEFAULT_CONFIG)
    check.add_argument("--host", help="the address `onewindow serve --host` will listen on (checks hall.public_url)")
    check.set_defaults(func=cmd_check_config)

    hp = sub.add_parser("hash-password", help="hash a staff password for config.toml")
    hp.add_argument("password", nargs="?")
    hp.set_defaults(func=cmd_hash_password)

    ht = sub.add_parser("hash-token", help="create (or hash) a device token: prints the [[tokens]] entry to paste")
    ht.add_argument("token", nargs="?", help="the token (default: a new random one, shown once)")
    ht.add_argument("--kind", choices=("keypad", "tablet", "kiosk"), default="keypad")
    ht.add_argument("--window", type=int, help="the window a keypad or tablet is bound to")
    ht.add_argument("--kiosk", help="the kiosk id a kiosk token is bound to (e.g. lobby-1)")
    ht.add_argument("--name", help="a name for logs and events (default: <kind>-<window or kiosk>)")
    ht.set_defaults(func=cmd_hash_token)

    pt = sub.add_parser("print-test", help="print a sample ticket on the configured printer")
    pt.add_argument("--config", default=DEFAULT_CONFIG)
    pt.set_defaults(func=cmd_print_test)

    ar = sub.add_parser("archive", help="archive closed days into the statistics archive, then trim the stream")
    ar.add_argument("--config", default=DEFAULT_CONFIG)
    ar.add_argument("--no-trim", action="store_true", help="keep every event in Redis")
    ar.set_defaults(func=cmd_archive)

    bk = sub.add_parser("backup", help="back up the Redis data and the statistics archive into one file")
    bk.add_argument("--config", default=DEFAULT_CONFIG)
    bk.add_argument("--out", help="the backup file (default: <var_dir>/backups/onewindow-<hall>-<time>.zip)")
    bk.set_defaults(func=cmd_backup)

    rs = sub.add_parser("restore", help="restore a backup into an empty hall (a fresh var directory)")
    rs.add_argument("backup", help="a file written by `onewindow backup`")
    rs.add_argument("--config", default=DEFAULT_CONFIG)
    rs.set_defaults(func=cmd_restore)

    return parser


if __name__ == "__main__":
    raise SystemExit(main())
