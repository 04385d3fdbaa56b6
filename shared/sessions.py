"""Staff sign-in rules that live in Redis: one clerk per window, the login rate limit, and the sessions themselves.

Each is a read-decide-write step, so each is one Lua script (``hold_window.lua``, ``login_limit.lua``,
``staff_session.lua``):

* **Window holds.** Signing in to a window takes its hold (``HallKeys.window_holder``: who, since when, a random
  hold id that the session also keeps). Another clerk is refused with ``window_held`` until the holder signs out,
  the hold expires with the session, or a supervisor releases it. The same clerk signing in again keeps the hold.
  A session whose hold id no longer matches (released, expired) is no longer accepted for that window.
* **Login rate limit.** Attempts are reserved *before* the password is checked, per username + client address and
  per address, in a fixed window that starts at the first attempt; past ``[security] login_attempts`` (or
  ``login_attempts_per_address``) the next attempts are refused with 429 until the window ends. A success clears the
  pair's count and gives the address's attempt back.
* **Sessions.** The signed cookie carries only a random session id; the record (clerk, role, window, hold id, CSRF
  token, a fingerprint of the password hash, created/expires) is in Redis under the id's SHA-256, with a TTL of the
  idle timeout. Every request touches it in one script that ends it on logout, expiry, a changed password or a
  released window.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import secrets
import time
from dataclasses import dataclass
from typing import Callable

from shared.engine import Engine
from shared.errors import AuthenticationError, ConflictError, NotFoundError, RateLimitedError
from shared.limits import address_digest

logger = logging.getLogger(__name__)


class WindowHeldError(ConflictError):
    """Another clerk is signed in to this window."""

    code = "window_held"


@dataclass(frozen=True)
class Hold:
    """A clerk's hold on a window; ``hold_id`` goes into the session and never leaves the server otherwise."""

    window: int
    clerk: str
    name: str
    hold_id: str
    new: bool


def public_holder(record: dict) -> dict:
    """A holder as other people may see it (no hold id)."""
    return {"window": record.get("window"), "clerk": record.get("clerk"), "name": record.get("name"),
            "since_ms": record.get("since_ms")}


class WindowHolds:
    """Who is signed in to which window."""

    def __init__(self, engine: Engine, ttl_seconds: float) -> None:
        self.engine = engine
        self.ttl_ms = max(1000, int(ttl_seconds * 1000))

    def _run(self, window: int, args: list) -> dict:
        return self.engine.runner.run("hold_window", [self.engine.keys.window_holder(window)], args)

    def _check_window(self, window: int) -> None:
        if window not in self.engine.config.windows:
            raise NotFoundError(f"no window {window}", code="unknown_window")

    def hold(self, window: int, clerk: str, name: str) -> Hold:
        """Take ``window`` for ``clerk`` (or refresh the clerk's own hold); raise :class:`WindowHeldError`."""
        self._check_window(window)
        r = self._run(window, ["hold", window, self.engine.clock.now_ms(), clerk, name, secrets.token_urlsafe(18),
                               self.ttl_ms, ""])
        if not r["held"]:
            other = public_holder(r["holder"])
            raise WindowHeldError(f"window {window} is in use by {other['name']} ({other['clerk']}); "
                                  "ask them to sign out or a supervisor to release it", holder=other)
        if r["new"]:
            logger.info("clerk %s signed in to window %s", clerk, window)
        return Hold(window, clerk, name, r["hold_id"], bool(r["new"]))

    def release(self, window: int, hold_id: str) -> bool:
        """Give back a hold the caller owns (sign-out); False when it was no longer theirs."""
        if window not in self.engine.config.windows or not hold_id:
            return False
        r = self._run(window, ["release", window, self.engine.clock.now_ms(), "", "", hold_id, 0, ""])
        return bool(r["released"])

    def force_release(self, window: int, by: str) -> dict:
        """A supervisor ends whoever holds ``window``; returns the former holder."""
        self._check_window(window)
        r = self._run(window, ["force_release", window, self.engine.clock.now_ms(), "", "", "", 0, by])
        if not r["released"]:
            raise ConflictError(f"nobody is signed in to window {window}", code="window_not_held")
        holder = public_holder(r["holder"])
        logger.info("supervisor %s released window %s (held by %s)", by, window, holder["clerk"])
        return holder

    def _record(self, window: int) -> dict | None:
        raw = self.engine.redis.get(self.engine.keys.window_holder(window))
        return json.loads(raw) if raw else None

    def holder(self, window: int) -> dict | None:
        """Who holds ``window`` (public view), or None."""
        record = self._record(window)
        return public_holder(record) if record else None

    def holders(self) -> dict[int, dict | None]:
        """Every window → its holder (public view) or None."""
        numbers = sorted(self.engine.config.windows)
        raws = self.engine.redis.mget([self.engine.keys.window_holder(n) for n in numbers])
        return {n: public_holder(json.loads(raw)) if raw else None for n, raw in zip(numbers, raws)}


class LoginLimiter:
    """Login attempts per username + address and per address (``login_limit.lua``): an attempt is *reserved* before
    the password is checked, so attempts sent at once cannot slip past the count; a success clears the pair's
    attempts and gives the address's back."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        s = engine.config.security
        self.max_attempts = s.login_attempts
        self.max_per_address = s.login_attempts_per_address
        self.window_ms = s.login_window_seconds * 1000

    def _run(self, op: str, username: str, address: str) -> dict:
        pair = address_digest(f"{username.strip().lower()}\x00{address}", "login")
        keys = [self.engine.keys.login_attempts(pair),
                self.engine.keys.login_attempts(address_digest(address, "login-address"))]
        return self.engine.runner.run("login_limit", keys, [op, self.max_attempts, self.max_per_address,
                                                             self.window_ms])

    def reserve(self, username: str, address: str) -> None:
        """Count one attempt now, or raise :class:`RateLimitedError` (``retry_after`` seconds) without counting."""
        r = self._run("reserve", username, address)
        if r["limited"]:
            retry = max(1, math.ceil(r["retry_ms"] / 1000))
            logger.warning("login attempts refused for a while (too many from one address or for one account)")
            raise RateLimitedError(f"too many login attempts; try again in {retry} seconds / 登录尝试次数过多，请 "
                                   f"{retry} 秒后再试", code="rate_limited", retry_after=retry)

    def succeeded(self, username: str, address: str) -> None:
        self._run("succeeded", username, address)


# ------------------------------------------------------------------------------------------------ staff sessions
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
