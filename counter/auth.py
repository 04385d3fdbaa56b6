"""Who is acting: a clerk's session cookie (bound to one window at login) or a machine token (bound to one window).

A session is Flask's signed cookie (HttpOnly, SameSite=Strict) holding the clerk, the window, the login time, the
window hold id and a CSRF token; it expires after ``PERMANENT_SESSION_LIFETIME``. A session bound to a window is
accepted only while it still holds that window (see :mod:`shared.sessions`). Every state-changing request made
with the session cookie must carry the session's CSRF token in the ``X-CSRF-Token`` header.

A machine token is sent as ``Authorization: Bearer <token>``; only its SHA-256 is in the config. Bearer requests
carry no cookie, so they need no CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from functools import wraps

from flask import current_app, request, session
from werkzeug.security import check_password_hash

from shared.config import Config
from shared.errors import AuthenticationError, PermissionDeniedError
from shared.sessions import LoginLimiter, WindowHolds

CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# a hash checked when the username is unknown, so a wrong username costs as much time as a wrong password
_DUMMY_HASH = "scrypt:32768:8:1$6d9nTRJo84Aj6zb6$e609a2c92bad11d7ba2a22bec6e43992f4dd2b480d5dd161cc55bd606a7e254c2781752bda20f4d5a9cf47e075d36a362d36337e32d614b7c9c632b0ca751aca"


@dataclass(frozen=True)
class Actor:
    """The clerk or machine behind a request."""

    id: str  # clerk username, or "token:<name>"
    name: str
    role: str  # clerk | supervisor | machine
    window: int | None


def check_credentials(config: Config, username: str, password: str):
    """The clerk for these credentials, or raise AuthenticationError (same message for any mistake)."""
    clerk = config.clerks.get(username)
    ok = check_password_hash(clerk.password_hash if clerk else _DUMMY_HASH, password)
    if not clerk or not ok:
        raise AuthenticationError("wrong username or password", code="bad_credentials")
    return clerk


def current_actor() -> Actor:
    """The actor of this request, or raise 401."""
    config: Config = current_app.extensions["onewindow"].config
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError("use 'Authorization: Bearer <token>'", code="bad_token")
        digest = hashlib.sha256(token.strip().encode()).hexdigest()
        for t in config.tokens:
            if hmac.compare_digest(digest, t.token_sha256):
                return Actor(id=f"token:{t.name}", name=t.name, role="machine", window=t.window)
        raise AuthenticationError("unknown machine token", code="bad_token")
    username = session.get("clerk")
    if not username:
        raise AuthenticationError("log in first", code="not_logged_in")
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    if time.time() - session.get("login_at", 0) > lifetime:
        session.clear()
        raise AuthenticationError("the session has expired; log in again", code="session_expired")
    clerk = config.clerks.get(username)
    if clerk is None:  # removed from the config since login
        session.clear()
        raise AuthenticationError("this account no longer exists", code="not_logged_in")
    window = session.get("window")
    if window is not None and not window_holds().is_current(window, session.get("hold", "")):
        session.clear()
        raise AuthenticationError(f"your sign-in to window {window} has ended (signed out, released by a supervisor "
                                  "or expired); log in again", code="window_released")
    if request.method not in SAFE_METHODS:
        check_csrf()
    return Actor(id=clerk.username, name=clerk.name, role=clerk.role, window=window)


def check_csrf() -> None:
    """The request must carry this session's CSRF token in ``X-CSRF-Token`` (403 ``csrf_failed`` otherwise)."""
    expected = session.get("csrf", "")
    given = request.headers.get(CSRF_HEADER, "")
    if not expected or not given or not hmac.compare_digest(expected.encode(), given.encode()):
        raise PermissionDeniedError(f"missing or wrong {CSRF_HEADER} header; reload the page", code="csrf_failed")


def window_holds() -> WindowHolds:
    """Window holds that expire with the session."""
    hall = current_app.extensions["onewindow"]
    return WindowHolds(hall.engine, current_app.permanent_session_lifetime.total_seconds())


def login_limiter() -> LoginLimiter:
    return LoginLimiter(current_app.extensions["onewindow"].engine)


def require_supervisor() -> Actor:
    """The actor, who must be a supervisor signed in with a session (403 ``not_supervisor``)."""
    actor = current_actor()
    if actor.role != "supervisor":
        raise PermissionDeniedError("only a supervisor may do this", code="not_supervisor")
    return actor


def require_window(view):
    """Decorate a ``/windows/<int:number>/…`` view: the actor must be bound to that window."""

    @wraps(view)
    def wrapper(number: int, *args, **kwargs):
        actor = current_actor()
        if actor.window != number:
            raise PermissionDeniedError(f"you are signed in to window {actor.window}, not window {number}",
                                        code="wrong_window")
        return view(number, *args, actor=actor, **kwargs)

    return wrapper
