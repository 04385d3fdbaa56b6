"""Closing follow-ups: a supervisor marks an open 办不成事 case resolved, or a 不满意 rating followed up (回访).

Each is one Lua step that checks it is still open, records who and when, and appends the event (``case_resolved`` /
``rating_followed_up`` {ref, by, note}); the follow-up list reads those events back like every other figure.
"""

from __future__ import annotations

import logging

from shared.engine import TICKET_ID, Engine
from shared.errors import ConflictError, NotFoundError, ValidationError

logger = logging.getLogger(__name__)

NOTE_MAX = 500
CASE_ID_MAX = 32


def _note(note) -> str:
    if not isinstance(note, str):
        raise ValidationError("'note' must be text", code="wrong_type", field="note")
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise ValidationError(f"'note' is longer than {NOTE_MAX} characters", code="invalid_value", field="note")
    return note


def resolve_case(engine: Engine, case_id: str, *, by: str, note: str = "") -> dict:
    """Mark an open case resolved; raises NotFound (no such case) or Conflict ``already_resolved``."""
    note = _note(note)
    if not case_id or len(case_id) > CASE_ID_MAX:
        raise NotFoundError("no such case", code="not_found")
    cases_key = getattr(engine.keys, "cases", None)
    open_key = getattr(engine.keys, "open_cases", None)
    if cases_key is None or open_key is None:  # the counter's case records are not installed
        raise NotFoundError("no such case", code="not_found")
    r = engine.scripts.run("resolve_case", [engine.keys.seq, engine.keys.events, cases_key, open_key],
                           [case_id, engine.clock.now_ms(), by, note],
                           {"not_found": NotFoundError, "already_resolved": ConflictError})
    logger.info("case %s resolved by %s", case_id, by)
    return {"ref": case_id, "by": by, "note": note, "seq": r["seq"]}


def follow_up_rating(engine: Engine, ticket_id: str, *, by: str, note: str = "", is_low_rating) -> dict:
    """Record the follow-up of a 不满意 / 非常不满意 rating; ``is_low_rating(ticket_id)`` says whether there is one."""
    note = _note(note)
    if not TICKET_ID.fullmatch(ticket_id or "") or not is_low_rating(ticket_id):
        raise NotFoundError("no 不满意 rating for that ticket", code="not_found")
    r = engine.scripts.run("follow_up_rating", [engine.keys.seq, engine.keys.events, engine.keys.rating_followups],
                           [ticket_id, engine.clock.now_ms(), by, note], {"already_followed_up": ConflictError})
    logger.info("rating of %s followed up by %s", ticket_id, by)
    return {"ref": ticket_id, "by": by, "note": note, "seq": r["seq"]}
