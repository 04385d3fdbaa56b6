"""Who is acting: a staff session (kept on the server, its id in a signed cookie) or a device token.

A session is a record in Redis (:class:`shared.staff_sessions.StaffSessions`): the clerk, the role, the window (bound
at login) with its hold id, a CSRF token. The cookie (HttpOnly, SameSite=Strict, Secure when configured) carries only
the session id. Every request touches the record, which ends the session at once after logout, a supervisor
releasing its window, a changed password, ``[security] idle_minutes`` unused or ``session_hours`` after sign-in.
Every state-changing request made with the session cookie must carry the session's CSRF token in ``X-CSRF-Token``.

A device token is sent as ``Authorization: Bearer <token>`` (:mod:`shared.devices`); only keypads act on their
window. Bearer requests carry no cookie, so they need no CSRF token.

Every blueprint asks the same questions (which device is this, who is signed in, may they act on this window), so
the answers live here, in the web edge, and reach the blueprints through :class:`onewindow.edge.WebEdge`.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import wraps

from flask import g, request, session
from werkzeug.security import check_password_hash

from shared.config import Clerk, MachineToken
from shared.devices import KEYPAD, identify
from shared.engine import Engine
from shared.errors import AuthenticationError, PermissionDeniedError
from shared.limits import LoginLimiter
from shared.passwords import run_off_loop
from shared.staff_sessions import StaffSession, StaffSessions
from shared.window_holds import WindowHolds

CSRF_HEADER = "X-CSRF-Token"
SESSION_KEY = "sid"
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


class StaffAuth:
    """The answers to "who is this?" for one app: its devices, staff sessions, window holds and login limit."""

    def __init__(self, engine: Engine, app_config: Mapping, *, session_key: str = SESSION_KEY) -> None:
        self.engine = engine
        self.config = engine.config
        self._app_config = app_config
        # where the session id sits in the signed cookie: "sid" for the only hall; "sid@<hall id>" when the process
        # serves several halls, so one browser may be signed in to two halls at once without mixing them
        self.session_key = session_key
        # a hold lives as long as the sessions that use it (each request extends it with its session)
        self.holds = WindowHolds(engine, self.config.security.idle_minutes * 60)
        self.login_limiter = LoginLimiter(engine)

    @property
    def sessions(self) -> StaffSessions:
        """The sessions, on real time (``SESSION_NOW_MS`` in the app config replaces the clock in tests)."""
        return StaffSessions(self.engine, self._app_config.get("SESSION_NOW_MS"))

    # ------------------------------------------------------------------------------------------- devices
    def device(self) -> MachineToken | None:
        """The registered device making this request (None: no ``Authorization``); 401 for an unknown token."""
        return self.device_from(request.environ)

    def device_from(self, environ: dict) -> MachineToken | None:
        """The registered device of the request with this WSGI environ (see :meth:`device`)."""
        return identify(self.config, environ.get("HTTP_AUTHORIZATION"))

    # ------------------------------------------------------------------------------------------- staff
    def check_credentials(self, username: str, password: str) -> Clerk:
        """The clerk for these credentials, or raise AuthenticationError (same message for any mistake). The hash
        runs off the event loop (:func:`shared.passwords.run_off_loop`): screens keep being served meanwhile."""
        clerk = self.config.clerks.get(username)
        ok = run_off_loop(check_password_hash, clerk.password_hash if clerk else _DUMMY_HASH, password)
        if not clerk or not ok:
            raise AuthenticationError("wrong username or password", code="bad_credentials")
        return clerk

    def session(self) -> StaffSession | None:
        """This request's live staff session (touched once per request), None without a session cookie; 401 when
        the cookie's session has ended (the cookie is cleared then)."""
        if "onewindow_session" in g:
            return g.onewindow_session
        sid = self.session_id()
        record = None
        if sid:
            try:
                record = self.sessions.touch(sid)
            except AuthenticationError:
                self.forget_session()
                raise
        g.onewindow_session = record
        return record

    def session_id(self) -> str | None:
        """This browser's session id for this hall (from the signed cookie), or None."""
        return session.get(self.session_key)

    def start_session(self, session_id: str) -> None:
        """Put a new session id in the cookie (a fresh cookie for the only hall; beside other halls' otherwise)."""
        self.forget_session()
        session.permanent = True
        session[self.session_key] = session_id

    def forget_session(self) -> None:
        """Take this hall's session id out of the cookie (another hall's sign-in in the same browser stays)."""
        if self.session_key == SESSION_KEY:
            session.clear()
        else:
            session.pop(self.session_key, None)

    def session_or_none(self) -> StaffSession | None:
        """:meth:`session`, with an ended session read as none (sign-in and sign-out start from either)."""
        try:
            return self.session()
        except AuthenticationError:
            return None

    def actor(self) -> Actor:
        """The actor of this request, or raise 401."""
        device = self.device()
        if device is not None:
            return Actor(id=f"token:{device.name}", name=device.name, role="machine", window=device.window,
                         kind=device.kind)
        record = self.session()
        if record is None:
            raise AuthenticationError("log in first", code="not_logged_in")
        clerk = self.config.clerks[record.clerk]  # the session script ended sessions of accounts no longer configured
        if request.method not in SAFE_METHODS:
            self.check_csrf(record)
        return Actor(id=clerk.username, name=clerk.name, role=clerk.role, window=record.window)

    @staticmethod
    def check_csrf(record: StaffSession) -> None:
        """The request must carry this session's CSRF token in ``X-CSRF-Token`` (403 ``csrf_failed`` otherwise)."""
        given = request.headers.get(CSRF_HEADER, "")
        if not record.csrf or not given or not hmac.compare_digest(record.csrf.encode(),
                                                                   given.encode("utf-8", "replace")):
            raise PermissionDeniedError(f"missing or wrong {CSRF_HEADER} header; reload the page", code="csrf_failed")

    def require_supervisor(self) -> Actor:
        """The actor, who must be a supervisor signed in with a session (403 ``not_supervisor``)."""
        actor = self.actor()
        if actor.role != "supervisor":
            raise PermissionDeniedError("only a supervisor may do this", code="not_supervisor")
        return actor

    def require_guide(self) -> Actor:
        """The actor, who must be a guide (导办) or a supervisor signed in with a session (403 ``not_guide``)."""
        actor = self.actor()
        if actor.role not in ("guide", "supervisor"):
            raise PermissionDeniedError("only a guide (导办) or a supervisor may do this", code="not_guide")
        return actor

    def require_window(self, view: Callable) -> Callable:
        """Decorate a ``/windows/<int:window>/…`` view: the actor must be a clerk session or a keypad bound to that
        window (a tablet or kiosk token never acts on a window); the view gets it as ``actor``."""

        @wraps(view)
        def wrapper(window: int, *args, **kwargs):
            actor = self.actor()
            if actor.role == "machine" and actor.kind != KEYPAD:
                raise PermissionDeniedError(f"a {actor.kind} token cannot act on a window", code="wrong_device")
            if actor.window != window:
                raise PermissionDeniedError(f"you are signed in to window {actor.window}, not window {window}",
                                            code="wrong_window")
            return view(window, *args, actor=actor, **kwargs)

        return wrapper



