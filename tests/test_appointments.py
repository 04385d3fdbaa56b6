"""Appointments: slots from the config and the hall's calendar, hold → confirm → cancel / reschedule, one booking per
person, service and day, the no-show ban, and check-in at the kiosk early, on time and late — with the appointment
band ahead of walk-ins for its slot."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta

import pytest
from reception_support import ADULT, OTHER, SENIOR, booking_hall, events_of, make_number, person, with_rules

from shared import bookings
from shared.checkin import check_in
from shared.engine import Engine
from shared.keys import day_key
from shared.errors import NotFoundError, RuleRefusedError, ValidationError
from shared.schedule import DayOverride
from shared.redis_client import connect

FRIDAY = date(2026, 11, 27)  # the clock's day (10:00)
MONDAY = date(2026, 11, 30)


def at(engine: Engine, day: date, hhmm: str) -> datetime:
    return datetime.combine(day, datetime.strptime(hhmm, "%H:%M").time(), tzinfo=engine.config.timezone)


def book(engine: Engine, who: str = ADULT, start: str = "2026-11-30T09:30", **kw) -> dict:
    held = bookings.hold(engine, "renshe", start, person(engine.config, who), **kw)
    return bookings.confirm(engine, held["code"])


@pytest.fixture
def hall(redis_client, hall_config, clock):
    return Engine(redis_client, booking_hall(hall_config), clock)


def test_a_served_hall_runs_the_sweep_and_stops_it_at_shutdown(hall, clock, redis_server):
    """create_app starts the reception worker (as it starts the archiver): a hold that ran out is released without
    anyone calling sweep(); close_app stops the worker."""
    from faults import wait_for
    from onewindow import create_app
    from onewindow.serving import close_app

    held = bookings.hold(hall, "renshe", "2026-11-30T09:30", person(hall.config, ADULT))
    clock.advance(minutes=5)
    app = create_app({"TESTING": True, "CONFIG": hall.config, "REDIS_URL": redis_server.url, "CLOCK": clock,
                      "START_RELAY": False, "START_ARCHIVER": False, "START_HAOCAIPING": False,
                      "START_RECEPTION": True})
    worker = app.extensions["onewindow_reception"]
    try:
        wait_for(lambda: bookings.get(hall, held["code"])["state"] == "expired", 20, "the sweep releases the hold")
    finally:
        close_app(app)
    wait_for(lambda: not worker._thread.is_alive(), 20, "the worker stops")


# ------------------------------------------------------------------------------------------------ slots
def test_slots_follow_the_hours_the_calendar_and_the_days_ahead(hall, clock):
    monday = bookings.slots(hall, "renshe", MONDAY)
    assert [s["slot"] for s in monday] == ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30",
                                           "14:00", "14:30", "15:00", "15:30", "16:00", "16:30"]
    assert all(s["capacity"] == 2 and s["left"] == 2 and s["bookable"] for s in monday)
    today = bookings.slots(hall, "renshe", FRIDAY)  # 10:00 now: the past and the current slot are not bookable
    assert [s["slot"] for s in today if s["bookable"]][:2] == ["10:30", "11:00"]
    assert bookings.slots(hall, "renshe", date(2026, 11, 28)) == []  # Saturday: no appointment hours
    assert not any(s["bookable"] for s in bookings.slots(hall, "renshe", date(2026, 12, 7)))  # 10 days ahead
    hall.rota.set(hall.config, MONDAY, DayOverride(kind="holiday", by="supervisor"), today=FRIDAY, now_ms=clock.now_ms())
    assert bookings.slots(hall, "renshe", MONDAY) == []
    with pytest.raises(RuleRefusedError) as err:
        bookings.hold(hall, "renshe", "2026-11-30T09:30", person(hall.config))
    assert err.value.code == "slot_unavailable" and "不可预约" in err.value.details["message_zh"]
    with pytest.raises(RuleRefusedError) as err:
        bookings.slots(hall, "shichang", MONDAY)
    assert err.value.code == "appointments_disabled"


# ------------------------------------------------------------------------------------------------ lifecycle
def test_a_days_slot_counts_live_until_two_days_after_it_on_the_halls_clock(hall, redis_client):
    """The counts of a day's slots are kept until two days after that day *by the hall's clock*, as a time to live
    from the hall's now: Redis's own clock (another host's, or real time against a test's fixed day) does not
    decide when they go. They used to be set to expire at that instant on Redis's clock: on a Redis host whose
    clock ran past it, a confirmed booking's count vanished at once and the slot took more people than it holds."""
    held = book(hall)
    bookings.confirm(hall, held["code"])
    key = hall.keys.slot_counts("renshe", day_key(MONDAY))
    until = datetime(2026, 12, 3, tzinfo=hall.config.timezone)                    # Monday + 3 days, at midnight
    want_ms = (until - hall.clock.now()).total_seconds() * 1000
    assert abs(redis_client.pttl(key) - want_ms) < 60_000
    moved = bookings.reschedule(hall, held["code"], "2026-12-01T09:30")                 # the day it moves to: the same rule
    assert moved["slot"] == "09:30"
    later = hall.keys.slot_counts("renshe", day_key(date(2026, 12, 1)))
    want_ms = (until + timedelta(days=1) - hall.clock.now()).total_seconds() * 1000
    assert abs(redis_client.pttl(later) - want_ms) < 60_000


