"""The supervisor desk's 好差评 and 帮办代办 API (counter/supervisor/desk.py): supervisor only, CSRF, idempotent,
bad input → 4xx with a code."""

from __future__ import annotations

import pytest
from hall_support import SUPER_PASSWORD
from haocaiping_support import events_of, serve, with_upstream
from desk_support import HALL_FIELDS, guide_app  # noqa: F401  (guide_app: a fixture)
from stats_support import at, issue, ok, supervisor

from shared import ratings
from shared.engine import Engine
from shared.haocaiping import rating_outbox


def err(r, status: int, code: str) -> dict:
    assert r.status_code == status, r.get_json()
    assert r.get_json()["error"]["code"] == code, r.get_json()
    return r.get_json()


def bad_rating(engine: Engine, window: int = 1, phone: str = "13812345678") -> dict:
    """A 非常不满意 rating with a call-back number: it opens a rectification record."""
    visit = serve(engine, window)
    ratings.rate(engine, window, visit["id"], 1, contact_phone=phone)
    [record] = [r for r in ok_records(engine) if r["ref"].startswith(visit["id"])]
    return record


def ok_records(engine: Engine) -> list[dict]:
    from shared.rectification import list_records

    return list_records(engine, state="all")


# ------------------------------------------------------------------------------------------------ who may
@pytest.mark.parametrize("method, path", [
    ("get", "/api/v1/supervisor/outbox"),
    ("post", "/api/v1/supervisor/outbox/x-1/resend"),
    ("get", "/api/v1/supervisor/rectifications"),
    ("get", "/api/v1/supervisor/rectifications/R1?reveal=1"),
    ("post", "/api/v1/supervisor/rectifications/R1/steps/verify"),
    ("post", "/api/v1/supervisor/rectifications/R1/callbacks"),
    ("post", "/api/v1/supervisor/rectifications/R1/ruling"),
    ("post", "/api/v1/supervisor/tickets/A001/assist"),
])
def test_only_a_supervisor(client, clerk_client, method, path):
    r = getattr(client, method)(path, json={})
    assert r.status_code == 401 and r.get_json()["error"]["code"]
    c = clerk_client(1)
    err(getattr(c, method)(path, json={}), 403, "not_guide" if path.endswith("/assist") else "not_supervisor")


def test_state_changes_need_the_csrf_token(app):
    c = app.test_client()
    ok(c.post("/api/v1/login", json={"username": "supervisor", "password": SUPER_PASSWORD}))
    for path in ("/api/v1/supervisor/outbox/x-1/resend", "/api/v1/supervisor/rectifications/R1/steps/verify",
                 "/api/v1/supervisor/tickets/A001/assist"):
        r = c.post(path, json={})
        assert r.status_code == 403 and r.get_json()["error"]["code"] == "csrf_failed", path


# ------------------------------------------------------------------------------------------------ 帮办代办
def test_assist_marks_a_ticket_once_and_is_counted(app, client, clerk_client, engine, redis_client, clock):
    sup = supervisor(app)
    at(clock, "2026-11-27", "09:00")
    t = issue(client, "renshe")
    r = ok(sup.post("/api/v1/supervisor/tickets/A001/assist", json={"note": "老人，代填表"},
                    headers={"Idempotency-Key": "assist-1"}))
    assert r["changed"] is True and r["ticket"]["assisted"] is True and r["ticket"]["id"] == t["id"]
    # the same request again (a retry) and a new request: one event, one count
    again = ok(sup.post("/api/v1/supervisor/tickets/A001/assist", json={"note": "老人，代填表"},
                        headers={"Idempotency-Key": "assist-1"}))
    assert again["changed"] is True
    assert ok(sup.post("/api/v1/supervisor/tickets/a001/assist", json={}))["changed"] is False
    [ev] = events_of(redis_client, "ticket_assisted")
    assert ev["by"] == "supervisor" and ev["note"] == "老人，代填表" and ev["ticket"]["assisted"]["by"] == "supervisor"
    # the counter sees it on the ticket, and it is counted where the ticket is served
    w1 = clerk_client(1)
    called = ok(w1.post("/api/v1/windows/1/call-next"))
    assert (called.get("ticket") or called)["assisted"] is True
    ok(w1.post("/api/v1/windows/1/finish", json={"outcome": "handled"}))
    report = ok(sup.get("/api/v1/supervisor/report?period=day&by=window"))
    assert report["total"]["figures"]["assisted"] == 1
    assert {row["key"]: row["figures"]["assisted"] for row in report["rows"]}.get("1") == 1
    csv = sup.get("/api/v1/supervisor/report.csv?period=day").get_data(as_text=True)
    assert "帮办代办" in csv.splitlines()[0]
    # finished: no longer assistable; bad numbers are refused with a code
    issue(client, "renshe")
    err(sup.post("/api/v1/supervisor/tickets/A009/assist", json={}), 404, "not_found")
    err(sup.post("/api/v1/supervisor/tickets/ZZ/assist", json={}), 400, "invalid_number")
    err(sup.post("/api/v1/supervisor/tickets/Q001/assist", json={}), 422, "unknown_prefix")
    err(sup.post("/api/v1/supervisor/tickets/A002/assist", json={"note": 5}), 400, "wrong_type")
    ok(w1.post("/api/v1/windows/1/call-next")), ok(w1.post("/api/v1/windows/1/no-show"))
    err(sup.post("/api/v1/supervisor/tickets/A002/assist", json={}), 409, "not_assistable")


