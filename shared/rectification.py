"""The 差评 workflow (差评整改): every 不满意 / 非常不满意 rating and every 办不成事 case opens a rectification record,
in the same Lua step as the rating or the case, with a deadline for each step counted in **working days on the
hall's own calendar** (config holidays and 调休, the supervisor's entries; :func:`shared.schedule.add_working_days`).

Steps, in order, each once: **verify** (核实), **rectify** (整改), **reply** (答复 — closes the record). Deadlines are
``[haocaiping.deadlines]`` working days after the day the record opened (Shanghai's "1、5、15" by default) and are
fixed when it opens; a step done on or before its deadline's date is on time. **Call-backs** (回访) are logged with
their outcome, any number of times, before or after the reply. **申诉复核**: the clerk who served the visit may appeal a
差评 as mistaken or malicious (once, while open); a supervisor other than the appellant rules — upheld, the record is
*invalid*: closed, out of 满意率 and 差评数, kept with its whole history (audit trail); rejected, the workflow goes on.

Every change is one Lua script through the runner, with its event (``rectification_opened``,
``rectification_step_completed``, ``callback_logged``, ``appeal_filed``, ``appeal_ruled``). Records stay in Redis
(``HallKeys.rectifications``; a hall has a few per week); views mask the citizen's contact unless ``reveal=True``
(supervisors only — the edge decides who may see it).

Also here: the older one-step follow-ups the supervisor page still uses (:func:`resolve_case`,
:func:`follow_up_rating`; ``case_resolved`` / ``rating_followed_up``).
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, timedelta

from shared.config import Deadlines
from shared.engine import TICKET_ID, Engine
from shared.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from shared.privacy import mask_contact
from shared.schedule import add_working_days

logger = logging.getLogger(__name__)

STEPS = ("verify", "rectify", "reply")
STEP_LABELS = {"verify": ("核实", "Verify"), "rectify": ("整改", "Rectify"), "reply": ("答复", "Reply")}
STATES = ("open", "closed", "invalid")
CALLBACK_OUTCOMES = ("satisfied", "unsatisfied", "unreachable", "declined")  # 回访满意 / 不满意 / 未接通 / 拒绝回访
REACHED_OUTCOMES = ("satisfied", "unsatisfied", "declined")  # a call-back that reached the citizen
APPEAL_GROUNDS = ("mistaken", "malicious")  # 误评 / 恶意差评
NOTE_MAX = 500
RECORD_ID_MAX = 16

_ERRORS = {
    "not_found": NotFoundError, "not_open": ConflictError, "appeal_pending": ConflictError,
    "step_done": ConflictError, "step_out_of_order": ConflictError, "appeal_not_allowed": ConflictError,
    "already_appealed": ConflictError, "no_pending_appeal": ConflictError,
    "not_your_rating": PermissionDeniedError, "own_appeal": PermissionDeniedError,
}


# --------------------------------------------------------------------------------------------- deadlines
def deadlines_from(engine: Engine, start: date, deadlines: Deadlines | None = None, overrides=None) -> dict[str, date]:
    """The date of each step's deadline for a record opened on ``start``."""
    d = deadlines or engine.config.haocaiping.deadlines
    ov = engine.rota.overrides() if overrides is None else overrides
    return {step: add_working_days(engine.config, start, n, ov) for step, n in d.as_dict().items()}


def plan_deadlines(engine: Engine, now: datetime) -> tuple[dict[str, str], dict[str, str]]:
    """For a record opening at ``now``: (step → deadline ISO date, the calendar entries it was counted on). The
    script that opens the record compares those entries with the calendar as it is then and answers ``retry`` if
    one changed, so a deadline is never counted on a calendar a supervisor just changed."""
    calendar = engine.rota.calendar()
    start = now.date()
    dates = deadlines_from(engine, start, overrides=calendar.overrides)
    last = max(dates.values())
    seen = {}
    day = start + timedelta(days=1)
    while day <= last:
        seen[day.isoformat()] = calendar.stored_entry(day)
        day += timedelta(days=1)
    return {k: v.isoformat() for k, v in dates.items()}, seen


