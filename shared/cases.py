"""办不成事 (can't-get-it-done) cases: at a window serving the complaint service, the clerk records on the ticket what
blocked the citizen — the department, the problem, what was done — and whether it was resolved on the spot.

Storage (``HallKeys``): ``cases`` is a hash case id → case JSON; ``open_cases`` a sorted set of unresolved case ids
scored by the time they were opened; ``case_counter`` numbers the ids (``C000001`` …). Each record is a
``case_recorded`` event (``record_case.lua``). Resolving a case later belongs to the supervisor side: it updates
the case JSON, removes the id from ``open_cases`` and appends ``case_resolved``.
"""

from __future__ import annotations

import json
import logging

from shared.config import Config, Service
from shared.engine import Engine
from shared.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError

logger = logging.getLogger(__name__)

#: The configured service whose windows take 办不成事 cases. The one place this code is named.
COMPLAINT_SERVICE_CODE = "bubancheng"
FIELD_LIMITS = {"department": 64, "problem": 500, "action": 500}


def complaint_service(config: Config) -> Service | None:
    """The 办不成事 service of this hall, or None when the hall has none."""
    return config.services.get(COMPLAINT_SERVICE_CODE)


def is_complaint_window(config: Config, window: int) -> bool:
    """Does ``window`` serve the 办不成事 service (so its clerk records cases)?"""
    svc = complaint_service(config)
    w = config.windows.get(window)
    return bool(svc and w and svc.code in w.services)


def record_case(engine: Engine, window: int, clerk: str, *, department: str, problem: str, action: str = "",
                resolved: bool) -> dict:
    """Record a case on the window's current ticket (or the ticket it just finished today); returns the case."""
    if window not in engine.config.windows:
        raise NotFoundError(f"no window {window}", code="unknown_window")
    if not is_complaint_window(engine.config, window):
        raise PermissionDeniedError(f"window {window} does not serve the 办不成事 service", code="not_complaint_window")
    values = {"department": department, "problem": problem, "action": action}
    for name, value in values.items():
        if not isinstance(value, str):
            raise ValidationError(f"'{name}' has the wrong type", code="wrong_type", field=name)
        values[name] = value.strip()
        if len(values[name]) > FIELD_LIMITS[name]:
            raise ValidationError(f"'{name}' is longer than {FIELD_LIMITS[name]} characters", code="invalid_value",
                                  field=name)
    for name in ("department", "problem"):
        if not values[name]:
            raise ValidationError(f"'{name}' must not be empty", code="missing_field", field=name)
    if not isinstance(resolved, bool):
        raise ValidationError("'resolved' must be true or false", code="wrong_type", field="resolved")
    day = engine.today()
    keys = [engine.keys.seq, engine.keys.events, engine.keys.window(window), engine.keys.tickets(day),
            engine.keys.cases, engine.keys.open_cases, engine.keys.case_counter]
    body = json.dumps({**values, "resolved": resolved}, ensure_ascii=False)
    r = engine.scripts.run("record_case", keys, [window, engine.clock.now_ms(), clerk, body, day],
                           {"no_ticket": ConflictError})
    case = r["case"]
    logger.info("case %s recorded on %s at window %s (resolved=%s)", case["id"], case["ticket"], window, resolved)
    return case


def get_case(engine: Engine, case_id: str) -> dict:
    raw = engine.redis.hget(engine.keys.cases, case_id)
    if not raw:
        raise NotFoundError("no such case", code="not_found")
    return json.loads(raw)


def list_cases(engine: Engine, *, open_only: bool = False) -> list[dict]:
    """Cases oldest first; ``open_only`` lists the unresolved ones (the follow-up list)."""
    if open_only:
        ids = engine.redis.zrange(engine.keys.open_cases, 0, -1)
        raws = engine.redis.hmget(engine.keys.cases, ids) if ids else []
    else:
        raws = list(engine.redis.hgetall(engine.keys.cases).values())
    cases = [json.loads(r) for r in raws if r]
    return sorted(cases, key=lambda c: (c.get("opened_ms", 0), c["id"]))
