"""The figures of issue 14: bookings made and cancelled (on the day it happened), checked in and missed (on the slot's
day), check-in rate and 爽约率, remote tickets taken / activated / lapsed, waits of appointments vs walk-ins — per
service and day, the same from the live stream and from the archive, in the report and its CSV."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest
from reception_support import ADULT, OTHER, SENIOR, booking_hall, make_number, person, with_remote

from shared import bookings, remote
from shared.checkin import check_in
from shared.engine import Engine
from shared.errors import ConflictError
from shared.stats import Archive, Stats, archive_closed_days, report_csv

WED, THU, FRI, SAT = date(2026, 11, 25), date(2026, 11, 26), date(2026, 11, 27), date(2026, 11, 28)


def at(clock, day: date, hhmm: str) -> None:
    clock.set(datetime.combine(day, datetime.strptime(hhmm, "%H:%M").time(), tzinfo=clock.tz))


def script(engine: Engine, clock) -> None:
    at(clock, WED, "10:00")
    codes = {}
    for who, start in ((ADULT, "2026-11-27T10:30"), (OTHER, "2026-11-27T10:30"), (SENIOR, "2026-11-27T11:00")):
        held = bookings.hold(engine, "renshe", start, person(engine.config, who, WED), channel="province")
        codes[who] = bookings.confirm(engine, held["code"])["code"]
    bookings.hold(engine, "renshe", "2026-11-27T09:00", person(engine.config, "11010519491231002X", WED))  # a hold only
    at(clock, THU, "16:00")
    bookings.cancel(engine, codes[SENIOR])
    at(clock, FRI, "10:10")
    check_in(engine, identity=person(engine.config, ADULT, FRI))  # early, within its window
    walk_in = engine.issue("renshe").ticket
    at(clock, FRI, "10:20")
    assert engine.call_next(1)["id"] == walk_in["id"]  # walk-in wait 600 s
    engine.finish(1, "handled")
    at(clock, FRI, "10:35")
    assert engine.call_next(1)["appointment"]  # appointment wait: 10:30 → 10:35 = 300 s
    engine.finish(1, "handled")
    at(clock, FRI, "10:40")
    r1 = remote.take(engine, "renshe", person(engine.config, make_number("440524", date(1991, 1, 1), 14), FRI)).ticket
    remote.take(engine, "renshe", person(engine.config, SENIOR, FRI))
    at(clock, FRI, "10:45")
    check_in(engine, code=r1["token"])
    at(clock, FRI, "10:50")
    assert bookings.sweep(engine).missed == 1  # OTHER never came: its window closed at 10:45
    assert engine.call_next(2)["id"] == r1["id"]
    engine.finish(2, "consulted")
    with pytest.raises(ConflictError) as err:
        engine.call_next(2)  # the other remote ticket lapses
    assert err.value.code == "queue_empty"


@pytest.fixture
def hall(redis_client, hall_config, clock, tmp_path):
    engine = Engine(redis_client, with_remote(booking_hall(hall_config)), clock)
    return engine, Stats(engine, Archive(tmp_path / "stats.sqlite3"))


def test_booking_remote_and_wait_figures_live_and_archived(hall, clock):
    engine, stats = hall
    script(engine, clock)
    by_day = {r["key"]: r["figures"] for r in stats.report(WED, FRI, "day")["rows"]}
    assert by_day["2026-11-25"]["bookings"] == {"made": 3, "cancelled": 0, "rescheduled": 0, "due": 0,
                                                "checked_in": 0, "missed": 0, "check_in_rate": None,
                                                "no_show_rate": None}
    assert by_day["2026-11-26"]["bookings"]["cancelled"] == 1
    fri = by_day["2026-11-27"]
    assert fri["bookings"] == {"made": 0, "cancelled": 0, "rescheduled": 0, "due": 2, "checked_in": 1, "missed": 1,
                               "check_in_rate": 50.0, "no_show_rate": 50.0}
    assert fri["remote"] == {"taken": 2, "activated": 1, "expired": 1, "activation_rate": 50.0}
    assert (fri["issued"], fri["handled"], fri["consulted"], fri["expired"], fri["unserved"], fri["realname_issued"]) == (4, 2, 1, 1, 0, 3)
    assert fri["wait_appointment"] == {"n": 1, "mean_s": 300.0, "median_s": 300.0, "p90_s": 300.0}
    assert fri["wait_walk_in"] == {"n": 1, "mean_s": 600.0, "median_s": 600.0, "p90_s": 600.0}
    assert fri["wait"]["n"] == 3  # the remote ticket's wait counts in the overall wait, in neither kind
    live = stats.report(WED, FRI, "service")
    assert live["rows"][0]["key"] == "renshe" and live["rows"][0]["figures"]["bookings"]["made"] == 3
    window = {r["key"]: r["figures"] for r in stats.report(FRI, FRI, "window")["rows"]}["1"]
    assert window["bookings"] is None and window["wait_appointment"]["n"] == 1  # bookings count per service
    # archived, the same figures
    at(clock, SAT, "08:00")
    assert archive_closed_days(engine, stats.archive, trim=False).archived == ["2026-11-25", "2026-11-26", "2026-11-27"]
    archived = Stats(engine, Archive(stats.archive.path))
    assert archived.report(WED, FRI, "day") == {**stats.report(WED, FRI, "day"),
                                                "as_of": archived.report(WED, FRI, "day")["as_of"]}
    assert archived.report(WED, FRI, "service")["rows"] == stats.report(WED, FRI, "service")["rows"]
    # the CSV has the columns and the report's numbers
    table = list(csv.reader(io.StringIO(report_csv(archived.report(FRI, FRI, "day"))[1:])))
    row = dict(zip(table[0], table[1]))
    assert (row["爽约率(%)"], row["签到率(%)"], row["远程取号"], row["远程取号失效"]) == ("50.0", "50.0", "2", "1")
    assert (row["预约平均等候(秒)"], row["现场平均等候(秒)"], row["实名取号"]) == ("300.0", "600.0", "3")
    en = list(csv.reader(io.StringIO(report_csv(archived.report(FRI, FRI, "day"), "en")[1:])))
    assert "No-show rate (%)" in en[0] and "Mean appointment wait (s)" in en[0]
