"""办不成事 (can't-get-it-done) cases: at a window serving the complaint service, the clerk records on the ticket what
blocked the citizen — the department, the problem, what was done — and whether it was resolved on the spot.

Storage (``HallKeys``): ``cases`` is a hash case id → case JSON; ``open_cases`` a sorted set of unresolved case ids
scored by the time they were opened; ``case_counter`` numbers the ids (``C000001`` …). Each record is a
``case_recorded`` event (``record_case.lua``). Resolving a case later belongs to the supervisor side: it updates
the case JSON, removes the id from ``open_cases`` and appends ``case_resolved``.

A case may carry the citizen's **contact** (name and/or phone, both optional) for the call-back: kept on the case
and on its rectification record, shown masked (``王*``, ``138****5678``) in every view but a supervisor's
(``reveal=True``), and only masked on the event stream. Every case opens a **rectification record**
(:mod:`shared.rectification`) in the same step, with its deadlines on the hall's calendar.
"""

from __future__ import annotations

import json
import logging

from shared.config import Config, Service
from shared.engine import Engine
from shared.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from shared.privacy import make_contact, mask_contact
from shared.rectification import plan_deadlines
from shared.runner import RetryScript

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
                resolved: bool, contact_name: str = "", contact_phone: str = "") -> dict:
    """Record a case on the window's current ticket (or the ticket it just finished today); returns the case (its
    contact masked; ``rectification`` = the id of the record it opened). ValidationError for a bad field or phone,
    ConflictError ``no_ticket``, PermissionDeniedError ``not_complaint_window``."""
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
    contact = make_contact(contact_name, contact_phone, prefix="contact_")
    k = engine.keys
    keys = [k.window(window), None, k.cases, k.open_cases, k.case_counter, k.rectifications, k.open_rectifications,
            k.rectification_counter, k.schedule]
    body = json.dumps({**values, "resolved": resolved}, ensure_ascii=False)
    for _attempt in range(5):
        now = engine.clock.now()
        day = engine.today()
        keys[1] = k.tickets(day)
        deadlines, calendar = plan_deadlines(engine, now)
        args = [window, int(now.timestamp() * 1000), clerk, body, day, json.dumps(contact, ensure_ascii=False),
                json.dumps(mask_contact(contact), ensure_ascii=False), json.dumps(deadlines),
                json.dumps(calendar, ensure_ascii=False)]
        try:
            r = engine.runner.run("record_case", keys, args, {"no_ticket": ConflictError})
            break
        except RetryScript:  # the calendar the deadlines were counted on changed meanwhile
            engine.rota.invalidate()
    else:
        raise ConflictError("the calendar keeps changing; try again", code="busy")
    case = r["case"]
    logger.info("case %s recorded on %s at window %s (resolved=%s)", case["id"], case["ticket"], window, resolved)
    return case_view(case)


def case_view(case: dict, *, reveal: bool = False) -> dict:
    """A case as the API shows it: the contact masked unless ``reveal`` (supervisors only)."""
    out = dict(case)
    if "contact" in out:
        out["contact"] = dict(out["contact"]) if reveal else mask_contact(out["contact"])
    return out


def get_case(engine: Engine, case_id: str, *, reveal: bool = False) -> dict:
    raw = engine.redis.hget(engine.keys.cases, case_id)
    if not raw:
        raise NotFoundError("no such case", code="not_found")
    return case_view(json.loads(raw), reveal=reveal)


def list_cases(engine: Engine, *, open_only: bool = False, reveal: bool = False) -> list[dict]:
    """Cases oldest first; ``open_only`` lists the unresolved ones (the follow-up list); contacts masked unless
    ``reveal``."""
    if open_only:
        ids = engine.redis.zrange(engine.keys.open_cases, 0, -1)
        raws = engine.redis.hmget(engine.keys.cases, ids) if ids else []
    else:
        raws = list(engine.redis.hgetall(engine.keys.cases).values())
    cases = [case_view(json.loads(r), reveal=reveal) for r in raws if r]
    return sorted(cases, key=lambda c: (c.get("opened_ms", 0), c["id"]))