# ------------------------------------------------------------------------------------------------ rectification
def test_rectification_on_the_desk(app, engine, clock, redis_client):
    sup = supervisor(app)
    at(clock, "2026-11-27", "09:00")
    record = bad_rating(engine)
    rid = record["id"]
    items = ok(sup.get("/api/v1/supervisor/rectifications"))["items"]
    [item] = [i for i in items if i["id"] == rid]
    assert item["contact"]["phone"] == "138****5678" and item["has_contact"]  # masked in the list
    assert [s["step"] for s in item["steps"]] == ["verify", "rectify", "reply"] and all(s["due"] for s in item["steps"])
    shown = ok(sup.get(f"/api/v1/supervisor/rectifications/{rid}?reveal=1"))["record"]
    assert shown["contact"]["phone"] == "13812345678"  # in clear for the supervisor who asks
    assert ok(sup.get(f"/api/v1/supervisor/rectifications/{rid}"))["record"]["contact"]["phone"] == "138****5678"

    r = ok(sup.post(f"/api/v1/supervisor/rectifications/{rid}/steps/verify", json={"note": "已核实"}))["record"]
    assert r["steps"][0]["done"] and r["steps"][0]["by"] == "supervisor" and r["next_step"] == "rectify"
    err(sup.post(f"/api/v1/supervisor/rectifications/{rid}/steps/verify", json={}), 409, "step_done")
    err(sup.post(f"/api/v1/supervisor/rectifications/{rid}/steps/reply", json={}), 409, "step_out_of_order")
    err(sup.post(f"/api/v1/supervisor/rectifications/{rid}/steps/nope", json={}), 400, "invalid_value")
    r = ok(sup.post(f"/api/v1/supervisor/rectifications/{rid}/callbacks", json={"outcome": "satisfied",
                                                                                  "note": "已电话回访"}))["record"]
    assert r["called_back"] and r["callbacks"][0]["outcome"] == "satisfied"
    err(sup.post(f"/api/v1/supervisor/rectifications/{rid}/callbacks", json={"outcome": "maybe"}), 400, "invalid_value")
    err(sup.post(f"/api/v1/supervisor/rectifications/{rid}/callbacks", json={}), 400, "missing_field")
    err(sup.post(f"/api/v1/supervisor/rectifications/{rid}/ruling", json={"upheld": True}), 409, "no_pending_appeal")
    err(sup.post(f"/api/v1/supervisor/rectifications/{rid}/ruling", json={"upheld": "yes"}), 400, "wrong_type")
    err(sup.post("/api/v1/supervisor/rectifications/R999/steps/verify", json={}), 404, "not_found")
    err(sup.get("/api/v1/supervisor/rectifications?state=odd"), 400, "invalid_value")
    err(sup.get(f"/api/v1/supervisor/rectifications/{rid}?reveal=yes"), 400, "invalid_value")


def test_an_appeal_is_ruled_on_the_desk(app, engine, clock):
    from shared.rectification import file_appeal

    sup = supervisor(app)
    at(clock, "2026-11-27", "09:00")
    record = bad_rating(engine)
    file_appeal(engine, record["id"], clerk="clerk1", grounds="malicious", reason="当事人误操作")
    r = ok(sup.post(f"/api/v1/supervisor/rectifications/{record['id']}/ruling",
                    json={"upheld": True, "note": "查看录像属实"}))["record"]
    assert r["state"] == "invalid" and r["appeal"]["state"] == "upheld" and r["appeal"]["ruling"] == "查看录像属实"
    assert [i["id"] for i in ok(sup.get("/api/v1/supervisor/rectifications?state=invalid"))["items"]] == [record["id"]]


def test_overdue_records_alert_on_the_overview(app, engine, clock):
    sup = supervisor(app)
    at(clock, "2026-11-27", "09:00")
    record = bad_rating(engine)
    assert ok(sup.get("/api/v1/supervisor/overview"))["rectifications_overdue"]["count"] == 0
    at(clock, "2026-12-31", "09:00")  # long past every deadline
    o = ok(sup.get("/api/v1/supervisor/overview"))
    assert o["rectifications_overdue"]["count"] == 1 and o["rectifications_overdue"]["ids"] == [record["id"]]
    assert [i["id"] for i in ok(sup.get("/api/v1/supervisor/rectifications?overdue=1"))["items"]] == [record["id"]]