def test_hold_confirm_get_cancel(hall, redis_client):
    held = bookings.hold(hall, "renshe", "2026-11-30T09:30", person(hall.config, name="李明"), phone="13812345678")
    assert held["state"] == "held" and held["hold_until"].startswith("2026-11-27T10:05")
    assert len(held["code"]) == 9 and held["code"][4] == "-" and held["qr"].endswith("/b/" + held["code"])
    assert held["id_masked"] == "3404**********" + ADULT[-4:] and held["contact"] == {"phone": "138****5678"}
    assert (held["slot"], held["start"], held["check_in"]["opens"]) == \
        ("09:30", "2026-11-30T09:30:00+08:00", "2026-11-30T09:00:00+08:00")
    confirmed = bookings.confirm(hall, held["code"].lower().replace("-", " "))
    assert confirmed["state"] == "confirmed" and confirmed["id"] == held["id"]
    assert bookings.confirm(hall, held["code"])["state"] == "confirmed"  # again: as it is
    assert bookings.get(hall, held["code"])["state"] == "confirmed"
    assert [s["left"] for s in bookings.slots(hall, "renshe", MONDAY)][1] == 1
    stream = str(events_of(redis_client))
    assert held["code"].replace("-", "") not in stream and "13812345678" not in stream
    assert [e["booking"]["state"] for e in events_of(redis_client) if "booking" in e] == ["held", "confirmed"]
    cancelled = bookings.cancel(hall, held["code"])
    assert cancelled["state"] == "cancelled"
    assert [s["left"] for s in bookings.slots(hall, "renshe", MONDAY)][1] == 2
    with pytest.raises(RuleRefusedError) as err:
        bookings.confirm(hall, held["code"])
    assert err.value.code == "booking_closed" and "已取消" in err.value.details["message_zh"]
    with pytest.raises(NotFoundError):
        bookings.get(hall, "ABCD-EFGH")
    with pytest.raises(NotFoundError):
        bookings.get(hall, "not a code at all")


def test_a_hold_that_runs_out_frees_its_place(hall, clock):
    first = bookings.hold(hall, "renshe", "2026-11-30T09:30", person(hall.config, ADULT))
    bookings.hold(hall, "renshe", "2026-11-30T09:30", person(hall.config, OTHER))
    with pytest.raises(RuleRefusedError) as err:  # two places, two holds
        bookings.hold(hall, "renshe", "2026-11-30T09:30", person(hall.config, SENIOR))
    assert err.value.code == "slot_full"
    clock.advance(minutes=5)
    with pytest.raises(RuleRefusedError) as err:
        bookings.confirm(hall, first["code"])
    assert err.value.code == "hold_expired"
    third = bookings.hold(hall, "renshe", "2026-11-30T09:30", person(hall.config, SENIOR))  # before any sweep
    assert bookings.sweep(hall).expired == 2
    assert bookings.get(hall, first["code"])["state"] == "expired"
    # the same person may hold again now that their hold is gone
    again = bookings.hold(hall, "renshe", "2026-11-30T09:30", person(hall.config, ADULT))
    assert bookings.confirm(hall, again["code"])["state"] == "confirmed"
    assert bookings.confirm(hall, third["code"])["state"] == "confirmed"


def test_one_booking_per_person_service_and_day(hall):
    book(hall)
    with pytest.raises(RuleRefusedError) as err:
        bookings.hold(hall, "renshe", "2026-11-30T15:00", person(hall.config))
    assert err.value.code == "booking_exists" and "每人每天限约一次" in err.value.details["message_zh"]
    book(hall, start="2026-12-01T15:00")  # another day is fine


