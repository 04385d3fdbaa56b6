"""The web edge: what every blueprint would otherwise repeat, built once per app by :func:`onewindow.create_app` and
handed to each blueprint factory (``create_blueprint(edge)``).

* :class:`Hall` — the hall handle: its config, engine and statistics (``app.extensions["onewindow"]``);
* :meth:`WebEdge.body` — a JSON request body checked against a spec (:mod:`shared.validation`);
* :meth:`WebEdge.page` — a page: the template rendered, never cached (the one CSP and the other security headers
  are set on every response by :mod:`onewindow.web`);
* :attr:`WebEdge.facts` — the facts every staff page boots from (hall, services, windows);
* :attr:`WebEdge.auth` — who is acting (:mod:`onewindow.auth`);
* :meth:`WebEdge.unless_store_down` — a read that may fail with the store, for a page that still loads without it.

Domain errors become responses in one place too (:mod:`onewindow.web`): a blueprint raises, never builds an error.
Blueprints never import this module at run time (only for type hints), so nothing imports the composition root.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import redis
from flask import Blueprint, Response, jsonify, make_response, render_template, request
from werkzeug.wrappers import Request

from onewindow.auth import SESSION_KEY, StaffAuth
from shared.config import CityConfig, Clerk, Config
from shared.engine import Engine
from shared.memo import SmallMemo
from shared.printer_health import PrinterHealth
from shared.stats import Archive, Stats
from shared.validation import Field, parse_json_object, validate

if TYPE_CHECKING:
    from onewindow.lean import LeanLane

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Hall:
    """One hall as the web edge reaches it: its config, its engine (the queues and every named operation of the
    core), the kiosks' printer health and its statistics (one live fold per process, made on first use)."""

    def __init__(self, config: Config, engine: Engine, redis_url: str, archive_path: Callable[[], Path]) -> None:
        self.config = config
        self.engine = engine
        self.redis_url = redis_url
        self.printers = PrinterHealth(engine)
        self._archive_path = archive_path
        self._stats: Stats | None = None
        self._once: dict[str, Any] = {}
        self._lock = threading.Lock()

    def once(self, name: str, make: Callable[[], T]) -> T:
        """The one ``make()`` of this hall under ``name``, made on first use: a hall mounted at two places (the only
        hall, at ``/`` and at ``/h/<id>/``) shares what must exist once per hall (its kiosks' printer)."""
        with self._lock:
            if name not in self._once:
                self._once[name] = make()
            return self._once[name]

    @property
    def id(self) -> str:
        """The hall's id (``[hall] id``: its Redis hash tag and its ``/h/<id>/`` path)."""
        return self.config.hall_id

    @property
    def stats(self) -> Stats:
        """The statistics of this hall (the archive at ``STATS_ARCHIVE_PATH`` when the app config names one)."""
        with self._lock:
            if self._stats is None:
                self._stats = Stats(self.engine, Archive(self._archive_path()))
            return self._stats


class City:
    """Every hall this process serves, in order (``app.extensions["onewindow_city"]``): one for a config file, the
    hall files of a config directory otherwise. ``supervisors``: the city supervisors of ``city.toml`` (none for a
    config file); ``auth`` signs them in (:class:`onewindow.auth.CityAuth`, set by ``create_app``)."""

    def __init__(self, config: CityConfig | None, halls: list[Hall]) -> None:
        self.config = config
        self.halls = list(halls)
        self._by_id = {hall.config.hall_id: hall for hall in self.halls}
        first = self.halls[0].config
        self.id = config.id if config else first.hall_id
        self.name = config.name if config else first.hall_name
        self.name_en = config.name_en if config else first.hall_name_en
        self.supervisors: dict[str, Clerk] = dict(config.supervisors) if config else {}
        self.auth = None  # a CityAuth, set by create_app once the store is known

    def hall(self, hall_id: str) -> Hall:
        """The hall ``hall_id``; NotFoundError (404 ``unknown_hall``) for any other id."""
        try:
            return self._by_id[hall_id]
        except KeyError:
            from shared.errors import NotFoundError

            raise NotFoundError(f"no hall '{hall_id}' in this deployment", code="unknown_hall") from None

    @property
    def several(self) -> bool:
        """Does this process serve more than one hall (then only under ``/h/<hall id>/``)?"""
        return len(self.halls) > 1

    @staticmethod
    def base(hall: Hall) -> str:
        """The path every page and API of ``hall`` is mounted under: ``/h/<hall id>``."""
        return f"/h/{hall.config.hall_id}"


class Caller:
    """Who sends a request and where it came to, as the handler of a JSON route (:meth:`WebEdge.json_post`) needs
    them; made from the WSGI environ, the same way whether Flask or the lean lane serves the request."""

    def __init__(self, edge: WebEdge, environ: dict) -> None:
        self._edge, self._environ = edge, environ
        #: the registered device (``Authorization: Bearer``), None for a public client; 401 for an unknown token
        self.device = edge.auth.device_from(environ)
        #: the client's address (after the trusted proxies)
        self.address: str = environ.get("REMOTE_ADDR") or "-"

    @cached_property
    def public_base(self) -> str:
        """Base of the links an answer carries (tracking links): see :meth:`WebEdge.public_base`."""
        return self._edge.public_base(self._environ)


