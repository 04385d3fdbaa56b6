"""Help requests: the kiosk's "需要帮助" button calls the supervisor / floor guide (导办) to the kiosk.

Storage (``HallKeys``): ``help_open`` is a hash kiosk id → its open request (JSON ``{id, kiosk, at, at_ms}``);
``help_last`` a hash kiosk id → when it last asked (ms); ``help_counter`` numbers the ids (``H000001`` …).

* :func:`request_help` (``help_request.lua``) opens a request and appends ``help_requested`` {kiosk, request, at} —
  once per operation (the runner's exactly-once epilogue: a kiosk resending its tap gets the same answer). A kiosk
  with an open request gets that request back and nothing new happens; a kiosk that asked less than
  :data:`MIN_INTERVAL_SECONDS` ago (its request handled meanwhile) is refused (``429 rate_limited``): a kiosk cannot
  spam the desk.
* :func:`handle_help` (``help_handle.lua``): a supervisor marks the request handled; it leaves the open set and
  ``help_handled`` {kiosk, request, by, waited_s} is appended. A request that is not open is ``409 not_open``.
* :func:`open_help_requests`: what the supervisor's overview shows as alerts (kind ``help``).

Statistics count ``help_requested`` per business day (``help_requests`` in reports and CSV).
"""

from __future__ import annotations

import json
import logging

from shared.engine import Engine
from shared.errors import ConflictError, RateLimitedError

logger = logging.getLogger(__name__)

#: The least time between two help requests of one kiosk (after the first was handled).
MIN_INTERVAL_SECONDS = 60


def request_help(engine: Engine, kiosk: str) -> dict:
    """Open a help request for ``kiosk`` (or answer its open one): ``{"request", "created"}``. RateLimitedError
    ``rate_limited`` (``details.retry_after`` seconds) when the kiosk asked less than the minimum interval ago."""
    now = engine.clock.now()
    r = engine.runner.run("help_request", [engine.keys.help_open, engine.keys.help_last, engine.keys.help_counter],
                          [kiosk, int(now.timestamp() * 1000), MIN_INTERVAL_SECONDS * 1000,
                           now.astimezone(engine.config.timezone).isoformat(timespec="seconds")])
    if not isinstance(r.get("request"), dict):
        retry = int(r.get("retry_after") or 1)
        raise RateLimitedError(f"已通知工作人员，请 {retry} 秒后再按 / Staff were called a moment ago; try again in "
                               f"{retry} seconds", code="rate_limited", retry_after=retry)
    if r["created"]:
        logger.info("kiosk %s asked for help (%s)", kiosk, r["request"]["id"])
    return {"request": r["request"], "created": bool(r["created"])}


def handle_help(engine: Engine, kiosk: str, request_id: str, *, by: str) -> dict:
    """Mark ``kiosk``'s open help request ``request_id`` handled by ``by``; returns the request (with
    ``handled_by``, ``handled_ms``, ``waited_s``). ConflictError ``not_open`` when it is not open."""
    r = engine.runner.run("help_handle", [engine.keys.help_open], [kiosk, request_id, engine.clock.now_ms(), by],
                          {"not_open": ConflictError})
    return r["request"]


def open_help_requests(engine: Engine) -> list[dict]:
    """The open help requests, oldest first: ``[{"kiosk", "request", "at", "waiting_s"}]``."""
    now_ms = engine.clock.now_ms()
    out = []
    for raw in engine.redis.hvals(engine.keys.help_open):
        try:
            r = json.loads(raw)
            out.append({"kiosk": r["kiosk"], "request": r["id"], "at": r["at"],
                        "waiting_s": max(0, (now_ms - int(r["at_ms"])) // 1000)})
        except (ValueError, KeyError, TypeError):
            continue
    return sorted(out, key=lambda r: r["waiting_s"], reverse=True)
