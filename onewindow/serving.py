"""`onewindow serve`: two processes. This one supervises — the embedded Redis, the demo traffic, signals — and runs
gunicorn as a child (`serve --child`, its own process group, ``--workers`` worker processes on the one listening
socket; its master restarts a worker that dies). Stopping goes in order: gunicorn's workers
first (it closes its screens' sockets and stops its relay), then the demo traffic, then the embedded Redis.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import subprocess
import sys
import threading
import time

import redis
from flask import Flask

from onewindow.app import create_app
from onewindow.web import redact
from shared.clock import Clock
from shared.config import Clerk, Config
from shared.demo_credentials import demo_accounts, demo_password
from shared.embedded import EmbeddedRedis
from shared.engine import Engine
from shared.redis_client import connect

logger = logging.getLogger("onewindow")

SHUTDOWN_SECONDS = 20  # after this, a gunicorn that has not stopped is killed


def redis_for(config: Config, *, embedded_only: bool = False) -> tuple[str, EmbeddedRedis | None]:
    """The Redis URL to use: ONEWINDOW_REDIS_URL, else ``[redis] url``, else the embedded server (started now, or
    adopted when one is already running on this hall's data directory). ``embedded_only``: always the embedded one."""
    url = None if embedded_only else os.environ.get("ONEWINDOW_REDIS_URL") or config.redis_url
    if url:
        return url, None
    embedded = EmbeddedRedis(config.var_dir / "redis").start()
    return embedded.url, embedded


# ------------------------------------------------------------------------------------------------ the supervisor
def supervise(args: argparse.Namespace, config: Config, deployment=None) -> int:
    """Start the embedded Redis (and the demo traffic), run gunicorn as a child, stop everything in order."""
    redis_url, embedded = redis_for(config, embedded_only=args.demo)
    simulators = []
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
            if args.demo:  # one simulated hall per hall served
                from shared.demo_hall import HallSimulator

                for hall in deployment.halls if deployment is not None else [config]:
                    simulators.append(HallSimulator(Engine(connect(redis_url), hall)).start())
            banner = (_city_banner(args, deployment, redis_url, embedded) if deployment is not None
                      else _banner(args, config, redis_url, embedded))
            print(banner, flush=True)
        _wait_for_child(child, stopping)
        logger.info("server stopped")
        return 0 if stopping or child.returncode == 0 else 1
    finally:
        if child is not None and child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
        for simulator in simulators:
            simulator.stop()
        if embedded is not None:
            embedded.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)