# --------------------------------------------------------------------------------------------- input
def _note(note, name: str = "note", *, required: bool = False) -> str:
    if note is None:
        note = ""
    if not isinstance(note, str):
        raise ValidationError(f"'{name}' must be text", code="wrong_type", field=name)
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise ValidationError(f"'{name}' is longer than {NOTE_MAX} characters", code="invalid_value", field=name)
    if required and not note:
        raise ValidationError(f"'{name}' must not be empty", code="missing_field", field=name)
    return note


def _record_id(record_id) -> str:
    if not isinstance(record_id, str) or not record_id or len(record_id) > RECORD_ID_MAX:
        raise NotFoundError("no such rectification record", code="not_found")
    return record_id


def _who(by) -> str:
    if not isinstance(by, str) or not by.strip():
        raise ValidationError("who acts must be named", code="missing_field", field="by")
    return by.strip()


def _run(engine: Engine, script: str, keys: list[str], args: list) -> dict:
    return engine.runner.run(script, keys, args, _ERRORS)


# --------------------------------------------------------------------------------------------- the workflow
def complete_step(engine: Engine, record_id: str, step: str, *, by: str, note: str = "") -> dict:
    """Mark ``step`` (verify | rectify | reply) of a record done; returns the record's view (contact masked).

    ValidationError (unknown step, note), NotFoundError, ConflictError ``not_open`` / ``appeal_pending`` /
    ``step_done`` / ``step_out_of_order``. Event ``rectification_step_completed {ref, step, by, note, on_time, due,
    state}``."""
    if step not in STEPS:
        raise ValidationError(f"'step' must be one of: {', '.join(STEPS)}", code="invalid_value", field="step")
    rid, who, text = _record_id(record_id), _who(by), _note(note)
    today = engine.clock.business_date().isoformat()
    r = _run(engine, "rectification_step", [engine.keys.rectifications, engine.keys.open_rectifications],
             [rid, step, engine.clock.now_ms(), today, who, text])
    logger.info("rectification %s: %s done by %s", rid, step, who)
    return record_view(engine, r["rectification"])


def log_callback(engine: Engine, record_id: str, *, by: str, outcome: str, note: str = "") -> dict:
    """Log a call-back (回访) and its outcome (satisfied | unsatisfied | unreachable | declined); returns the view.

    NotFoundError, ConflictError ``not_open`` (ruled invalid). Event ``callback_logged {ref, by, outcome, note}``."""
    if outcome not in CALLBACK_OUTCOMES:
        raise ValidationError(f"'outcome' must be one of: {', '.join(CALLBACK_OUTCOMES)}", code="invalid_value",
                              field="outcome")
    rid, who, text = _record_id(record_id), _who(by), _note(note)
    r = _run(engine, "rectification_callback", [engine.keys.rectifications],
             [rid, engine.clock.now_ms(), who, outcome, text])
    logger.info("rectification %s: call-back by %s (%s)", rid, who, outcome)
    return record_view(engine, r["rectification"])


def file_appeal(engine: Engine, record_id: str, *, clerk: str, grounds: str, reason: str) -> dict:
    """申诉: the clerk who served the rated visit appeals its 差评 as ``mistaken`` or ``malicious`` (a reason is
    required). PermissionDeniedError ``not_your_rating``; ConflictError ``appeal_not_allowed`` (a case),
    ``not_open``, ``already_appealed``. Event ``appeal_filed {ref, by, grounds, reason}``."""
    if grounds not in APPEAL_GROUNDS:
        raise ValidationError(f"'grounds' must be one of: {', '.join(APPEAL_GROUNDS)}", code="invalid_value",
                              field="grounds")
    rid, who, text = _record_id(record_id), _who(clerk), _note(reason, "reason", required=True)
    r = _run(engine, "rectification_appeal", [engine.keys.rectifications, engine.keys.open_rectifications],
             ["file", rid, engine.clock.now_ms(), who, grounds, text])
    logger.info("rectification %s: appeal filed by %s (%s)", rid, who, grounds)
    return record_view(engine, r["rectification"])


