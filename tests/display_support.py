"""The HTTP API of a live server as a kiosk and as the clerks of some windows (for tests of live screens); a relay
for an app served in-process, with one audience's view made to fail once."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator

import requests

from display.relay import Relay

from hall_support import DEMO_PASSWORD

class Api:
    """The HTTP API of the live server, as a kiosk and as the clerks of some windows."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.clerks: dict[int, requests.Session] = {}

    def issue(self, service: str = "renshe") -> dict:
        r = requests.post(self.base + "/api/v1/tickets", json={"service": service}, timeout=5)
        assert r.status_code == 201, r.text
        return r.json()["ticket"]

    def clerk(self, window: int) -> requests.Session:
        if window not in self.clerks:
            s = requests.Session()
            r = s.post(self.base + "/api/v1/login", timeout=5,
                       json={"username": f"clerk{window}", "password": DEMO_PASSWORD, "window": window})
            assert r.status_code == 200, r.text
            s.headers["X-CSRF-Token"] = r.json()["csrf_token"]
            self.clerks[window] = s
        return self.clerks[window]

    def call_next(self, window: int) -> dict:
        r = self.clerk(window).post(f"{self.base}/api/v1/windows/{window}/call-next", json={}, timeout=5)
        assert r.status_code == 200, r.text
        return r.json()["ticket"]


# Counts the page's WebSockets (open ones) and its calls to io(): one connection per page, whatever happens.
COUNT_SOCKETS = """
(() => {
  const Native = window.WebSocket;
  window.__sockets = [];
  window.WebSocket = function (url, protocols) {
    const ws = protocols === undefined ? new Native(url) : new Native(url, protocols);
    window.__sockets.push(ws);
    return ws;
  };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
  window.__openSockets = () => window.__sockets.filter((s) => s.readyState === 1).length;
})();
"""




def open_page(ctx, url: str, probe: str, viewport=(1920, 1080)):
    page = ctx.new_page()
    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_function(f"() => window.{probe} && window.{probe}.live.status === 'live'")
    page.errors = errors  # type: ignore[attr-defined]
    return page


def failing_once(relay, label: str, event_type: str) -> list[int]:
    """Make ``relay``'s view for the audience ``label`` (``/display``, ``/staff tablet:2`` …) raise once, for the
    first event of ``event_type`` — as a bug or the store failing would, with the ticket in the exception's message
    (which must not reach the log: it may hold personal data). Returns the seqs it failed (filled as it happens)."""
    failed: list[int] = []

    def wrap(audience):
        def view(event):
            if event.type == event_type and not failed:
                failed.append(event.seq)
                raise RuntimeError(f"the store went away reading {event.data.get('ticket')}")
            return audience.view(event)
        return dataclasses.replace(audience, view=view)

    relay.audiences = [wrap(a) if a.label == label else a for a in relay.audiences]
    return failed


@contextlib.contextmanager
def relaying(app, redis_url: str, engine, fail: tuple[str, str] | None = None) -> Iterator[Relay]:
    """A relay of the in-process ``app`` (created with START_RELAY False) following ``engine``'s stream, reporting to
    the app's metrics, while the block runs; ``fail``: (audience label, event type) whose view fails once
    (:func:`failing_once`, its seqs in ``relay.failed``)."""
    relay = Relay(app.extensions["socketio"], redis_url, engine.keys.events, windows=engine.config.windows,
                  on_view_failed=app.extensions["onewindow_metrics"].observe_view_failure)
    relay.failed = failing_once(relay, *fail) if fail else []  # type: ignore[attr-defined]
    relay.start()
    try:
        yield relay
    finally:
        relay.stop()
