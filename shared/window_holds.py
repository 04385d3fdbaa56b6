"""One clerk per window: signing in to a window takes its hold (``HallKeys.window_holder``: who, since when, a random
hold id that the session also keeps), in one script (``hold_window.lua``). Another clerk is refused with
``window_held`` until the holder signs out, the hold expires with the session, or a supervisor releases it. The same
clerk signing in again keeps the hold. A session whose hold id no longer matches (released, expired) is no longer
accepted for that window (:mod:`shared.staff_sessions`).
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.errors import ConflictError, NotFoundError

if TYPE_CHECKING:
    from shared.engine import Engine

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
