"""办不成事 cases: recorded on the ticket at a window serving the complaint service; unresolved ones stay open."""

from __future__ import annotations

import json

import pytest

from shared import cases
from hall_support import state_fingerprint

CASE = {"department": "区市场监管局", "problem": "营业执照变更需补充材料，群众往返多次", "action": "联系部门现场补正",
        "resolved": True}


def _case_events(redis_client):
    return [json.loads(f["data"]) for _i, f in redis_client.xrange("ow:{testhall}:events") if f["type"] == "case_recorded"]


@pytest.fixture
def at_window_7(client, clerk_client):
    """Window 7 (办不成事) is serving F001."""
    client.post("/api/v1/tickets", json={"service": "bubancheng"})
    c = clerk_client(7)
    t = c.post("/api/v1/windows/7/call-next").get_json()["ticket"]
    assert t["number"] == "F001"
    return c, t


def test_case_on_the_current_ticket(redis_client, at_window_7, engine):
    c, t = at_window_7
    r = c.post("/api/v1/windows/7/case", json=CASE)
    assert r.status_code == 201, r.get_json()
    case = r.get_json()["case"]
    assert case["ticket"] == t["id"] and case["window"] == 7 and case["clerk"] == "clerk7" and case["resolved"] is True
    [ev] = _case_events(redis_client)
    assert ev["ticket"]["id"] == t["id"] and ev["window"] == 7 and ev["clerk"] == "clerk7"
    assert ev["case"] == {"id": case["id"], **CASE}
    assert cases.get_case(engine, case["id"])["problem"] == CASE["problem"]
    assert cases.list_cases(engine, open_only=True) == []  # resolved on the spot


def test_unresolved_cases_stay_open(at_window_7, engine, clock):
    c, t = at_window_7
    first = c.post("/api/v1/windows/7/case", json={**CASE, "resolved": False}).get_json()["case"]
    clock.advance(minutes=1)
    c.post("/api/v1/windows/7/case", json=CASE)
    clock.advance(minutes=1)
    third = c.post("/api/v1/windows/7/case", json={**CASE, "action": "", "resolved": False}).get_json()["case"]
    assert [x["id"] for x in cases.list_cases(engine, open_only=True)] == [first["id"], third["id"]]
    assert len(cases.list_cases(engine)) == 3
    stored = json.loads(engine.redis.hget(engine.keys.tickets("20261127"), t["id"]))
    assert stored["cases"] == [first["id"], cases.list_cases(engine)[1]["id"], third["id"]]


def test_case_on_the_ticket_just_finished(client, redis_client, at_window_7):
    c, t = at_window_7
    c.post("/api/v1/windows/7/finish", json={"outcome": "consulted"})
    r = c.post("/api/v1/windows/7/case", json=CASE)
    assert r.status_code == 201 and r.get_json()["case"]["ticket"] == t["id"]


def test_case_needs_a_ticket(clerk_client, redis_client):
    c = clerk_client(7)
    before = state_fingerprint(redis_client)
    r = c.post("/api/v1/windows/7/case", json=CASE)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "no_ticket"
    assert state_fingerprint(redis_client) == before


def test_only_at_a_complaint_window(client, clerk_client, redis_client, hall_config):
    client.post("/api/v1/tickets", json={"service": "renshe"})
    c = clerk_client(1)
    c.post("/api/v1/windows/1/call-next")
    before = state_fingerprint(redis_client)
    r = c.post("/api/v1/windows/1/case", json=CASE)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "not_complaint_window"
    assert state_fingerprint(redis_client) == before
    assert [n for n in hall_config.windows if cases.is_complaint_window(hall_config, n)] == [7]
    assert cases.complaint_service(hall_config).name == "办不成事反映"


def test_only_the_windows_own_clerk(client, clerk_client, redis_client, at_window_7):
    other = clerk_client(1)
    before = state_fingerprint(redis_client)
    assert other.post("/api/v1/windows/7/case", json=CASE).status_code == 403
    assert client.post("/api/v1/windows/7/case", json=CASE).status_code == 401
    c, _t = at_window_7
    c.environ_base.pop("HTTP_X_CSRF_TOKEN")
    assert c.post("/api/v1/windows/7/case", json=CASE).get_json()["error"]["code"] == "csrf_failed"
    assert state_fingerprint(redis_client) == before


@pytest.mark.parametrize("body,code", [
    ({**CASE, "department": "  "}, "missing_field"),
    ({**CASE, "problem": ""}, "missing_field"),
    ({k: v for k, v in CASE.items() if k != "resolved"}, "missing_field"),
    ({**CASE, "resolved": "yes"}, "wrong_type"),
    ({**CASE, "problem": "x" * 501}, "invalid_value"),
    ({**CASE, "note": "x"}, "unknown_field"),
])
def test_bad_case_bodies_change_nothing(redis_client, at_window_7, body, code):
    c, _t = at_window_7
    before = state_fingerprint(redis_client)
    r = c.post("/api/v1/windows/7/case", json=body)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == code
    assert state_fingerprint(redis_client) == before
