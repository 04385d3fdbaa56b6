"""The Socket.IO namespaces: where the relay's events reach the pages.

``/display`` (:data:`DISPLAY_NAMESPACE`) is public: hall screens, window screens, phones and the kiosk listen; they
see the public payload of the hall's events (no clerk, kiosk, language or token) and ``{seq, type, ts}`` of the
rest. Nothing a client sends changes state; what it may send is ``clock`` (acknowledged with the server's time in
ms and :func:`process_id` of the server process holding the socket — screens set their clock with it,
``bench/bench_display.py`` uses its round trip as a baseline, tests and operators see which process a screen is on)
and ``catch_up``.

``catch_up`` (both namespaces, once per connection): ``{"after": seq, "entry": id}`` is acknowledged with
``{"events": [...]}``, every event after ``seq`` as this socket's audience sees it, oldest first — what a
reconnecting screen missed while it had no socket (:mod:`shared.catch_up`); events emitted meanwhile reach it too,
and it skips the seqs it has. ``entry`` (optional; every event and every live snapshot carries it) is the stream
entry id of the event with seq ``seq``: given, the events are answered only while that entry is still in the stream
with that seq (a failover that lost it and reused its seq is caught); without it, by seq alone as older clients ask.
Or ``{"resync": true}`` when they cannot all be given (the entry lost or trimmed, too many, asked twice): the screen
loads a snapshot.

``/staff`` (:data:`STAFF_NAMESPACE`) is for staff pages and the evaluation tablets, authorised in ``on_connect``:

* a live staff session (the session cookie, as for the API) that also sends its CSRF token in the handshake's
  ``auth`` (``{"csrf": …}``: a page of another site cannot read it, so a cross-site WebSocket cannot join) joins
  :data:`STAFF_ROOM` and receives every event as the staff pages may see it (everything but tracking tokens);
* a window's evaluation tablet (``auth = {"token": <tablet token>}``) joins :func:`tablet_room` of its window and
  receives :data:`RATING_OPENED` / :data:`RATING_CLOSED` for that window only, and ``{seq, type, ts}`` of everything
  else (so its client sees no false gap in ``seq``);
* anything else (no session, an ended session, a missing or wrong CSRF token, a kiosk's or keypad's token, an
  unknown token) is refused.

A session ended later (logout, released window) keeps an open socket until it reconnects; the staff pages close
theirs at logout, and every reconnect is checked again.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
import time

from flask import current_app, session
from flask_socketio import ConnectionRefusedError, Namespace, join_room

from shared.catch_up import catch_up, is_entry_id
from shared.devices import TABLET, identify
from shared.errors import OneWindowError
from shared.staff_sessions import StaffSessions

logger = logging.getLogger(__name__)

DISPLAY_NAMESPACE = "/display"
STAFF_NAMESPACE = "/staff"
STAFF_ROOM = "staff"
#: what a tablet hears instead of ``ticket_finished`` / ``ticket_rated`` at its window
RATING_OPENED = "rating_opened"
RATING_CLOSED = "rating_closed"
#: the relay to every audience when the event stream went back (a failover lost events): load your state again
STREAM_REWOUND = "stream_rewound"
#: the relay to one audience in place of an event whose view for it could not be built (a bug, the store failing):
#: ``{seq, type: "resync", ts, entry, event: <the event's type>}`` — take its seq and load your state again
#: (shared/static/js/live.js RESYNC)
RESYNC = "resync"


_PROCESS_IDS: dict[int, str] = {}  # pid → its id (a forked child finds its parent's pid here, not its own)


def process_id() -> str:
    """This server process as ``clock`` names it: 8 random hex digits made once per process, meaning nothing outside
    it (a pid would tell anyone on the hall's Wi-Fi about the server). The process logs it beside its pid when it
    makes it (INFO), so an operator — or a test — can tell which process a screen is on."""
    pid = os.getpid()
    made = secrets.token_hex(4)
    found = _PROCESS_IDS.setdefault(pid, made)  # atomic: two threads asking at once get the one id
    if found is made:
        logger.info("screens see this process (pid %d) as %s", pid, found)
    return found


def tablet_room(window: int) -> str:
    """The room of window ``window``'s evaluation tablet(s)."""
    return f"tablet:{window}"


class DisplayNamespace(Namespace):
    """Read-only namespace: clients receive events; nothing they send changes state. ``hall``: whose events it
    catches a screen up with (None: the app's only hall)."""

    def __init__(self, namespace: str, hall=None) -> None:
        super().__init__(namespace)
        self.hall = hall

    def on_connect(self, auth=None):  # noqa: D401 - Socket.IO hook
        logger.debug("display connected")

    def on_disconnect(self, reason=None):
        logger.debug("display disconnected: %s", reason)

    def on_clock(self, data=None) -> dict:
        """Acknowledge with the server time (ms since the epoch) and the server process holding this socket
        (:func:`process_id`)."""
        return {"ts": int(time.time() * 1000), "process": process_id()}

    def on_catch_up(self, data=None) -> dict:
        """The events after the client's ``seq`` (see the module's docstring)."""
        return caught_up(data, self.namespace, public=True, hall=self.hall)


_CAUGHT_UP = "_onewindow_caught_up"  # in this connection's own session: catch-up asked already
_ROOM = "_onewindow_room"


def caught_up(data, namespace: str, *, public: bool, hall=None) -> dict:
    """The answer to ``catch_up`` on ``namespace`` (a hall's display namespace when ``public``, else its staff
    namespace): the events of ``hall``'s stream (None: the app's only hall) after ``data["after"]`` in this socket's
    view."""
    from display.relay import log_view_failure, public_payload, staff_payload, tablet_view  # (it imports this one)

    after = data.get("after") if isinstance(data, dict) else None
    if not isinstance(after, int) or isinstance(after, bool) or after < 0:
        return {"error": {"code": "bad_request", "message": "catch_up needs {\"after\": a seq >= 0}"}}
    entry = data.get("entry")  # the stream entry id of the event with seq ``after`` (older clients send none)
    if entry is not None and not is_entry_id(entry):
        return {"error": {"code": "bad_request", "message":
                          "catch_up's \"entry\" is the stream id (<ms>-<n>) of the event with seq \"after\""}}
    asked = _CAUGHT_UP + namespace  # (both namespaces of one connection share its session)
    if session.get(asked):  # one read of the stream per connection: a client cannot make it read in a loop
        return {"resync": True}
    session[asked] = True
    room = session.get(_ROOM + namespace)
    if public:
        view = public_payload
    elif room == STAFF_ROOM:
        view = staff_payload
    elif isinstance(room, str) and room.startswith("tablet:"):
        view = tablet_view(int(room.split(":", 1)[1]))
    else:
        return {"resync": True}
    hall = hall or current_app.extensions["onewindow"]
    try:
        found = catch_up(hall.engine, after, entry=entry)
    except Exception:  # the store is away: the screen loads a snapshot (retried) instead
        logger.warning("catch_up without the store", exc_info=True)
        return {"resync": True}
    if not found.complete:
        return {"resync": True}
    answer = []
    for event in found.events:
        try:
            answer.append(view(event))
        except Exception as exc:  # a view that cannot be built (the relay sends RESYNC in its place): load a snapshot
            log_view_failure(namespace if public else f"{namespace} {room}", [event], exc)
            return {"resync": True}
    return {"events": answer}


def staff_room_for(auth, hall=None, session_key: str = "sid") -> str:
    """The room a ``/staff`` handshake may join (for ``hall``: the app's only hall by default, whose session id is
    under ``session_key`` in the cookie), or raise ConnectionRefusedError saying why not."""
    auth = auth if isinstance(auth, dict) else {}
    hall = hall or current_app.extensions["onewindow"]
    token = auth.get("token")
    if token:
        try:
            device = identify(hall.config, f"Bearer {token}")
        except OneWindowError:
            raise ConnectionRefusedError("unknown device token") from None
        if device is None or device.kind != TABLET or device.window is None:
            raise ConnectionRefusedError("only a window's evaluation tablet listens here with a device token")
        return tablet_room(device.window)
    sid = session.get(session_key)
    if not sid:
        raise ConnectionRefusedError("sign in first")
    try:
        record = StaffSessions(hall.engine, current_app.config.get("SESSION_NOW_MS")).touch(sid)
    except OneWindowError:
        raise ConnectionRefusedError("the session has ended; sign in again") from None
    given = auth.get("csrf")
    if not isinstance(given, str) or not record.csrf or not hmac.compare_digest(record.csrf.encode(), given.encode()):
        raise ConnectionRefusedError("missing or wrong csrf token")
    return STAFF_ROOM


class StaffNamespace(Namespace):
    """Staff pages and evaluation tablets: authorised on connect (see the module's docstring); listen only. ``hall``
    and ``session_key``: whose sessions and tablets it admits (None: the app's only hall)."""

    def __init__(self, namespace: str, hall=None, session_key: str = "sid") -> None:
        super().__init__(namespace)
        self.hall = hall
        self.session_key = session_key

    def on_connect(self, auth=None):  # noqa: D401 - Socket.IO hook
        room = staff_room_for(auth, self.hall, self.session_key)
        join_room(room)
        session[_ROOM + self.namespace] = room
        logger.debug("staff connected to %s", room)

    def on_disconnect(self, reason=None):
        logger.debug("staff disconnected: %s", reason)

    def on_catch_up(self, data=None) -> dict:
        """The events after the client's ``seq``, as this socket's room sees them (see the module's docstring)."""
        return caught_up(data, self.namespace, public=False, hall=self.hall)


def register_namespaces(socketio, *, hall=None, prefix: str = "", session_key: str = "sid") -> None:
    """Both namespaces of one hall on ``socketio`` (called by ``create_app``: a handler registered at import would be
    lost for a second app): ``/display`` and ``/staff`` for the only hall, ``<prefix>/display`` and
    ``<prefix>/staff`` (``prefix`` = ``/h/<hall id>``) for each hall when a process serves several."""
    socketio.on_namespace(DisplayNamespace(prefix + DISPLAY_NAMESPACE, hall))
    socketio.on_namespace(StaffNamespace(prefix + STAFF_NAMESPACE, hall, session_key))
