"""Staff sessions on the server: the signed cookie carries only a random session id; the record (clerk, role, window,
hold id, CSRF token, a fingerprint of the password hash, created/expires) is in Redis under the id's SHA-256, with a
TTL of the idle timeout. Every request touches it in one script (``staff_session.lua``) that ends it on logout,
expiry, a changed password or a released window (:mod:`shared.window_holds`).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Callable

from shared.engine import Engine
from shared.errors import AuthenticationError


@dataclass(frozen=True)
class StaffSession:
    """A live staff session (its id is in the signed cookie; this record is in Redis)."""

    clerk: str
    role: str
    window: int | None
    hold: str
    csrf: str
    created_ms: int
    expires_ms: int


_ENDED_MESSAGES = {
    "unknown": ("not_logged_in", "your session has ended (signed out, or unused too long); log in again"),
    "expired": ("session_expired", "the session has expired; log in again"),
    "password_changed": ("session_revoked", "this account was changed since you signed in; log in again"),
    "window_released": ("window_released", "your sign-in to this window has ended (signed out, released by a "
                                           "supervisor or expired); log in again"),
}


def password_fingerprint(password_hash: str) -> str:
    """A short digest of a password hash: a session remembers it, so a changed password ends the session."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


class StaffSessions:
    """Server-side staff sessions (``staff_session.lua``): every role; ended by logout, a supervisor releasing the
    window, a changed password, the idle timeout or the absolute life — at once, on the next request."""

    def __init__(self, engine: Engine, now_ms: Callable[[], int] | None = None) -> None:
        self.engine = engine
        # real time, not the hall's clock: a session's life is elapsed time (tests move the hall's clock by days)
        self.now_ms = now_ms or (lambda: int(time.time() * 1000))
        s = engine.config.security
        self.life_ms = int(s.session_hours * 3600 * 1000)
        self.idle_ms = s.idle_minutes * 60 * 1000

    def _key(self, session_id: str) -> str:
        return self.engine.keys.session(hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest())

    def _run(self, session_id: str, window: int | None, args: list) -> dict:
        holder = self.engine.keys.window_holder(window) if window is not None else self.engine.keys.seq
        return self.engine.runner.run("staff_session", [self._key(session_id), holder], args)

    def create(self, clerk, window: int | None, hold_id: str) -> tuple[str, StaffSession]:
        """A new session for ``clerk`` (a config Clerk); returns its id (for the cookie only) and the record."""
        session_id = secrets.token_urlsafe(32)
        now = self.now_ms()
        record = StaffSession(clerk=clerk.username, role=clerk.role, window=window, hold=hold_id or "",
                              csrf=secrets.token_urlsafe(32), created_ms=now, expires_ms=now + self.life_ms)
        payload = {**record.__dict__, "pw": password_fingerprint(clerk.password_hash)}
        self._run(session_id, window, ["create", now, json.dumps(payload), self.idle_ms])
        return session_id, record

    def touch(self, session_id: str) -> StaffSession:
        """The live session for ``session_id`` (extended by the idle time), or raise :class:`AuthenticationError`
        saying why it ended (it is deleted then)."""
        record = self._peek(session_id)
        accounts = {c.username: password_fingerprint(c.password_hash) for c in self.engine.config.clerks.values()}
        r = self._run(session_id, record.get("window") if record else None,
                      ["touch", self.now_ms(), json.dumps(accounts), self.idle_ms])
        if not r["valid"]:
            code, message = _ENDED_MESSAGES.get(r["reason"], _ENDED_MESSAGES["unknown"])
            raise AuthenticationError(message, code=code)
        s = r["session"]
        return StaffSession(clerk=s["clerk"], role=s["role"], window=s.get("window"), hold=s.get("hold", ""),
                            csrf=s["csrf"], created_ms=s["created_ms"], expires_ms=s["expires_ms"])

    def _peek(self, session_id: str) -> dict | None:
        """The record as stored (only to name the window's holder key: a session's window never changes)."""
        raw = self.engine.redis.get(self._key(session_id))
        return json.loads(raw) if raw else None

    def end(self, session_id: str) -> bool:
        """End a session (logout, a new sign-in from the same browser); False when it had already ended."""
        r = self._run(session_id, None, ["end", self.now_ms()])
        return bool(r["ended"])