# ------------------------------------------------------------------------------------------------ city supervisors
CITY_ROLE = "city_supervisor"


class CityAuth:
    """The city supervisors of ``city.toml`` (:class:`onewindow.edge.City`): sign-in, sign-out and "who is this?"
    with server-side sessions exactly as for hall staff (:class:`shared.staff_sessions.StaffSessions`, CSRF token,
    login limiter, hashing off the serving loop), in the city's own key space ``ow:{city:<id>}``
    (:func:`shared.keys.city_tag`) and under their own key in the cookie (``city@<id>``): a city sign-in is no
    sign-in to any hall, and a hall's staff are no city supervisors."""

    def __init__(self, city, client, process_config, app_config: Mapping) -> None:
        from dataclasses import replace

        from shared.keys import city_tag

        self.city = city
        # the city's key space as an engine of its own (the sessions' and limiter's scripts run through its runner)
        self.engine = Engine(client, replace(process_config, hall_id=city_tag(city.id),
                                             clerks=dict(city.supervisors), tokens=()))
        self._app_config = app_config
        self.session_key = f"city@{city.id}"
        self.login_limiter = LoginLimiter(self.engine)

    @property
    def sessions(self) -> StaffSessions:
        return StaffSessions(self.engine, self._app_config.get("SESSION_NOW_MS"))

    def login(self, username: str, password: str) -> tuple[Clerk, str]:
        """Sign a city supervisor in (the limiter counts the attempt first; the hash runs off the loop); returns the
        supervisor and the session's CSRF token. AuthenticationError for any mistake, 429 past the limit."""
        address = request.remote_addr or "-"
        self.login_limiter.reserve(username, address)
        supervisor = self.city.supervisors.get(username)
        ok = run_off_loop(check_password_hash, supervisor.password_hash if supervisor else _DUMMY_HASH, password)
        if not supervisor or not ok:
            raise AuthenticationError("wrong username or password", code="bad_credentials")
        self.login_limiter.succeeded(username, address)
        previous = session.get(self.session_key)
        if previous:
            self.sessions.end(previous)
        session_id, record = self.sessions.create(supervisor, None, "")
        session.permanent = True
        session[self.session_key] = session_id
        return supervisor, record.csrf

    def session(self) -> StaffSession | None:
        """This browser's live city session (touched once per request), None without one; 401 when it ended."""
        if "onewindow_city_session" in g:
            return g.onewindow_city_session
        sid = session.get(self.session_key)
        record = None
        if sid:
            try:
                record = self.sessions.touch(sid)
            except AuthenticationError:
                session.pop(self.session_key, None)
                raise
        g.onewindow_city_session = record
        return record

    def logout(self) -> bool:
        """End this browser's city session on the server (CSRF checked); False when there was none."""
        try:
            record = self.session()
        except AuthenticationError:
            record = None
        if record is None:
            session.pop(self.session_key, None)
            return False
        StaffAuth.check_csrf(record)
        self.sessions.end(session[self.session_key])
        session.pop(self.session_key, None)
        return True

    def require_city_supervisor(self) -> Actor:
        """The city supervisor signed in with this browser (401 ``not_logged_in`` otherwise; a state change must
        carry the session's CSRF token)."""
        record = self.session()
        if record is None:
            raise AuthenticationError("sign in as a city supervisor first", code="not_logged_in")
        supervisor = self.city.supervisors[record.clerk]
        if request.method not in SAFE_METHODS:
            StaffAuth.check_csrf(record)
        return Actor(id=supervisor.username, name=supervisor.name, role=CITY_ROLE, window=None)