def test_a_hold_sent_again_is_one_booking(hall):
    me = person(hall.config)
    a = bookings.hold(hall, "renshe", "2026-11-30T09:30", me, request_id="phone-req-0001")
    b = bookings.hold(hall, "renshe", "2026-11-30T09:30", me, request_id="phone-req-0001")
    assert a["id"] == b["id"] and a["code"] == b["code"]
    assert bookings.slots(hall, "renshe", MONDAY)[1]["held"] == 1


def test_reschedule_moves_the_place(hall):
    code = book(hall)["code"]
    moved = bookings.reschedule(hall, code, "2026-12-01T14:30")
    assert (moved["day"], moved["slot"], moved["state"], moved["code"]) == ("2026-12-01", "14:30", "confirmed", code)
    assert bookings.slots(hall, "renshe", MONDAY)[1]["booked"] == 0
    assert [s for s in bookings.slots(hall, "renshe", date(2026, 12, 1)) if s["slot"] == "14:30"][0]["booked"] == 1
    with pytest.raises(RuleRefusedError) as err:
        bookings.reschedule(hall, code, "2026-12-01T14:30")
    assert err.value.code == "same_slot"
    book(hall, OTHER, "2026-12-02T09:00")
    book(hall, SENIOR, "2026-12-02T09:00")
    with pytest.raises(RuleRefusedError) as err:
        bookings.reschedule(hall, code, "2026-12-02T09:00")
    assert err.value.code == "slot_full"


def test_sixteen_clients_book_the_last_ten_places_of_a_slot_at_once(redis_server, redis_client, hall_config, clock):
    config = booking_hall(hall_config, capacity=12)
    engine = Engine(redis_client, config, clock)
    book(engine, make_number(born=date(1970, 1, 1), seq=1))
    book(engine, make_number(born=date(1970, 1, 1), seq=2))
    people = [person(config, make_number(born=date(1980, 1, 1), seq=100 + i)) for i in range(16)]
    barrier = threading.Barrier(16)

    def client(i: int) -> str:
        eng = Engine(connect(redis_server.url), config, clock)  # a connection per client, like separate workers
        barrier.wait()
        try:
            held = bookings.hold(eng, "renshe", "2026-11-30T09:30", people[i], request_id=f"client-{i:04d}")
            return bookings.confirm(eng, held["code"])["state"]
        except RuleRefusedError as exc:
            return exc.code

    with ThreadPoolExecutor(16) as pool:
        outcomes = list(pool.map(client, range(16)))
    assert sorted(outcomes) == ["confirmed"] * 10 + ["slot_full"] * 6
    slot = bookings.slots(engine, "renshe", MONDAY)[1]
    assert (slot["booked"], slot["held"], slot["left"]) == (12, 0, 0)
    assert len(events_of(redis_client, "booking_confirmed")) == 12


# ------------------------------------------------------------------------------------------------ no-show ban
def test_missed_bookings_bar_booking_for_a_while(redis_client, hall_config, clock):
    config = with_rules(booking_hall(hall_config), noshow_limit=2, noshow_days=30, ban_days=7)
    engine = Engine(redis_client, config, clock)
    me = person(config)
    book(engine, start="2026-11-27T14:00")
    book(engine, start="2026-11-30T09:00")
    clock.set(at(engine, FRIDAY, "14:16"))  # the check-in window closed at 14:15
    assert bookings.sweep(engine).missed == 1
    clock.set(at(engine, MONDAY, "09:16"))
    assert bookings.sweep(engine).missed == 1
    assert [e["booking"]["state"] for e in events_of(redis_client, "booking_missed")] == ["missed", "missed"]
    with pytest.raises(RuleRefusedError) as err:
        bookings.hold(engine, "renshe", "2026-12-01T09:00", me)
    e = err.value
    assert e.code == "id_banned" and e.details["until_ms"] == int((at(engine, MONDAY, "09:16") + timedelta(days=7)).timestamp() * 1000)
    assert "2026-12-07 09:16前暂停您的预约和远程取号" in e.details["message_zh"]
    engine.issue("renshe", identity=me)  # a walk-in ticket is not barred
    clock.set(at(engine, date(2026, 12, 7), "09:17"))
    bookings.hold(engine, "renshe", "2026-12-08T09:00", me)