# ------------------------------------------------------------------------------------------------ upstream reports
@pytest.fixture
def reporting_app(redis_client, redis_server, hall_config, clock):
    from onewindow import create_app

    config = with_upstream(hall_config, **{**HALL_FIELDS, "enabled": True, "url": "http://127.0.0.1:9/none"})
    return create_app({"TESTING": True, "CONFIG": config, "REDIS_URL": redis_server.url, "CLOCK": clock,
                       "START_RELAY": False})


def test_reports_are_listed_and_a_failed_one_resent(reporting_app, redis_client, clock):
    hall = reporting_app.extensions["onewindow"]
    engine = hall.engine
    sup = supervisor(reporting_app)
    at(clock, "2026-11-27", "09:00")
    first, second = serve(engine, 1), serve(engine, 2)
    ratings.rate(engine, 1, first["id"], 5)
    ratings.rate(engine, 2, second["id"], 4)
    box = rating_outbox(engine)
    body = ok(sup.get("/api/v1/supervisor/outbox"))
    assert body["counts"] == {"pending": 2, "failed": 0, "sent": 0} and body["enabled"] is True
    assert {i["id"] for i in body["items"]} == {f"{first['id']}-1", f"{second['id']}-1"}
    entry = box.get(f"{first['id']}-1")
    box.fail(entry, "HTTP 400: refused", permanent=True, max_attempts=5, delay_ms=0, now_ms=clock.now_ms())
    failed = ok(sup.get("/api/v1/supervisor/outbox?state=failed"))
    assert failed["counts"]["failed"] == 1
    [item] = failed["items"]
    assert item["attempts"] == 1 and item["last_error"] == "HTTP 400: refused" and item["state"] == "failed"

    key = {"Idempotency-Key": "resend-1"}
    r = ok(sup.post(f"/api/v1/supervisor/outbox/{item['id']}/resend", json={}, headers=key))
    assert r["entry"]["state"] == "pending" and r["entry"]["resent"] == 1
    again = ok(sup.post(f"/api/v1/supervisor/outbox/{item['id']}/resend", json={}, headers=key))  # a retry
    assert again["entry"]["resent"] == 1
    assert len(events_of(redis_client, "outbox_entry_resent")) == 1
    err(sup.post(f"/api/v1/supervisor/outbox/{item['id']}/resend", json={}), 409, "not_failed")
    err(sup.post("/api/v1/supervisor/outbox/nosuch/resend", json={}), 404, "not_found")
    err(sup.get("/api/v1/supervisor/outbox?state=lost"), 400, "invalid_value")
    err(sup.get("/api/v1/supervisor/outbox?limit=0"), 400, "invalid_value")
    assert ok(sup.get("/api/v1/supervisor/outbox"))["counts"] == {"pending": 2, "failed": 0, "sent": 0}


# ------------------------------------------------------------------------------------------------ a guide (导办)
def test_a_guide_marks_assistance_and_nothing_else(guide_app, redis_client):
    from hall_support import DEMO_PASSWORD

    c = guide_app.test_client()
    err(c.post("/api/v1/login", json={"username": "guide1", "password": DEMO_PASSWORD, "window": 1}), 400,
        "invalid_value")  # a guide never holds a window
    r = ok(c.post("/api/v1/login", json={"username": "guide1", "password": DEMO_PASSWORD}))
    c.environ_base["HTTP_X_CSRF_TOKEN"] = r["csrf_token"]
    ok(c.post("/api/v1/tickets", json={"service": "renshe"}), 201)
    body = ok(c.post("/api/v1/supervisor/tickets/A001/assist", json={"note": "帮助老人填表"}))
    assert body["changed"] and body["ticket"]["assisted"]
    assert events_of(redis_client, "ticket_assisted")[0]["by"] == "guide1"
    err(c.get("/api/v1/supervisor/overview"), 403, "not_supervisor")  # the desk's other parts stay closed
    err(c.get("/api/v1/supervisor/rectifications"), 403, "not_supervisor")
    err(c.post("/api/v1/windows/1/call-next", json={}), 403, "wrong_window")


def test_a_guides_role_is_accepted_in_the_config():
    import tomllib

    from hall_support import DATA, HALL_TOML
    from shared.config import ConfigError, parse_config

    raw = tomllib.loads(HALL_TOML.read_text(encoding="utf-8"))
    raw["clerks"].append({**raw["clerks"][0], "username": "guide1", "name": "导办小李", "role": "guide"})
    assert parse_config(raw, base_dir=DATA, source=HALL_TOML).clerks["guide1"].role == "guide"
    raw["clerks"][-1]["role"] = "boss"
    with pytest.raises(ConfigError, match="guide"):
        parse_config(raw, base_dir=DATA, source=HALL_TOML)