def rule_appeal(engine: Engine, record_id: str, *, by: str, upheld: bool, note: str = "") -> dict:
    """复核: a supervisor rules on the pending appeal. ``upheld`` → the record is invalid (the 差评 leaves 满意率 and
    差评数, its history stays). ConflictError ``no_pending_appeal``, PermissionDeniedError ``own_appeal``. Event
    ``appeal_ruled {ref, by, upheld, note, rating: {id, day, level, assess, window, clerk, service, matter_code}}``."""
    if not isinstance(upheld, bool):
        raise ValidationError("'upheld' must be true or false", code="wrong_type", field="upheld")
    rid, who, text = _record_id(record_id), _who(by), _note(note)
    r = _run(engine, "rectification_appeal", [engine.keys.rectifications, engine.keys.open_rectifications],
             ["rule", rid, engine.clock.now_ms(), who, "1" if upheld else "0", text])
    logger.info("rectification %s: appeal %s by %s", rid, "upheld" if upheld else "rejected", who)
    return record_view(engine, r["rectification"])


# --------------------------------------------------------------------------------------------- reading
def _load(engine: Engine, ids: list[str]) -> list[dict]:
    if not ids:
        return []
    return [json.loads(raw) for raw in engine.redis.hmget(engine.keys.rectifications, ids) if raw]


def get_record(engine: Engine, record_id: str, *, reveal: bool = False) -> dict:
    """One record's view; ``reveal=True`` shows the contact in clear (supervisors only)."""
    raw = engine.redis.hget(engine.keys.rectifications, _record_id(record_id))
    if not raw:
        raise NotFoundError("no such rectification record", code="not_found")
    return record_view(engine, json.loads(raw), reveal=reveal)


def list_records(engine: Engine, *, state: str = "open", overdue_only: bool = False, reveal: bool = False,
                 limit: int = 500) -> list[dict]:
    """Records of one state (open | closed | invalid | all), oldest first; ``overdue_only`` keeps the open ones with
    a step past its deadline."""
    if state not in (*STATES, "all"):
        raise ValidationError("'state' must be open, closed, invalid or all", code="invalid_value", field="state")
    if state == "open":
        records = _load(engine, engine.redis.zrange(engine.keys.open_rectifications, 0, -1))
    else:
        records = [json.loads(raw) for raw in engine.redis.hgetall(engine.keys.rectifications).values()]
        if state != "all":
            records = [r for r in records if r.get("state") == state]
    views = [record_view(engine, r, reveal=reveal) for r in records]
    if overdue_only:
        views = [v for v in views if v["overdue"]]
    views.sort(key=lambda v: (v["opened_ms"], v["id"]))
    return views[:limit]


def overdue(engine: Engine) -> list[dict]:
    """Open records with a step past its deadline (for the supervisor's alerts), most overdue first."""
    views = list_records(engine, state="open", overdue_only=True)
    return sorted(views, key=lambda v: min(s["due"] for s in v["steps"] if s["overdue"]))