_URL_PARTS = ("wsgi.url_scheme", "HTTP_HOST", "SERVER_NAME", "SERVER_PORT", "SCRIPT_NAME")  # host_url's key, in order
# per address the hall is reached by (a few: the Host header is the client's to choose)
_host_urls: SmallMemo[tuple, str] = SmallMemo(
    32, lambda parts: Request({k: v for k, v in zip(_URL_PARTS, parts) if v is not None}).url_root.rstrip("/"))


def host_url(environ: dict) -> str:
    """werkzeug's ``request.url_root`` (the address the app was reached at, with the path a proxy mounts it under:
    ``SCRIPT_NAME``) without its slash, worked out once per address the hall is reached by (its IRI conversion is ~2 %
    of a ticket's CPU)."""
    get = environ.get  # a tuple display, not a generator: this runs on every ticket
    return _host_urls((get("wsgi.url_scheme"), get("HTTP_HOST"), get("SERVER_NAME"), get("SERVER_PORT"),
                       get("SCRIPT_NAME")))


class WebEdge:
    """The web edge of one hall's blueprints as mounted at one place (see the module doc). ``base``: the path the
    blueprints are mounted under ("" at ``/``, ``/h/<hall id>`` in a city); ``live``: the prefix of the hall's
    Socket.IO namespaces ("" for the only hall: ``/display``, ``/staff``; ``/h/<hall id>`` in a city);
    ``session_key``: where the hall's session id sits in the cookie (:class:`onewindow.auth.StaffAuth`)."""

    def __init__(self, hall: Hall, app_config: Mapping, *, base: str = "", live: str = "",
                 session_key: str = SESSION_KEY, lean: LeanLane | None = None) -> None:
        self.hall = hall
        self.base = base
        self.live = live
        self.auth = StaffAuth(hall.engine, app_config, session_key=session_key)
        self.lean = lean

    def json_post(self, bp: Blueprint, rule: str, spec: dict[str, Field],
                  handler: Callable[[dict[str, Any], Caller], tuple[dict[str, Any], int]]) -> None:
        """A JSON POST route (a fixed path) answered by ``handler(body, caller)`` → (JSON answer, status), with the
        body checked against ``spec`` first: a view on ``bp`` (endpoint: the handler's name), and the same route in
        the lean lane (:mod:`onewindow.lean`), which serves its plain requests past Flask's request machinery. The
        handler sees only its arguments: no ``request``, ``session`` or ``g``."""

        def view() -> tuple[Response, int]:
            body = self.body(spec)
            answer, status = handler(body, Caller(self, request.environ))
            return jsonify(answer), status

        if bp.url_prefix:  # the lane's path is this mount's base + rule: a prefix of the blueprint's own would differ
            raise ValueError(f"json_post on blueprint {bp.name} with url_prefix {bp.url_prefix!r}: not supported")
        bp.add_url_rule(rule, endpoint=handler.__name__, view_func=view, methods=["POST"])
        if self.lean is not None:
            self.lean.add(self.base + rule, spec, handler, self)

    def public_base(self, environ: dict | None = None) -> str:
        """Base of links to this hall's pages (tracking links): ``hall.public_url``, or (unset) the address the
        request (this one, or ``environ``'s) came to; then the path the hall is mounted under (``/h/<hall id>``)."""
        return (self.hall.config.public_url or host_url(request.environ if environ is None else environ)) + self.base

    def body(self, spec: dict[str, Field]) -> dict[str, Any]:
        """This request's JSON object, checked against ``spec`` (400 for anything else; an empty body is ``{}``)."""
        return validate(parse_json_object(request.get_data(), request.mimetype), spec)

    def page(self, template: str, *, status: int = 200, connect_src: tuple[str, ...] = (), **context: Any) -> Response:
        """``template`` rendered with ``context``, never cached: a page's boot data is live. ``connect_src``: origins
        this page (only) may also fetch from, beside its own (the kiosk's card-reader agent on loopback). The page's
        boot data (``boot`` or ``cfg``) gets ``base`` and ``live`` (this mount's path and the hall's namespace
        prefix): the front-end layer puts them before every API path and namespace (shared/static/js/api.js)."""
        for name in ("boot", "cfg"):
            if isinstance(context.get(name), dict):
                context[name] = {**context[name], "base": self.base, "live": self.live}
        response = make_response(render_template(template, **context), status)
        response.headers["Cache-Control"] = "no-store"
        if connect_src:
            from onewindow.web import content_security_policy  # (web imports this module)

            response.headers["Content-Security-Policy"] = content_security_policy(connect_src)
        return response

    @cached_property
    def facts(self) -> dict[str, Any]:
        """What every staff page starts from: the hall's names, its services and its windows."""
        config = self.hall.config
        return {
            "hall": {"name": config.hall_name, "name_en": config.hall_name_en},
            "services": [{"code": s.code, "name": s.name, "name_en": s.name_en, "prefix": s.prefix}
                         for s in config.services.values()],
            "windows": [{"number": n, "name": w.name, "services": list(w.services)}
                        for n, w in sorted(config.windows.items())],
        }

    def unless_store_down(self, read: Callable[[], T], fallback: T) -> T:
        """``read()``, or ``fallback`` when the store does not answer (logged): for a page that loads anyway and
        whose script fetches the rest once the store is back. Everywhere else a store failure is a 503."""
        try:
            return read()
        except redis.RedisError as exc:
            logger.warning("%s without the store (%s)", request.endpoint, type(exc).__name__)
            return fallback
