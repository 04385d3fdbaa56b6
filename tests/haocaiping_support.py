"""Helpers of the 好差评 tests: serve a visit through the engine, read events, variants of the test hall's config."""

from __future__ import annotations

import dataclasses
import json

from shared.config import Config
from shared.engine import Engine


def serve(engine: Engine, window: int = 1, service: str = "renshe", *, outcome: str = "handled",
          matter: str | None = None, case_no: str | None = None, clerk: str | None = None) -> dict:
    """Issue a ticket, call it at ``window`` and finish it; returns the issued ticket (with its tracking token) and
    the finished one under ``"done"``."""
    issued = engine.issue(service).ticket
    called = engine.call_next(window, clerk or f"clerk{window}")
    assert called["id"] == issued["id"], "another ticket was waiting"
    done = engine.finish(window, outcome, clerk or f"clerk{window}", matter=matter, case_no=case_no)
    return {**issued, "done": done}


def events_of(redis_client, kind: str, hall: str = "testhall") -> list[dict]:
    return [json.loads(f["data"]) for _i, f in redis_client.xrange(f"ow:{{{hall}}}:events") if f["type"] == kind]


def stored_ticket(engine: Engine, ticket_id: str) -> dict:
    return json.loads(engine.redis.hget(engine.keys.tickets(ticket_id[:8]), ticket_id))


def with_haocaiping(config: Config, **changes) -> Config:
    return dataclasses.replace(config, haocaiping=dataclasses.replace(config.haocaiping, **changes))


def with_upstream(config: Config, **changes) -> Config:
    up = dataclasses.replace(config.haocaiping.upstream, **changes)
    return with_haocaiping(config, upstream=up)


#: a province's field map as in docs/haocaiping.md (the tests' fake province speaks it)
PROVINCE_FIELDS = {
    "evalId": "id", "areaCode": "area_code", "deptCode": "department_code", "taskCode": "matter_code",
    "taskName": "matter_name", "projectNo": "case_no", "proStatus": "case_status", "proDepart": "department",
    "proManager": "clerk_name", "pf": "channel", "satisfaction": "level", "evalDetail": "content_codes",
    "writingEvaluation": "text", "assessTime": "rated_at", "assessNumber": "assess_number", "windowNo": "window",
    "certKey": "rater_id_hash", "userProp": "rater_kind",
}
PROVINCE_CODES = {"channel": {"tablet": "4", "phone": "3", "default": "7"},
                  "case_status": {"handled": "1", "consulted": "2"}, "rater_kind": {"": "1"}}