def record_view(engine: Engine, r: dict, *, reveal: bool = False, today: date | None = None) -> dict:
    """A record as the API shows it: ``id``, ``kind`` (rating | case), ``ref`` (rating id | case id), ``state``,
    ``ticket`` {id, day, number, service}, ``window``, ``clerk``, ``service``, ``matter``, ``level``, ``assess``,
    ``options``, ``text``, ``problem`` / ``department`` (cases), ``contact`` (masked unless ``reveal``),
    ``has_contact``, ``steps`` [{step, label, due, done, at_ms, by, note, on_time, overdue}], ``next_step``,
    ``overdue``, ``callbacks`` [...], ``called_back``, ``appeal``, ``opened_ms``, ``closed_ms``."""
    today = today or engine.clock.business_date()
    done = r.get("steps") if isinstance(r.get("steps"), dict) else {}
    deadlines = r.get("deadlines") or {}
    steps, next_step, late = [], None, False
    for step in STEPS:
        s = done.get(step)
        due = deadlines.get(step)
        is_overdue = s is None and r.get("state") == "open" and due is not None and today.isoformat() > due
        late = late or is_overdue
        if s is None and next_step is None and r.get("state") == "open":
            next_step = step
        steps.append({"step": step, "label": STEP_LABELS[step][0], "label_en": STEP_LABELS[step][1], "due": due,
                      "done": s is not None, "at_ms": (s or {}).get("at_ms"), "by": (s or {}).get("by"),
                      "note": (s or {}).get("note"), "on_time": (s or {}).get("on_time"), "overdue": is_overdue})
    calls = r.get("callbacks") if isinstance(r.get("callbacks"), list) else []
    contact = r.get("contact") if isinstance(r.get("contact"), dict) else {}
    options = r.get("options") if isinstance(r.get("options"), list) else []
    labels = {o.code: o for o in engine.config.haocaiping.options}
    matter = r.get("matter") if isinstance(r.get("matter"), dict) else None
    return {
        "id": r["id"], "kind": r.get("kind"), "ref": r.get("ref"), "state": r.get("state"),
        "ticket": r.get("ticket"), "window": r.get("window"), "clerk": r.get("clerk") or None,
        "service": r.get("service"), "matter": matter, "level": r.get("level"), "assess": r.get("assess"),
        "options": [{"code": c, "label": labels[c].label if c in labels else c} for c in options],
        "text": r.get("text") or "", "problem": r.get("problem"), "department": r.get("department"),
        "contact": dict(contact) if reveal else mask_contact(contact), "has_contact": bool(contact.get("phone")),
        "deadlines": deadlines, "steps": steps, "next_step": next_step, "overdue": late,
        "callbacks": calls, "called_back": any(c.get("outcome") in REACHED_OUTCOMES for c in calls),
        "appeal": r.get("appeal"), "opened_ms": r.get("opened_ms"), "closed_ms": r.get("closed_ms"),
    }


# --------------------------------------------------------------------------------------------- older follow-ups
def resolve_case(engine: Engine, case_id: str, *, by: str, note: str = "") -> dict:
    """Mark an open 办不成事 case resolved; raises NotFound (no such case) or Conflict ``already_resolved``."""
    note = _note(note)
    if not case_id or len(case_id) > 32:
        raise NotFoundError("no such case", code="not_found")
    r = engine.runner.run("resolve_case", [engine.keys.cases, engine.keys.open_cases],
                           [case_id, engine.clock.now_ms(), by, note],
                           {"not_found": NotFoundError, "already_resolved": ConflictError})
    logger.info("case %s resolved by %s", case_id, by)
    return {"ref": case_id, "by": by, "note": note, "seq": r["seq"]}


def follow_up_rating(engine: Engine, ticket_id: str, *, by: str, note: str = "", is_low_rating) -> dict:
    """Record the follow-up of a 不满意 / 非常不满意 rating; ``is_low_rating(ticket_id)`` says whether there is one."""
    note = _note(note)
    if not TICKET_ID.fullmatch(ticket_id or "") or not is_low_rating(ticket_id):
        raise NotFoundError("no 不满意 rating for that ticket", code="not_found")
    r = engine.runner.run("follow_up_rating", [engine.keys.rating_followups],
                           [ticket_id, engine.clock.now_ms(), by, note], {"already_followed_up": ConflictError})
    logger.info("rating of %s followed up by %s", ticket_id, by)
    return {"ref": ticket_id, "by": by, "note": note, "seq": r["seq"]}
