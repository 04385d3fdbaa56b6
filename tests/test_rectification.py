"""The 差评 workflow: a record per 差评 and per 办不成事 case, deadlines in working days on the hall's own calendar
(holidays, 调休, the supervisor's entries), steps in order, call-backs, 申诉复核, overdue items."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

import pytest
from haocaiping_support import events_of, serve
from hall_support import refused

from shared import cases, ratings, rectification
from shared.config import Schedule
from shared.engine import Engine
from shared.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from shared.rota import Rota
from shared.schedule import DayOverride, add_working_days, is_working_day
from shared.redis_client import connect

# The Spring Festival week of 2027 as the hall lives it: the config closes Tue 16 – Thu 18 (法定节假日) and works
# Saturday 20 (调休); the supervisor closes Monday 22 as well (an extra day off, entered on the rota page).
HOLIDAYS = frozenset({date(2027, 2, 16), date(2027, 2, 17), date(2027, 2, 18)})
MAKEUP = frozenset({date(2027, 2, 20)})
EXTRA_HOLIDAY = date(2027, 2, 22)


@pytest.fixture
def festive(redis_client, hall_config):
    config = dataclasses.replace(hall_config, schedule=Schedule(holidays=HOLIDAYS, workdays=MAKEUP))
    return config


def at(clock, text: str) -> None:
    clock.set(datetime.fromisoformat(text).replace(tzinfo=clock.tz))


def test_working_days_on_the_calendar(festive):
    c = festive
    overrides = {EXTRA_HOLIDAY: DayOverride(kind="holiday", by="supervisor")}
    kinds = {d: is_working_day(c, date(2027, 2, d), overrides) for d in range(15, 24)}
    assert kinds == {15: True, 16: False, 17: False, 18: False, 19: True, 20: True, 21: False, 22: False, 23: True}
    assert add_working_days(c, date(2027, 2, 15), 1, overrides) == date(2027, 2, 19)  # over three holidays
    assert add_working_days(c, date(2027, 2, 19), 1, overrides) == date(2027, 2, 20)  # the 调休 Saturday
    assert add_working_days(c, date(2027, 2, 20), 1, overrides) == date(2027, 2, 23)  # Sunday, then the extra day off
    assert add_working_days(c, date(2027, 2, 20), 1) == date(2027, 2, 22)  # without the supervisor's entry
    assert add_working_days(c, date(2027, 2, 21), 0) == date(2027, 2, 21)
    assert add_working_days(c, date(2027, 2, 27), 1) == date(2027, 3, 1)  # an ordinary weekend
    with pytest.raises(ValueError):
        add_working_days(c, date(2027, 2, 15), -1)


# (when the record opens) → (verify, rectify, reply): 1、5、15 working days on the calendar above
WEEK = {
    "2027-02-15T10:00": ("2027-02-19", "2027-02-25", "2027-03-11"),  # Monday: the holidays push everything on
    "2027-02-16T11:00": ("2027-02-19", "2027-02-25", "2027-03-11"),  # a holiday (a phone rating): counted the same
    "2027-02-19T15:00": ("2027-02-20", "2027-02-26", "2027-03-12"),  # Friday: verify on the 调休 Saturday
    "2027-02-20T09:30": ("2027-02-23", "2027-03-01", "2027-03-15"),  # the 调休 Saturday: Sunday and Monday 22 off
    "2027-02-21T20:00": ("2027-02-23", "2027-03-01", "2027-03-15"),  # Sunday evening (a phone rating)
}


def test_a_scripted_week_across_a_holiday_and_a_makeup_saturday(redis_server, redis_client, festive, clock):
    at(clock, "2027-02-15T08:00")
    engine = Engine(redis_client, festive, clock)
    engine.rota.set(festive, EXTRA_HOLIDAY, DayOverride(kind="holiday", by="supervisor", note="补休"),
                    today=clock.business_date(), now_ms=clock.now_ms())
    visits = {}
    # Monday: three visits, one rated at the tablet now, two from the phone later in the week
    at(clock, "2027-02-15T09:00")
    for name in ("tue_phone", "sun_phone"):
        visits[name] = serve(engine, 1)
    at(clock, "2027-02-15T09:59:45")
    visits["mon"] = serve(engine, 1)
    at(clock, "2027-02-15T10:00")
    mon = ratings.rate(engine, 1, visits["mon"]["id"], 2, options=["202"])
    at(clock, "2027-02-16T11:00")  # a holiday: the hall is closed, the phone still rates Monday's visit
    tue = ratings.rate_by_token(engine, visits["tue_phone"]["token"], 1, text="窗口说材料不全，却没说缺什么",
                                contact_phone="13855512345")
    at(clock, "2027-02-19T14:50")
    fri_visit = serve(engine, 7, "bubancheng")
    at(clock, "2027-02-19T15:00")
    fri = cases.record_case(engine, 7, "clerk7", department="区不动产登记中心", problem="跨部门材料互认不了",
                            resolved=False, contact_name="张女士", contact_phone="0554-6661234")
    at(clock, "2027-02-19T16:00")  # Monday's 差评 verified on its deadline day
    rectification.complete_step(engine, mon["rectification"]["id"], "verify", by="supervisor", note="已调取录像核实")
    at(clock, "2027-02-20T09:29:40")
    sat_visit = serve(engine, 2)
    at(clock, "2027-02-20T09:30")
    sat = ratings.rate(engine, 2, sat_visit["id"], 1, options=["201"])
    at(clock, "2027-02-21T20:00")
    sun = ratings.rate_by_token(engine, visits["sun_phone"]["token"], 2)

    opened = {"2027-02-15T10:00": mon["rectification"], "2027-02-16T11:00": tue["rectification"],
              "2027-02-19T15:00": rectification.get_record(engine, fri["rectification"]),
              "2027-02-20T09:30": sat["rectification"], "2027-02-21T20:00": sun["rectification"]}
    for when, (verify, rectify, reply) in WEEK.items():
        assert opened[when]["deadlines"] == {"verify": verify, "rectify": rectify, "reply": reply}, when
    assert fri_visit["done"]["id"] == rectification.get_record(engine, fri["rectification"])["ticket"]["id"]

    # Sunday night: what is overdue — Tuesday's 差评 (verify was due Friday) and Friday's case (due on the 调休
    # Saturday); Monday's was verified in time, the weekend's are not due yet
    assert [r["id"] for r in rectification.overdue(engine)] == [tue["rectification"]["id"], fri["rectification"]]
    # Tuesday 23: Friday's case verified late; Monday's 差评 rectified and answered in time
    at(clock, "2027-02-23T09:00")
    late = rectification.complete_step(engine, fri["rectification"], "verify", by="supervisor", note="已核实")
    assert [(s["step"], s["on_time"]) for s in late["steps"] if s["done"]] == [("verify", False)]
    assert [r["id"] for r in rectification.overdue(engine)] == [tue["rectification"]["id"]]
    rectification.complete_step(engine, mon["rectification"]["id"], "rectify", by="supervisor")
    done = rectification.complete_step(engine, mon["rectification"]["id"], "reply", by="supervisor", note="已答复")
    assert done["state"] == "closed" and [s["on_time"] for s in done["steps"]] == [True, True, True]
    assert mon["rectification"]["id"] not in [r["id"] for r in rectification.list_records(engine)]
    steps = events_of(redis_client, "rectification_step_completed")
    assert [(e["ref"], e["step"], e["on_time"], e["due"]) for e in steps] == [
        (mon["rectification"]["id"], "verify", True, "2027-02-19"),
        (fri["rectification"], "verify", False, "2027-02-20"),
        (mon["rectification"]["id"], "rectify", True, "2027-02-25"),
        (mon["rectification"]["id"], "reply", True, "2027-03-11")]
    # overdue from the day after the deadline, on the hall's date
    at(clock, "2027-02-23T23:59")
    assert rectification.get_record(engine, sat["rectification"]["id"])["overdue"] is False
    at(clock, "2027-02-24T00:00")
    assert rectification.get_record(engine, sat["rectification"]["id"])["overdue"] is True


def test_deadlines_follow_a_calendar_changed_by_another_process(redis_server, redis_client, hall_config, clock):
    """This process cached the calendar; another declares Monday a holiday: the record is counted on the new one."""
    engine = Engine(redis_client, hall_config, clock)  # Friday 2026-11-27
    engine.rota.calendar()  # cached now
    other = Rota(connect(redis_server.url), engine.keys)
    monday = date(2026, 11, 30)
    other.set(hall_config, monday, DayOverride(kind="holiday", by="supervisor"), today=clock.business_date(),
              now_ms=clock.now_ms())
    v = serve(engine, 1)
    r = ratings.rate(engine, 1, v["id"], 2)
    assert r["rectification"]["deadlines"]["verify"] == "2026-12-01"  # Tuesday: Monday is off now


def test_steps_in_order_once_and_only_while_open(engine, redis_client):
    v = serve(engine, 1)
    rid = ratings.rate(engine, 1, v["id"], 2)["rectification"]["id"]
    refused(redis_client, ConflictError, "step_out_of_order", rectification.complete_step, engine, rid, "rectify",
            by="supervisor")
    refused(redis_client, ValidationError, "invalid_value", rectification.complete_step, engine, rid, "celebrate",
            by="supervisor")
    refused(redis_client, NotFoundError, "not_found", rectification.complete_step, engine, "ZG999999", "verify",
            by="supervisor")
    refused(redis_client, ValidationError, "missing_field", rectification.complete_step, engine, rid, "verify", by=" ")
    rectification.complete_step(engine, rid, "verify", by="supervisor")
    refused(redis_client, ConflictError, "step_done", rectification.complete_step, engine, rid, "verify",
            by="supervisor")
    rectification.complete_step(engine, rid, "rectify", by="supervisor", note="已对窗口人员进行业务培训")
    view = rectification.complete_step(engine, rid, "reply", by="supervisor")
    assert view["state"] == "closed" and view["next_step"] is None
    refused(redis_client, ConflictError, "not_open", rectification.complete_step, engine, rid, "reply", by="supervisor")


def test_callbacks_are_logged_with_their_outcome(engine, redis_client):
    v = serve(engine, 1)
    rid = ratings.rate(engine, 1, v["id"], 1, contact_phone="13812345678")["rectification"]["id"]
    view = rectification.log_callback(engine, rid, by="supervisor", outcome="unreachable")
    assert view["called_back"] is False and len(view["callbacks"]) == 1
    refused(redis_client, ValidationError, "invalid_value", rectification.log_callback, engine, rid, by="supervisor",
            outcome="maybe")
    view = rectification.log_callback(engine, rid, by="supervisor", outcome="satisfied", note="已解释，群众表示理解")
    assert view["called_back"] is True and [c["outcome"] for c in view["callbacks"]] == ["unreachable", "satisfied"]
    assert [e["outcome"] for e in events_of(redis_client, "callback_logged")] == ["unreachable", "satisfied"]


def test_appeal_filed_by_the_clerk_ruled_by_another(engine, redis_client):
    v = serve(engine, 1, clerk="clerk1")
    rid = ratings.rate(engine, 1, v["id"], 1)["rectification"]["id"]
    refused(redis_client, PermissionDeniedError, "not_your_rating", rectification.file_appeal, engine, rid,
            clerk="clerk2", grounds="malicious", reason="不是我办的")
    refused(redis_client, ValidationError, "missing_field", rectification.file_appeal, engine, rid, clerk="clerk1",
            grounds="malicious", reason="")
    refused(redis_client, ValidationError, "invalid_value", rectification.file_appeal, engine, rid, clerk="clerk1",
            grounds="unfair", reason="x")
    refused(redis_client, ConflictError, "no_pending_appeal", rectification.rule_appeal, engine, rid, by="supervisor",
            upheld=True)
    view = rectification.file_appeal(engine, rid, clerk="clerk1", grounds="malicious", reason="群众因政策不符泄愤，评价与服务无关")
    assert view["appeal"]["state"] == "pending"
    refused(redis_client, ConflictError, "appeal_pending", rectification.complete_step, engine, rid, "verify",
            by="supervisor")
    refused(redis_client, ConflictError, "already_appealed", rectification.file_appeal, engine, rid, clerk="clerk1",
            grounds="mistaken", reason="again")
    refused(redis_client, PermissionDeniedError, "own_appeal", rectification.rule_appeal, engine, rid, by="clerk1",
            upheld=True)
    view = rectification.rule_appeal(engine, rid, by="supervisor", upheld=False, note="评价内容属实")
    assert view["appeal"]["state"] == "rejected" and view["state"] == "open"
    rectification.complete_step(engine, rid, "verify", by="supervisor")  # the workflow goes on

    w = serve(engine, 1, clerk="clerk1")
    rid2 = ratings.rate(engine, 1, w["id"], 2)["rectification"]["id"]
    rectification.file_appeal(engine, rid2, clerk="clerk1", grounds="mistaken", reason="群众误点")
    view = rectification.rule_appeal(engine, rid2, by="supervisor", upheld=True, note="经回放录像核实为误点")
    assert view["state"] == "invalid" and view["appeal"]["ruled_by"] == "supervisor"
    assert rid2 not in [r["id"] for r in rectification.list_records(engine)]
    assert rid2 in [r["id"] for r in rectification.list_records(engine, state="invalid")]  # the audit trail stays
    ruled = events_of(redis_client, "appeal_ruled")
    assert [(e["ref"], e["upheld"], e["rating"]["id"], e["rating"]["level"]) for e in ruled] == [
        (rid, False, f"{v['id']}-1", 1), (rid2, True, f"{w['id']}-1", 2)]


def test_cases_open_a_record_but_cannot_be_appealed(engine, redis_client):
    engine.issue("bubancheng")
    engine.call_next(7, "clerk7")
    case = cases.record_case(engine, 7, "clerk7", department="区医保局", problem="异地就医备案系统不通",
                             resolved=True, contact_phone="13900001111")
    assert case["contact"] == {"phone": "139****1111"}
    assert cases.get_case(engine, case["id"], reveal=True)["contact"] == {"phone": "13900001111"}
    assert cases.list_cases(engine)[0]["contact"] == {"phone": "139****1111"}
    [ev] = events_of(redis_client, "case_recorded")
    assert ev["case"]["contact"] == {"phone": "139****1111"} and ev["rectification"] == case["rectification"]
    record = rectification.get_record(engine, case["rectification"])
    assert (record["kind"], record["ref"], record["problem"]) == ("case", case["id"], "异地就医备案系统不通")
    refused(redis_client, ConflictError, "appeal_not_allowed", rectification.file_appeal, engine, record["id"],
            clerk="clerk7", grounds="mistaken", reason="x")
    refused(redis_client, ValidationError, "invalid_value", cases.record_case, engine, 7, "clerk7",
            department="x", problem="y", resolved=True, contact_phone="110")


def test_listing_masks_contacts_except_for_supervisors(engine):
    v = serve(engine, 1)
    ratings.rate(engine, 1, v["id"], 1, contact_name="王芳", contact_phone="13812345678")
    [masked] = rectification.list_records(engine)
    [clear] = rectification.list_records(engine, reveal=True)
    assert masked["contact"] == {"name": "王*", "phone": "138****5678"}
    assert clear["contact"] == {"name": "王芳", "phone": "13812345678"}
    with pytest.raises(ValidationError):
        rectification.list_records(engine, state="lost")
