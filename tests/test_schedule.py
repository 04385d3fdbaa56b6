"""The calendar: opening hours per weekday, holidays and 调休 from the config, the supervisor's weekend rota and extra
holidays (events, and the kiosk API follows them at once), and stop-issuing-before-close."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from hall_support import SUPER_PASSWORD
from stats_support import ok, supervisor

from shared import events
from shared.config import load_config
from shared.schedule import DayOverride, availability, day_plan

SHIPPED = load_config(Path(__file__).resolve().parent.parent / "config.toml")


def local(config, text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=config.timezone)


# ------------------------------------------------------------------------------------------------ the config alone
def test_weekday_weekend_holiday_and_makeup_day_from_the_config():
    c = SHIPPED
    fri = day_plan(c, date(2026, 11, 27))
    assert fri.kind == "workday" and not fri.rest_day and len(fri.services) == 7 and fri.windows == tuple(range(1, 10))
    sat = day_plan(c, date(2026, 11, 28))
    assert sat.kind == "weekend" and sat.rest_day
    assert set(sat.services) == {"renshe", "shichang", "sheqi", "bubancheng"}  # 周末延时服务: some services only
    assert sat.windows == (1, 2, 3, 4, 7, 8, 9)  # windows 5 (公安) and 6 (司法) serve nothing open
    assert [str(p) for p in sat.services["renshe"]] == ["09:00-12:00", "14:00-17:00"]
    new_year = day_plan(c, date(2027, 1, 1))
    assert new_year.kind == "holiday" and new_year.rest_day and new_year.services == {} and new_year.windows == ()
    makeup = day_plan(c, date(2027, 2, 20))  # a Saturday worked as a weekday (调休)
    assert makeup.kind == "makeup" and not makeup.rest_day and len(makeup.services) == 7
    assert [str(p) for p in makeup.services["gongan"]] == ["08:30-12:00", "14:00-17:30"]
    a = availability(c, c.services["renshe"], local(c, "2027-01-01T10:00"))
    assert (a.open, a.reason, a.opens_at.isoformat()) == (False, "holiday", "2027-01-02T09:00:00+08:00")


@pytest.mark.parametrize("when,service,open_,reason,opens", [
    ("2026-11-27T08:29", "renshe", False, "not_yet_open", "2026-11-27T08:30:00+08:00"),
    ("2026-11-27T08:30", "renshe", True, None, None),
    ("2026-11-27T11:44", "renshe", True, None, None),
    ("2026-11-27T11:45", "renshe", False, "closed_for_break", "2026-11-27T14:00:00+08:00"),  # 15 min before 12:00
    ("2026-11-27T17:14", "renshe", True, None, None),
    ("2026-11-27T17:15", "renshe", False, "closed_for_day", "2026-11-28T09:00:00+08:00"),  # Saturday's hours
    ("2026-11-27T17:15", "gongan", False, "closed_for_day", "2026-11-30T08:30:00+08:00"),  # no weekend service
    ("2026-11-28T10:00", "gongan", False, "closed_today", "2026-11-30T08:30:00+08:00"),
    ("2026-11-28T16:44", "renshe", True, None, None),
    ("2026-11-28T16:45", "renshe", False, "closed_for_day", "2026-11-29T09:00:00+08:00"),
])
def test_stop_issuing_before_close(when, service, open_, reason, opens):
    c = SHIPPED
    assert c.schedule.stop_issuing_minutes == 15
    a = availability(c, c.services[service], local(c, when))
    assert (a.open, a.reason, a.opens_at.isoformat() if a.opens_at else None) == (open_, reason, opens)


def test_supervisor_entries_override_the_config():
    c = SHIPPED
    sat = date(2026, 11, 28)
    rota = {sat: DayOverride("rota", services=("renshe", "sheqi"), windows=(2, 7))}
    plan = day_plan(c, sat, rota)
    assert plan.kind == "weekend" and plan.source == "rota" and set(plan.services) == {"renshe", "sheqi"}
    assert plan.windows == (2, 7)
    a = availability(c, c.services["shichang"], local(c, "2026-11-28T10:00"), rota)
    assert (a.open, a.reason) == (False, "closed_today")
    assert availability(c, c.services["renshe"], local(c, "2026-11-28T10:00"), rota).open
    # holiday duty: a rota on a public holiday opens the listed service only, on the hours given
    from shared.config import parse_period

    duty = {date(2027, 1, 1): DayOverride("rota", services=("bubancheng",), windows=(8,), hours=(parse_period("09:00-11:00", "h"),))}
    plan = day_plan(c, date(2027, 1, 1), duty)
    assert plan.kind == "holiday" and plan.rest_day and {k: [str(p) for p in v] for k, v in plan.services.items()} == {
        "bubancheng": ["09:00-11:00"]}
    # an extra holiday on a Monday, and a Sunday worked (调休)
    mon, sun = date(2026, 11, 30), date(2026, 11, 29)
    extra = {mon: DayOverride("holiday"), sun: DayOverride("workday")}
    assert day_plan(c, mon, extra).services == {} and day_plan(c, mon, extra).kind == "holiday"
    a = availability(c, c.services["gongan"], local(c, "2026-11-27T17:20"), extra)
    assert a.opens_at.isoformat() == "2026-11-29T08:30:00+08:00"  # the worked Sunday, on weekday hours
    assert day_plan(c, sun, extra).kind == "makeup"


# ------------------------------------------------------------------------------------------------ through the API
def schedule_state(redis_client, engine):
    return (redis_client.hgetall(engine.keys.schedule), engine.last_seq())


def test_rota_set_by_the_supervisor_steers_the_kiosk_api(app, client, clock, engine):
    sup = supervisor(app)
    r = ok(sup.put("/api/v1/supervisor/schedule/2026-11-28", json={
        "kind": "rota", "services": ["renshe"], "windows": [1, 2], "note": "周末轮岗：人社"}))
    assert r["day"]["source"] == "rota" and list(r["day"]["services"]) == ["renshe"] and r["day"]["windows"] == [1, 2]
    ev = engine.events_since()[-1]
    assert ev.type == events.SCHEDULE_CHANGED and ev.data["day"] == "2026-11-28" and ev.data["by"] == "supervisor"
    assert ev.data["before"] is None and ev.data["after"]["services"] == ["renshe"]
    days = {d["day"]: d for d in ok(sup.get("/api/v1/supervisor/schedule", query_string={"days": 7}))["days"]}
    assert days["2026-11-28"]["entry"]["note"] == "周末轮岗：人社" and days["2026-11-29"]["entry"] is None

    clock.set(local(engine.config, "2026-11-28T10:00"))
    r = client.post("/api/v1/tickets", json={"service": "shichang"})
    assert r.status_code == 409 and r.get_json()["error"]["details"]["reason"] == "closed_today"
    assert ok(client.post("/api/v1/tickets", json={"service": "renshe"}), 201)["ticket"]["number"] == "A001"
    listed = {s["code"]: s for s in ok(client.get("/api/v1/services"))["services"]}
    assert listed["shichang"]["open"] is False and listed["renshe"]["open"] is True
    assert listed["shichang"]["opens_at"] == "2026-11-29T00:00:00+08:00"

    r = ok(sup.delete("/api/v1/supervisor/schedule/2026-11-28"))
    assert r["day"]["source"] == "config" and "shichang" in r["day"]["services"]
    ev = engine.events_since()[-1]
    assert ev.type == events.SCHEDULE_CHANGED and ev.data["before"]["services"] == ["renshe"] and ev.data["after"] is None
    assert ok(client.post("/api/v1/tickets", json={"service": "shichang"}), 201)["ticket"]["number"] == "B001"


def test_an_extra_holiday_closes_issuing(app, client, clock, engine):
    sup = supervisor(app)
    ok(sup.put("/api/v1/supervisor/schedule/2026-11-27", json={"kind": "holiday", "note": "临时闭厅"}))
    r = client.post("/api/v1/tickets", json={"service": "renshe"})
    details = r.get_json()["error"]["details"]
    assert r.status_code == 409 and details["reason"] == "holiday" and details["opens_at"] == "2026-11-28T00:00:00+08:00"
    ok(sup.put("/api/v1/supervisor/schedule/2026-11-29", json={"kind": "workday"}))  # Sunday worked: allowed


@pytest.mark.parametrize("day,body,status,code", [
    ("2026-11-26", {"kind": "holiday"}, 422, "day_in_past"),
    ("2026-13-01", {"kind": "holiday"}, 400, "invalid_value"),
    ("2029-01-01", {"kind": "holiday"}, 422, "day_too_far"),
    ("2026-11-28", {"kind": "party"}, 400, "invalid_value"),
    ("2026-11-28", {}, 400, "missing_field"),
    ("2026-11-28", {"kind": "rota", "services": ["renshe"], "windows": []}, 422, "empty_rota"),
    ("2026-11-28", {"kind": "rota", "services": ["nosuch"], "windows": [1]}, 422, "unknown_service"),
    ("2026-11-28", {"kind": "rota", "services": ["renshe"], "windows": [99]}, 422, "unknown_window"),
    ("2026-11-28", {"kind": "rota", "services": ["bubancheng"], "windows": [1]}, 422, "service_without_window"),
    ("2026-11-28", {"kind": "rota", "services": ["renshe"], "windows": [1, 4]}, 422, "window_without_service"),
    ("2026-11-28", {"kind": "rota", "services": ["lingdao"], "windows": [7]}, 422, "no_hours"),
    ("2026-11-28", {"kind": "rota", "services": ["renshe"], "windows": [1], "hours": ["9-12"]}, 400, "invalid_value"),
    ("2026-11-28", {"kind": "rota", "services": ["renshe"], "windows": [1], "hours": ["09:00-12:00", "11:00-13:00"]}, 400, "invalid_value"),
    ("2026-11-28", {"kind": "rota", "services": "renshe", "windows": [1]}, 400, "wrong_type"),
    ("2026-11-28", {"kind": "rota", "services": ["renshe"], "windows": ["1"]}, 400, "wrong_type"),
    ("2026-11-28", {"kind": "holiday", "services": ["renshe"]}, 400, "invalid_value"),
    ("2026-11-28", {"kind": "holiday", "note": "x" * 201}, 400, "invalid_value"),
    ("2026-11-30", {"kind": "workday"}, 422, "already_workday"),
    ("2026-11-28", {"kind": "holiday", "color": "red"}, 400, "unknown_field"),
])
def test_bad_schedule_changes_are_refused_and_change_nothing(app, redis_client, engine, day, body, status, code):
    sup = supervisor(app)
    before = schedule_state(redis_client, engine)
    r = sup.put(f"/api/v1/supervisor/schedule/{day}", json=body)
    assert r.status_code == status and r.get_json()["error"]["code"] == code, r.get_json()
    assert schedule_state(redis_client, engine) == before


def test_schedule_needs_a_supervisor_and_csrf(app, client, clerk_client, redis_client, engine):
    clerk = clerk_client(1)
    no_csrf = app.test_client()
    ok(no_csrf.post("/api/v1/login", json={"username": "supervisor", "password": SUPER_PASSWORD}))
    sup = supervisor(app)
    before = schedule_state(redis_client, engine)
    assert client.put("/api/v1/supervisor/schedule/2026-11-28", json={"kind": "holiday"}).status_code == 401
    r = clerk.put("/api/v1/supervisor/schedule/2026-11-28", json={"kind": "holiday"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "not_supervisor"
    r = no_csrf.put("/api/v1/supervisor/schedule/2026-11-28", json={"kind": "holiday"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "csrf_failed"
    r = sup.delete("/api/v1/supervisor/schedule/2026-11-28")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "no_entry"
    assert sup.get("/api/v1/supervisor/schedule", query_string={"days": 0}).status_code == 400
    assert schedule_state(redis_client, engine) == before
