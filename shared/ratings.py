"""好差评: the citizen's rating of the ticket just finished at a window, from the evaluation device.

A rating is accepted only for the window's last finished ticket (``last_finished`` in the window hash, set when the
clerk finishes), only within ``[counter] rating_seconds`` of the finish, and only once (``rate_ticket.lua``). Each
accepted rating is a ``ticket_rated`` event; levels up to :data:`FOLLOW_UP_MAX_LEVEL` are flagged ``follow_up``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from shared.engine import TICKET_ID, Engine
from shared.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Level:
    value: int
    label: str
    label_en: str


#: The five levels, best first (5 = 非常满意 … 1 = 非常不满意).
LEVELS: tuple[Level, ...] = (
    Level(5, "非常满意", "Very satisfied"),
    Level(4, "满意", "Satisfied"),
    Level(3, "基本满意", "Fairly satisfied"),
    Level(2, "不满意", "Dissatisfied"),
    Level(1, "非常不满意", "Very dissatisfied"),
)
LEVEL_BY_VALUE = {lv.value: lv for lv in LEVELS}
FOLLOW_UP_MAX_LEVEL = 2  # 不满意 and 非常不满意 are followed up

_ERRORS = {"already_rated": ConflictError, "not_last_finished": ConflictError, "rating_closed": ConflictError,
           "wrong_token": PermissionDeniedError}


def levels_view() -> list[dict]:
    return [{"level": lv.value, "label": lv.label, "label_en": lv.label_en} for lv in LEVELS]


def rate(engine: Engine, window: int, ticket_id: str, level: int, *, tracking_token: str = "") -> dict:
    """Record a rating; returns ``{"ticket": public ticket, "level", "label", "follow_up"}``.

    The caller has authenticated the window's tablet, or passes the holder's ``tracking_token``, which must belong
    to ``ticket_id`` (checked in the script: PermissionDeniedError ``wrong_token``). Raises ConflictError
    ``already_rated`` / ``not_last_finished`` / ``rating_closed``, ValidationError for a level outside 1..5,
    NotFoundError for an unknown window.
    """
    if window not in engine.config.windows:
        raise NotFoundError(f"no window {window}", code="unknown_window")
    lv = LEVEL_BY_VALUE.get(level) if isinstance(level, int) and not isinstance(level, bool) else None
    if lv is None:
        raise ValidationError("level must be 1 (非常不满意) … 5 (非常满意)", code="invalid_value", field="level")
    m = TICKET_ID.fullmatch(ticket_id or "")
    if not m:
        raise ConflictError(f"only the ticket just finished at window {window} can be rated", code="not_last_finished")
    keys = [engine.keys.seq, engine.keys.events, engine.keys.window(window), engine.keys.tickets(m.group(1)),
            engine.keys.tokens(m.group(1))]
    args = [window, engine.clock.now_ms(), ticket_id, lv.value, lv.label,
            engine.config.counter.rating_seconds * 1000, FOLLOW_UP_MAX_LEVEL, tracking_token]
    r = engine.scripts.run("rate_ticket", keys, args, _ERRORS)
    logger.info("ticket %s rated %s at window %s (%s)", ticket_id, lv.value, window,
                "phone" if tracking_token else "tablet")
    return {"ticket": engine.public_ticket(r["ticket"]), "level": lv.value, "label": lv.label,
            "label_en": lv.label_en, "follow_up": bool(r["follow_up"])}


def open_rating(engine: Engine, window: int) -> dict | None:
    """The rating the device at ``window`` should offer now: the last finished ticket, unrated, within time."""
    if window not in engine.config.windows:
        raise NotFoundError(f"no window {window}", code="unknown_window")
    last, last_ms = engine.redis.hmget(engine.keys.window(window), ["last_finished", "last_finished_ms"])
    m = TICKET_ID.fullmatch(last or "")
    if not m or not last_ms:
        return None
    limit_ms = engine.config.counter.rating_seconds * 1000
    left_ms = limit_ms - (engine.clock.now_ms() - int(last_ms))
    if left_ms <= 0:
        return None
    raw = engine.redis.hget(engine.keys.tickets(m.group(1)), last)
    if not raw:
        return None
    t = json.loads(raw)
    if t.get("rating"):
        return None
    svc = engine.config.services.get(t["service"])
    return {"ticket_id": t["id"], "number": t["number"], "service": t["service"],
            "service_name": svc.name if svc else t["service"], "service_name_en": svc.name_en if svc else "",
            "seconds_left": round(left_ms / 1000, 1), "rating_seconds": engine.config.counter.rating_seconds}
