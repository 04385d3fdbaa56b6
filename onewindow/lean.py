"""The lean lane: the plain requests of a hot JSON POST route (a phone or a kiosk taking a ticket) answered straight
from WSGI, past Flask's request machinery — its request context, URL map, hook dispatch and Response objects, about
a fifth of a ticket's CPU in the worker (docs/deploy.md, "Round 4").

Nothing that carries a guarantee is done differently here: the route's handler is the blueprint's own
(:meth:`onewindow.edge.WebEdge.json_post` registers it in both places), and around it run the same functions as
Flask's hooks — the idempotency scope (:func:`onewindow.web.operation_scope`), the body's parsing and checking
(:mod:`shared.validation`), the error answers (:func:`onewindow.web.error_answer`), the security headers, the
``Idempotent-Replayed`` mark and the request timer, in Flask's order. ``tests/test_lean_lane.py`` sends the same
requests through both and compares status, headers and body byte for byte, and pins the app's hooks: a hook added
to the app must be added here too.

A request is plain when it is a POST to exactly a registered path, with a ``Content-Length`` within the app's
limit, no ``Transfer-Encoding`` and no ``Cookie`` (a staff session could be in it). Anything else goes to Flask,
unchanged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import ClientDisconnected
from werkzeug.http import HTTP_STATUS_CODES, parse_options_header
from werkzeug.wsgi import get_input_stream

from onewindow.edge import Caller
from onewindow.web import DEFAULT_HEADERS, error_answer, operation_scope
from shared import idempotency
from shared.memo import SmallMemo
from shared.metrics import Metrics
from shared.validation import Field, parse_json_object, validate

if TYPE_CHECKING:
    from flask import Flask

    from onewindow.edge import WebEdge

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Caller], tuple[dict[str, Any], int]]


class LeanLane:
    """WSGI: the lean lane's routes (added by :meth:`onewindow.edge.WebEdge.json_post`), everything else to the app
    it wraps (:meth:`install`)."""

    def __init__(self) -> None:
        self._routes: dict[str, _Route] = {}
        self.inner: Callable | None = None

    def add(self, path: str, spec: dict[str, Field], handler: Handler, edge: WebEdge) -> None:
        """Serve POST ``path`` (the full path, the mount's base included) with ``handler``."""
        self._routes[path] = _Route(path, spec, handler, edge)

    def install(self, app: Flask, metrics: Metrics) -> None:
        """Put the lane in front of ``app.wsgi_app`` (inside any proxy fix applied later)."""
        if not self._routes:
            return
        limit = app.config.get("MAX_CONTENT_LENGTH")
        dumps = app.json.dumps
        # the layout of Flask's JSON answers (DefaultJSONProvider.response): indented in debug mode, else compact
        compact = getattr(app.json, "compact", None)
        layout = {"indent": 2} if (compact is None and app.debug) or compact is False else {"separators": (",", ":")}
        for route in self._routes.values():
            route.bind(_Serving(limit, lambda obj: dumps(obj, **layout), metrics))
        self.inner = app.wsgi_app
        app.wsgi_app = self

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        route = self._routes.get(environ.get("PATH_INFO")) if environ.get("REQUEST_METHOD") == "POST" else None
        if route is None or not route.takes(environ):
            return self.inner(environ, start_response)
        return route.serve(environ, start_response)


class _Serving:
    """What every route of the lane shares, taken from the app once (the app's limit and JSON, web.py's hooks)."""

    def __init__(self, limit: int | None, dumps: Callable[[Any], str], metrics: Metrics) -> None:
        self.limit, self.dumps, self.metrics = limit, dumps, metrics


# the status line werkzeug's Response sends (``201 CREATED``), per status code
_status_line: SmallMemo[int, str] = SmallMemo(
    64, lambda code: f"{code} {HTTP_STATUS_CODES.get(code, 'UNKNOWN').upper()}")
# ``request.mimetype`` as werkzeug works it out from a Content-Type header, for the few that clients send
_mimetype_of: SmallMemo[str, str] = SmallMemo(32, lambda raw: parse_options_header(raw)[0].lower())


class _Route:
    def __init__(self, path: str, spec: dict[str, Field], handler: Handler, edge: WebEdge) -> None:
        self.path, self.spec, self.handler, self.edge = path, spec, handler, edge
        self.serving: _Serving | None = None

    def bind(self, serving: _Serving) -> None:
        self.serving = serving

    def takes(self, environ: dict) -> bool:
        """A plain request (see the module doc); anything else is Flask's."""
        length = environ.get("CONTENT_LENGTH")
        if (not length or len(length) > 9 or not (length.isascii() and length.isdigit()) or "HTTP_COOKIE" in environ
                or "HTTP_TRANSFER_ENCODING" in environ):
            return False
        limit = self.serving.limit
        return limit is None or int(length) <= limit

    def serve(self, environ: dict, start_response: Callable) -> list[bytes]:
        serving = self.serving
        started = time.perf_counter()
        scope = token = None
        headers: list[tuple[str, str]] = []
        asked_session: list[bool] = []

        def no_session() -> str:  # a plain request has no Cookie header: no session ids (Flask's session says so)
            asked_session.append(True)
            return ""

        try:
            try:  # read as Flask reads a body (werkzeug's stream, bounded by Content-Length and the app's limit)
                body = get_input_stream(environ, max_content_length=serving.limit).read()
            except OSError as exc:  # the client went away mid-body (a phone leaving the Wi-Fi): a 400, not a bug
                raise ClientDisconnected() from exc
            # Flask's before_request: the scope (web.operation_scope); no session without a Cookie header
            scope = operation_scope(environ, self.path, lambda: body, no_session)
            token = idempotency.enter(scope)
            checked = validate(parse_json_object(body, _mimetype_of(environ.get("CONTENT_TYPE", ""))), self.spec)
            answer, status = self.handler(checked, Caller(self.edge, environ))
        except Exception as exc:  # the app's error handlers, as Flask calls them
            status, answer, headers = error_answer(exc, "POST", self.path)
        finally:
            if token is not None:
                idempotency.leave(token)
        try:
            data = (serving.dumps(answer) + "\n").encode("utf-8")
        except Exception as exc:  # an answer that is not JSON: a bug, answered as Flask answers one
            status, answer, headers = error_answer(exc, "POST", self.path)
            data = (serving.dumps(answer) + "\n").encode("utf-8")
        # Flask's after_request, in its order: the timer, the security headers, the replay mark
        if scope is not None:
            serving.metrics.observe_request("POST", self.path, time.perf_counter() - started)
        out = [("Content-Type", "application/json"), ("Content-Length", str(len(data))), *headers]
        present = {name.lower() for name, _ in headers}
        out += [h for h in DEFAULT_HEADERS if h[0].lower() not in present]
        if scope is not None and scope.replayed:
            out.append(("Idempotent-Replayed", "true"))
        if asked_session:  # Flask's session interface: an answer that read the session varies with the cookie
            out.append(("Vary", "Cookie"))
        start_response(_status_line(status), out)
        return [data]