# ------------------------------------------------------------------------------------------------ check-in
def test_check_in_early_on_time_and_late(redis_client, hall_config, clock):
    engine = Engine(redis_client, booking_hall(hall_config, capacity=3), clock)
    early = book(engine, ADULT, "2026-11-30T10:00")
    on_time = book(engine, OTHER, "2026-11-30T10:00")
    late = book(engine, make_number(born=date(1975, 3, 3), seq=77), "2026-11-30T10:00")
    clock.set(at(engine, MONDAY, "09:25"))
    with pytest.raises(RuleRefusedError) as err:  # 35 minutes early: check-in opens at 09:30
        check_in(engine, identity=person(engine.config, ADULT, MONDAY))
    assert err.value.code == "too_early" and "09:30起可签到" in err.value.details["message_zh"]
    walk_in = engine.issue("renshe").ticket
    clock.set(at(engine, MONDAY, "09:40"))
    mine = check_in(engine, identity=person(engine.config, ADULT, MONDAY))["tickets"][0]  # early, within the window
    assert (mine["appointment"], mine["slot"], mine["booking"]) == (True, "10:00", early["id"])
    theirs = check_in(engine, code=on_time["code"], kiosk="lobby-1")["tickets"][0]
    assert theirs["appointment"] and theirs["token"]
    # before 10:00 the walk-in goes first (the appointments wait for their slot) …
    assert engine.call_next(1)["id"] == walk_in["id"]
    later_walk_in = engine.issue("renshe").ticket
    clock.set(at(engine, MONDAY, "10:00"))
    # … from 10:00 the appointments go before every walk-in, in check-in order of their slot
    assert [engine.call_next(n)["id"] for n in (2, 3)] == [mine["id"], theirs["id"]]
    # 20 minutes after the slot: the check-in window closed at 10:15 — missed, and a walk-in ticket at the back
    clock.set(at(engine, MONDAY, "10:20"))
    result = check_in(engine, code=late["code"])
    [ticket] = result["tickets"]
    assert result["items"][0]["outcome"] == "walk_in" and not ticket["appointment"]
    assert bookings.get(engine, late["code"])["state"] == "missed"
    assert engine.call_next(5)["id"] == later_walk_in["id"]
    assert engine.call_next(6)["id"] == ticket["id"]
    # checking in again answers the same ticket
    assert check_in(engine, code=on_time["code"])["tickets"][0]["id"] == theirs["id"]
    kinds = [e["type"] for e in events_of(redis_client) if e["type"].startswith("booking_")]
    assert kinds.count("booking_checked_in") == 2 and kinds.count("booking_missed") == 1


def test_late_arrivals_are_refused_when_the_service_says_so(redis_client, hall_config, clock):
    engine = Engine(redis_client, booking_hall(hall_config, late="refuse"), clock)
    code = book(engine, start="2026-11-27T10:30")["code"]
    clock.set(at(engine, FRIDAY, "10:46"))
    with pytest.raises(RuleRefusedError) as err:
        check_in(engine, code=code)
    assert err.value.code == "too_late" and "10:45" in err.value.details["message_zh"]
    assert bookings.get(engine, code)["state"] == "confirmed"  # the refusal changed nothing; the sweep marks it
    assert bookings.sweep(engine).missed == 1


def test_check_in_by_card_of_a_70_year_old_is_green_and_other_days_are_not_today(redis_client, hall_config, clock):
    engine = Engine(redis_client, with_rules(booking_hall(hall_config), green_age=70), clock)
    book(engine, SENIOR, "2026-11-27T10:30")
    monday = book(engine, OTHER, "2026-11-30T10:30")
    [ticket] = check_in(engine, identity=person(engine.config, SENIOR))["tickets"]
    assert ticket["priority"] and ticket["green"] == "age" and ticket["booking"]
    with pytest.raises(RuleRefusedError) as err:
        check_in(engine, code=monday["code"])
    assert err.value.code == "not_today" and "2026-11-30" in err.value.details["message_zh"]
    with pytest.raises(NotFoundError) as err:
        check_in(engine, identity=person(engine.config, ADULT))
    assert err.value.code == "nothing_booked" and err.value.details["message_zh"]
    with pytest.raises(ValidationError):
        check_in(engine, identity=person(engine.config, ADULT), code=monday["code"])


def test_the_recent_calls_keep_the_appointment_mark(hall, clock):
    """The hall display's list of recent calls marks an appointment's number 预约 after it left its window too: the
    stored call carries the flag (a walk-in's does not)."""
    booked = book(hall, ADULT, "2026-11-27T10:30")
    [mine] = check_in(hall, code=booked["code"])["tickets"]
    assert hall.call_next(1)["id"] == mine["id"]  # nobody else waits: the early appointment is served
    hall.finish(1, "handled")
    walk_in = hall.issue("renshe").ticket
    assert hall.call_next(1)["id"] == walk_in["id"]
    recent = {c["id"]: c for c in hall.snapshot()["recent_calls"]}
    assert recent[mine["id"]].get("appointment") is True
    assert not recent[walk_in["id"]].get("appointment")
