"""Who is acting: a staff session (kept on the server, its id in a signed cookie) or a device token.

A session is a record in Redis (:class:`shared.staff_sessions.StaffSessions`): the clerk, the role, the window (bound at
login) with its hold id, a CSRF token. The cookie (HttpOnly, SameSite=Strict, Secure when configured) carries only
the session id. Every request touches the record, which ends the session at once after logout, a supervisor
releasing its window, a changed password, ``[security] idle_minutes`` unused or ``session_hours`` after sign-in.
Every state-changing request made with the session cookie must carry the session's CSRF token in ``X-CSRF-Token``.

A device token is sent as ``Authorization: Bearer <token>`` (:mod:`shared.devices`); only keypads act on their
window. Bearer requests carry no cookie, so they need no CSRF token.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from functools import wraps

from flask import current_app, g, request, session
from werkzeug.security import check_password_hash

from shared.config import Config
from shared.devices import KEYPAD, identify
from shared.errors import AuthenticationError, PermissionDeniedError
from shared.passwords import run_off_loop
from shared.limits import LoginLimiter
from shared.staff_sessions import StaffSession, StaffSessions
from shared.window_holds import WindowHolds

CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# a hash checked when the username is unknown, so a wrong username costs as much time as a wrong password
_DUMMY_HASH = "scrypt:32768:8:1$6d9nTRJo84Aj6zb6$e609a2c92bad11d7ba2a22bec6e43992f4dd2b480d5dd161cc55bd606a7e254c2781752bda20f4d5a9cf47e075d36a362d36337e32d614b7c9c632b0ca751aca"


@dataclass(frozen=True)
class Actor:
    """The clerk or device behind a request."""

    id: str  # clerk username, or "token:<name>"
    name: str
    role: str  # clerk | supervisor | machine
    window: int | None
    kind: str | None = None  # a device's kind (keypad | tablet | kiosk); None for staff


def check_credentials(config: Config, username: str, password: str):
    """The clerk for these credentials, or raise AuthenticationError (same message for any mistake). The hash runs
    off the event loop (:func:`shared.passwords.run_off_loop`): screens keep being served meanwhile."""
    clerk = config.clerks.get(username)
    ok = run_off_loop(check_password_hash, clerk.password_hash if clerk else _DUMMY_HASH, password)
    if not clerk or not ok:
        raise AuthenticationError("wrong username or password", code="bad_credentials")
    return clerk


def current_session() -> StaffSession | None:
    """This request's live staff session (touched once per request), None without a session cookie; 401 when the
    cookie's session has ended (the cookie is cleared then)."""
    if "onewindow_session" in g:
        return g.onewindow_session
    sid = session.get("sid")
    record = None
    if sid:
        try:
            record = staff_sessions().touch(sid)
        except AuthenticationError:
            session.clear()
            raise
    g.onewindow_session = record
    return record


def current_actor() -> Actor:
    """The actor of this request, or raise 401."""
    config: Config = current_app.extensions["onewindow"].config
    device = identify(config, request.headers.get("Authorization"))
    if device is not None:
        return Actor(id=f"token:{device.name}", name=device.name, role="machine", window=device.window,
                     kind=device.kind)
    record = current_session()
    if record is None:
        raise AuthenticationError("log in first", code="not_logged_in")
    clerk = config.clerks[record.clerk]  # the session script ended sessions of accounts no longer configured
    if request.method not in SAFE_METHODS:
        check_csrf(record)
    return Actor(id=clerk.username, name=clerk.name, role=clerk.role, window=record.window)


def check_csrf(record: StaffSession) -> None:
    """The request must carry this session's CSRF token in ``X-CSRF-Token`` (403 ``csrf_failed`` otherwise)."""
    given = request.headers.get(CSRF_HEADER, "")
    if not record.csrf or not given or not hmac.compare_digest(record.csrf.encode(), given.encode("utf-8", "replace")):
        raise PermissionDeniedError(f"missing or wrong {CSRF_HEADER} header; reload the page", code="csrf_failed")


def staff_sessions() -> StaffSessions:
    """The sessions, on real time (``SESSION_NOW_MS`` in the app config replaces the clock in tests)."""
    return StaffSessions(current_app.extensions["onewindow"].engine, current_app.config.get("SESSION_NOW_MS"))


def window_holds() -> WindowHolds:
    """Window holds; a hold lives as long as the sessions that use it (each request extends it with its session)."""
    hall = current_app.extensions["onewindow"]
    return WindowHolds(hall.engine, hall.config.security.idle_minutes * 60)


def login_limiter() -> LoginLimiter:
    return LoginLimiter(current_app.extensions["onewindow"].engine)


def require_supervisor() -> Actor:
    """The actor, who must be a supervisor signed in with a session (403 ``not_supervisor``)."""
    actor = current_actor()
    if actor.role != "supervisor":
        raise PermissionDeniedError("only a supervisor may do this", code="not_supervisor")
    return actor


def require_window(view):
    """Decorate a ``/windows/<int:number>/…`` view: the actor must be a clerk session or a keypad bound to that
    window (a tablet or kiosk token never acts on a window)."""

    @wraps(view)
    def wrapper(number: int, *args, **kwargs):
        actor = current_actor()
        if actor.role == "machine" and actor.kind != KEYPAD:
            raise PermissionDeniedError(f"a {actor.kind} token cannot act on a window", code="wrong_device")
        if actor.window != number:
            raise PermissionDeniedError(f"you are signed in to window {actor.window}, not window {number}",
                                        code="wrong_window")
        return view(number, *args, actor=actor, **kwargs)

    return wrapper