def _wait_for_child(child: subprocess.Popen, stopping: list[int]) -> None:
    """Until gunicorn exits; killed when it has not stopped ``SHUTDOWN_SECONDS`` after the first signal."""
    deadline = None
    while True:
        try:
            child.wait(timeout=0.5)
            return
        except subprocess.TimeoutExpired:
            if stopping and deadline is None:
                deadline = time.monotonic() + SHUTDOWN_SECONDS
            if deadline is not None and time.monotonic() > deadline:
                logger.error("gunicorn did not stop within %s s; killing it", SHUTDOWN_SECONDS)
                os.killpg(child.pid, signal.SIGKILL)


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
    base = _local_base(args)
    windows = sorted(config.windows)
    span = f"{windows[0]}–{windows[-1]}" if len(windows) > 1 else str(windows[0])
    clerk_login, super_login = _demo_logins(config)
    rows = [
        ("kiosk", "/kiosk", "取号机 citizens take tickets"),
        ("counter", "/counter", f"窗口工作台 clerks, windows {span}" + (f" — demo login {clerk_login}" if clerk_login else "")),
        ("rating tablet", f"/rate/{windows[0]}", f"评价器 one per window ({span})"),
        ("display", "/display", "大厅显示屏 hall display with voice"),
        ("window screen", f"/display/window/{windows[0]}", f"窗口屏 one per window ({span})"),
        ("phone page", "/t/<token>", "手机查看 the QR code on each ticket"),
        ("booking", "/book", "预约取号 appointments and remote tickets (when the hall offers them)"),
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


def _city_banner(args: argparse.Namespace, deployment, redis_url: str, embedded: EmbeddedRedis | None) -> str:
    """A config directory: every hall with its pages under /h/<hall id>/ and its demo logins while they still work,
    and the city's sign-in."""
    base = _local_base(args)
    city = deployment.city
    lines = [f"OneWindow 一窗通 — {city.name} ({len(deployment.halls)} halls)  {base}/"
             + ("  [DEMO: every hall open all day, simulated traffic]" if args.demo else "")]
    shown_demo = False
    for hall in deployment.halls:
        prefix = f"{base}/h/{hall.hall_id}"
        lines.append(f"  {hall.hall_name}: {prefix}/kiosk  {prefix}/display  {prefix}/counter  {prefix}/supervisor")
        logins = [login for login in _demo_logins(hall) if login]
        if logins:
            lines.append(f"    demo logins {'; '.join(logins)}")
            shown_demo = True
    if city.supervisors:
        demo_city = demo_accounts(city.supervisors.values())
        lines.append(f"  city figures: {base}/city  全市监管, city supervisors {', '.join(city.supervisors)}"
                     + (f" — demo login {_login(city.supervisors[demo_city[0]])}" if demo_city else ""))
        shown_demo = shown_demo or bool(demo_city)
    if shown_demo:
        lines.append("  (demo accounts from the config files: change them before going live — README, 'Demo accounts')")
    if args.demo:
        lines.append(f"  demo data in {deployment.process.var_dir} (each hall in halls/<hall id>/); "
                     "the halls' own data is not touched")
    where = f"embedded, data in {deployment.process.var_dir / 'redis'}" if embedded is not None else "external"
    lines.append(f"  Redis {redis_url} ({where}). Ctrl-C stops.")
    return "\n".join(lines)


def _demo_logins(config: Config) -> tuple[str, str]:
    """The demo logins of the clerks and the supervisor, while they still have the shipped demo passwords
    (:func:`shared.demo_credentials.demo_password`; '' otherwise)."""
    clerks = [c for c in config.clerks.values() if c.role == "clerk"]
    supers = [c for c in config.clerks.values() if c.role == "supervisor"]
    clerk_login = (f"{clerks[0].username} … {clerks[-1].username} / {demo_password(clerks[0])}"
                   if clerks and demo_password(clerks[0]) else "")
    super_login = _login(supers[0]) if supers and demo_password(supers[0]) else ""
    return clerk_login, super_login


def _login(account: Clerk) -> str:
    """``user / password`` of an account with a demo password."""
    return f"{account.username} / {demo_password(account)}"


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


# ------------------------------------------------------------------------------------------------ the gunicorn child
def run_gunicorn(args: argparse.Namespace, config: Config, deployment=None) -> None:
    """Serve with gunicorn, ``--workers`` processes (each its own relay: every screen gets every event whichever
    process holds its socket), each worker one of: gevent (a greenlet per socket: many screens on one process) or
    gthread (a thread per open socket). See docs/deploy.md."""
    from gunicorn.app.base import BaseApplication

    from shared.logs import gunicorn_logconfig

    if args.worker == "gevent":
        try:
            import gevent  # noqa: F401
        except ImportError:
            raise SystemExit("--worker gevent needs gevent (pip install gevent), or use --worker gthread") from None
    workers = getattr(args, "workers", 1)
    app_config = {"CONFIG": config, "REDIS_URL": os.environ.get("ONEWINDOW_REDIS_URL") or config.redis_url,
                  "SERVER_PROCESSES": workers}
    if deployment is not None:  # a config directory: every hall (shared.config.Deployment)
        app_config["DEPLOYMENT"] = deployment
    _die_with_supervisor()

    class _Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{args.host}:{args.port}")
            self.cfg.set("workers", workers)
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
            app = create_app(app_config)
            freeze_startup_heap()
            return app

    try:
        _Server().run()
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise


def freeze_startup_heap() -> None:
    """Move what the worker holds once it is loaded (modules, the app, its scripts: ~100,000 objects) out of the
    cyclic garbage collector's reach (``gc.freeze``). A full collection otherwise walks all of it, 100–200 ms in which
    no screen gets an event and no ticket is answered; afterwards it walks only what came later."""
    gc.collect()
    gc.freeze()


def redacting_access_logger():
    """gunicorn's logger, with tracking tokens taken out of the request line, path and referer of access logs."""
    from gunicorn.glogging import Logger

    class RedactingLogger(Logger):
        def _compute_access_log_enabled(self) -> bool:
            # gunicorn counts a logconfig_dict as "access log on" and builds every request's atoms for a logger
            # that drops them (level WARNING without --access-log): only --access-log turns it on
            return bool(self.cfg.accesslog)

        def atoms(self, resp, req, environ, request_time):
            atoms = super().atoms(resp, req, environ, request_time)
            for key in ("r", "U", "f", "q"):
                if isinstance(atoms.get(key), str):
                    atoms[key] = redact(atoms[key])
            return atoms

    return RedactingLogger


def close_app(app: Flask | None) -> None:
    """Stop the relay and the background workers and close every Socket.IO connection of this process (idempotent):
    screens reconnect (to another process, or to this one once it is back) and resync from the snapshot."""
    if app is None or not hasattr(app, "extensions"):
        return
    workers = [app.extensions.get(name) for name in ("onewindow_relay", "onewindow_archiver", "onewindow_haocaiping",
                                                     "onewindow_reception")]
    workers += app.extensions.get("onewindow_hall_workers", [])  # every hall's, when the process serves several
    for worker in dict.fromkeys(w for w in workers if w is not None):
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
        def init_process(self):
            _send_headers_with_body()
            super().init_process()

        def handle_exit(self, sig, frame):
            super().handle_exit(sig, frame)
            later(self)

        def handle_quit(self, sig, frame):  # a quick stop: the worker exits right away anyway
            super().handle_quit(sig, frame)

    OneWindowWorker.__name__ = f"OneWindow{Base.__name__}"
    return OneWindowWorker


def _send_headers_with_body() -> None:
    """In a worker process: gunicorn's HTTP/1 responses send their headers with the first body bytes, in one
    ``send`` (gunicorn sends them in two: the headers, then the body). Each send on a TCP socket is a trip through
    the kernel's TCP stack (and, on loopback or a proxy on the same machine, the receiver's too): for the small JSON
    answers of the API that was ~10 % of a worker's CPU. Bytes and their order on the wire are unchanged; a response
    without a first body write (HEAD, 204, an empty body, chunked, a file) goes out as before."""
    from gunicorn.http import wsgi

    base = wsgi.Response
    if getattr(base, "onewindow_one_send", False) or not hasattr(base, "_emit_body"):
        return  # installed already, or a gunicorn without the hook this relies on: its own way

    class OneSendResponse(base):
        onewindow_one_send = True
        _held: bytes | None = None

        def write(self, arg):
            if self.headers_sent or not arg or self.chunked or self._omits_body:
                return super().write(arg)
            # the headers exactly as send_headers() builds them, held for the body's first bytes
            tosend = self.default_headers()
            tosend.extend(["%s: %s\r\n" % (k, v) for k, v in self.headers])
            self._held = ("%s\r\n" % "".join(tosend)).encode("latin-1")
            self.headers_sent = True
            try:
                super().write(arg)  # headers_sent: send_headers() does nothing; _emit_body sends both
            finally:
                if self._held is not None:  # nothing of the body was sent (a Content-Length already reached)
                    held, self._held = self._held, None
                    self.sock.sendall(held)

        def _emit_body(self, data):
            if self._held is not None:
                data, self._held = self._held + data, None
            super()._emit_body(data)

    wsgi.Response = OneSendResponse


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

    if not os.environ.get("ONEWINDOW_SUPERVISOR_PID"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return
    if os.getppid() != int(os.environ["ONEWINDOW_SUPERVISOR_PID"]):  # it died before we asked
        os.kill(os.getpid(), signal.SIGTERM)
