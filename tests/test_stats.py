"""Statistics: a scripted weekday and a scripted weekend day, driven through the HTTP API with a FixedClock, give
exactly the hand-counted figures in every report, in the CSV, live and after archiving."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest
from stats_support import FRI, SAT, at, issue, ok, script_weekday, script_weekend, supervisor

from shared import events
from shared.stats import Archive, archive_closed_days, flatten
from shared.stats.reports import COLUMNS

# ------------------------------------------------------------------------------------------------ hand counts
def dur(n, mean, median, p90):
    return {"n": n, "mean_s": mean, "median_s": median, "p90_s": p90}


NONE = dur(0, None, None, None)


def figs(issued=0, handled=0, consulted=0, no_show=0, transfers=0, cancelled=0, unserved=0, wait=NONE, service=NONE,
         accepted=0, cases=0, open_cases=0, ratings=(), completion=None, satisfaction=None, rects=0, active=None):
    """A row's figures. 好差评: every rating here is a citizen's own first rating at the tablet (so 主动评价 = the
    ratings, no defaults, no 追评); ``rects`` rectification records (差评 and cases), none due or done yet on the
    day of the script; ``active`` = 主动评价率 (rated ÷ served)."""
    levels = {str(lv): sum(1 for r in ratings if r == lv) for lv in (5, 4, 3, 2, 1)}
    satisfied = sum(1 for r in ratings if r >= 3)
    return {"issued": issued, "handled": handled, "consulted": consulted, "no_show": no_show, "transfers": transfers,
            "cancelled": cancelled, "unserved": unserved, "wait": wait, "service_time": service,
            "accepted": accepted, "cases": cases, "open_cases": open_cases, "completed": accepted - open_cases,
            "completion_rate": completion, "ratings": len(ratings), "satisfied": satisfied,
            "satisfaction_rate": satisfaction, "levels": levels,
            "default_ratings": 0, "default_satisfied": 0, "satisfaction_rate_with_default": satisfaction,
            "rated_visits": len(ratings), "active_rating_rate": active, "followups": 0, "invalid_ratings": 0,
            "bad_ratings": sum(1 for r in ratings if r <= 2), "rectifications": rects, "rectified": 0,
            "rectification_rate": 0.0 if rects else None, "rectified_on_time": 0, "rectify_due": 0,
            "on_time_rate": None, "callbacks_due": 0, "called_back": 0, "callback_rate": None, "overdue": 0,
            "appeals": 0, "appeals_upheld": 0, **no_bookings(issued is None, wait),
            "help_requests": None if issued is None else 0}  # kiosks' 需要帮助: not a window's or clerk's figure


def no_bookings(per_window: bool, wait: dict) -> dict:
    """Issue 14's figures of a day of walk-ins only: every wait is a walk-in's; no real-name, booking or remote
    ticket (blank in window and clerk rows: they count per service)."""
    if per_window:
        out = dict.fromkeys(("expired", "realname_issued", "green_auto", "bookings", "remote"))
    else:
        out = {"expired": 0, "realname_issued": 0, "green_auto": 0,
               "bookings": {"made": 0, "cancelled": 0, "rescheduled": 0, "due": 0, "checked_in": 0, "missed": 0,
                            "check_in_rate": None, "no_show_rate": None},
               "remote": {"taken": 0, "activated": 0, "expired": 0, "activation_rate": None}}
    return {**out, "wait_appointment": NONE, "wait_walk_in": wait}


# Friday. Waits (issue → first call): A001 600 s, B001 900 s (first call at window 4), A002 1200 s, F001 2400 s.
# Service (last call → finish): A001 600 s, B001 600 s (called again at window 7 at 09:30), F001 900 s.
# 受理: A001 (handled, no case) + case C1 (B001, open) + case C2 (F001, resolved on the spot) = 3; 未办结 1.
# 好差评: every finished visit was rated (主动评价率 100 %); B001's 不满意 and the two cases opened three
# rectification records, all at window 7 (B001 ended in 办不成事 there).
WEEKDAY = {
    "total": figs(6, 2, 1, 1, 1, 1, 1, dur(4, 1275.0, 1050.0, 2400.0), dur(3, 700.0, 600.0, 900.0),
                  accepted=3, cases=2, open_cases=1, ratings=(5, 2, 4), completion=66.7, satisfaction=66.7, rects=3,
                  active=100.0),
    "service": {
        "renshe": figs(4, 1, 0, 1, 0, 1, 1, dur(2, 900.0, 900.0, 1200.0), dur(1, 600.0, 600.0, 600.0),
                       accepted=1, ratings=(5,), completion=100.0, satisfaction=100.0, active=100.0),
        "shichang": figs(1, 0, 0, 0, 1, 0, 0, dur(1, 900.0, 900.0, 900.0)),
        "bubancheng": figs(1, 1, 1, 0, 0, 0, 0, dur(1, 2400.0, 2400.0, 2400.0), dur(2, 750.0, 750.0, 900.0),
                           accepted=2, cases=2, open_cases=1, ratings=(2, 4), completion=50.0, satisfaction=50.0,
                           rects=3, active=100.0),
        "lingdao": figs(),
    },
    "window": {
        "1": figs(None, 1, 0, 1, 0, None, None, dur(2, 900.0, 900.0, 1200.0), dur(1, 600.0, 600.0, 600.0),
                  accepted=1, ratings=(5,), completion=100.0, satisfaction=100.0, active=100.0),
        "4": figs(None, 0, 0, 0, 1, None, None, dur(1, 900.0, 900.0, 900.0)),
        "7": figs(None, 1, 1, 0, 0, None, None, dur(1, 2400.0, 2400.0, 2400.0), dur(2, 750.0, 750.0, 900.0),
                  accepted=2, cases=2, open_cases=1, ratings=(2, 4), completion=50.0, satisfaction=50.0, rects=3,
                  active=100.0),
        **{str(n): figs(None, cancelled=None, unserved=None) for n in (2, 3, 5, 6)},
    },
}
WEEKDAY["clerk"] = {f"clerk{n}": WEEKDAY["window"][str(n)] for n in (1, 4, 7)}
WEEKEND_TOTAL = figs(2, 1, 1, 0, 0, 0, 0, dur(2, 450.0, 450.0, 600.0), dur(2, 600.0, 600.0, 600.0),
                     accepted=1, ratings=(3, 1), completion=100.0, satisfaction=50.0, rects=1, active=100.0)
# Friday + Saturday: waits 300 600 600 900 1200 2400; service 600 600 600 600 900; ratings 5 2 4 3 1.
BOTH_TOTAL = figs(8, 3, 2, 1, 1, 1, 1, dur(6, 1000.0, 750.0, 2400.0), dur(5, 660.0, 600.0, 900.0),
                  accepted=4, cases=2, open_cases=1, ratings=(5, 2, 4, 3, 1), completion=75.0, satisfaction=60.0,
                  rects=4, active=100.0)


@pytest.fixture
def hall(app, tmp_path, client, clerk_client, clock):
    """The app with its own archive file, plus what a test drives it with."""
    app.config["STATS_ARCHIVE_PATH"] = tmp_path / "stats.sqlite3"

    class Hall:
        pass

    h = Hall()
    h.app, h.client, h.clerk_client, h.clock = app, client, clerk_client, clock
    h.engine = app.extensions["onewindow"].engine
    h.sup = supervisor(app)
    h.archive = Archive(tmp_path / "stats.sqlite3")
    return h


def report(h, **params) -> dict:
    return ok(h.sup.get("/api/v1/supervisor/report", query_string=params))


def rows(rep) -> dict:
    return {r["key"]: r["figures"] for r in rep["rows"]}


def csv_rows(h, **params) -> list[list[str]]:
    r = h.sup.get("/api/v1/supervisor/report.csv", query_string=params)
    assert r.status_code == 200 and r.mimetype == "text/csv"
    text = r.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def assert_csv_matches(h, rep, **params):
    """Every CSV cell is the report's figure (the CSV is the same report, not a recomputation)."""
    table = csv_rows(h, **params)
    assert table[0] == [c[1] for c in COLUMNS]
    body = table[1:]
    expected = [*rep["rows"], rep["total"]]
    assert [r[0] for r in body] == [r["key"] for r in expected]
    for line, row in zip(body, expected):
        flat = flatten(row["figures"])
        for cell, (key, _zh, _en) in zip(line[2:], COLUMNS[2:]):
            value = flat[key]
            assert cell == ("" if value is None else (f"{value:.1f}" if isinstance(value, float) else str(value))), key


# ------------------------------------------------------------------------------------------------ tests
def test_weekday_figures_every_grouping_and_csv(hall):
    script_weekday(hall.clock, hall.client, hall.clerk_client)
    rep = report(hall, period="day")
    assert rep["from"] == rep["to"] == FRI
    assert rep["total"]["figures"] == WEEKDAY["total"]
    assert rows(rep) == {"all": WEEKDAY["total"]}
    for by in ("service", "window", "clerk"):
        rep = report(hall, period="day", by=by)
        assert rows(rep) == WEEKDAY[by], by
        assert rep["total"]["figures"] == WEEKDAY["total"]
        assert_csv_matches(hall, rep, period="day", by=by)
    hours = rows(report(hall, period="day", by="hour"))
    assert {k: (v["issued"], v["handled"], v["consulted"], v["no_show"]) for k, v in hours.items()} == {
        "09": (5, 1, 1, 1), "10": (1, 1, 0, 0)}
    assert next(r["label"] for r in report(hall, period="day", by="window")["rows"]) == "1号窗口 · 人社综合窗口"
    assert_csv_matches(hall, report(hall, period="day", by="hour"), period="day", by="hour")


def test_weekend_rest_days_and_ranges(hall):
    script_weekday(hall.clock, hall.client, hall.clerk_client)
    script_weekend(hall.clock, hall.client, hall.clerk_client)
    sat = report(hall, period="day")
    assert sat["from"] == SAT and sat["total"]["figures"] == WEEKEND_TOTAL
    daytype = report(hall, **{"from": FRI, "to": SAT, "by": "daytype"})
    assert rows(daytype) == {"work": WEEKDAY["total"], "rest": WEEKEND_TOTAL}
    assert [r["label"] for r in daytype["rows"]] == ["工作日", "休息日（周末延时服务）"]
    assert daytype["total"]["figures"] == BOTH_TOTAL
    by_day = report(hall, **{"from": FRI, "to": SAT, "by": "day"})
    assert rows(by_day) == {FRI: WEEKDAY["total"], SAT: WEEKEND_TOTAL}
    week = report(hall, period="week", by="week")  # Mon 11-23 … Sun 11-29
    assert (week["from"], week["to"]) == ("2026-11-23", "2026-11-29")
    assert rows(week) == {"2026-W48": BOTH_TOTAL}
    month = report(hall, period="month", by="month")
    assert (month["from"], month["to"]) == ("2026-11-01", "2026-11-30") and rows(month) == {"2026-11": BOTH_TOTAL}
    for by in ("daytype", "day"):
        assert_csv_matches(hall, report(hall, **{"from": FRI, "to": SAT, "by": by}), **{"from": FRI, "to": SAT, "by": by})
    assert report(hall, **{"from": "2026-11-01", "to": "2026-11-26"})["total"]["figures"] == figs()


def test_archiving_changes_no_figure_and_trims_only_archived_days(hall):
    script_weekday(hall.clock, hall.client, hall.clerk_client)
    script_weekend(hall.clock, hall.client, hall.clerk_client)
    at(hall.clock, "2026-11-29", "09:00")
    issue(hall.client, "renshe")  # Sunday (today): never archived, never trimmed
    queries = [{"from": FRI, "to": SAT, "by": by} for by in ("total", "day", "daytype", "service", "window", "clerk", "hour")]
    # whole months: archived days come from the month's merged runs
    queries += [{"from": "2026-11-01", "to": "2026-11-30", "by": by} for by in ("total", "month", "service", "week")]
    queries += [{"from": "2026-10-01", "to": "2026-12-31", "by": "clerk"}]
    before = [report(hall, **q) for q in queries]
    csv_before = [csv_rows(hall, **q) for q in queries]
    stream_before = hall.engine.redis.xlen(hall.engine.keys.events)

    result = ok(hall.sup.post("/api/v1/supervisor/archive"))
    assert result["archived"] == [FRI, SAT] and result["trimmed"] == 0  # keep_days 7: nothing old enough
    again = ok(hall.sup.post("/api/v1/supervisor/archive"))
    assert again["archived"] == []  # idempotent: nothing new for those days
    assert set(hall.archive.days()) == {FRI, SAT}

    stats = hall.app.extensions["onewindow"].stats
    trimmed = archive_closed_days(hall.engine, stats.archive, keep_days=0).trimmed
    left = hall.engine.events_since()
    assert trimmed == stream_before - len(left) > 0
    assert {e.data["ticket"]["day"] for e in left if "ticket" in e.data} == {"20261129"}

    after = [report(hall, **q) for q in queries]
    for b, a in zip(before, after):
        assert a["rows"] == b["rows"] and a["total"] == b["total"], b["by"]
    assert [csv_rows(hall, **q) for q in queries] == csv_before


def test_trim_never_removes_what_is_not_archived(hall):
    script_weekday(hall.clock, hall.client, hall.clerk_client)
    at(hall.clock, "2026-11-29", "09:00")
    from shared.stats import trim_stream

    n = hall.engine.redis.xlen(hall.engine.keys.events)
    assert trim_stream(hall.engine, hall.archive, keep_days=0) == 0  # Friday is not archived
    assert hall.engine.redis.xlen(hall.engine.keys.events) == n


def test_late_events_update_an_archived_day(hall):
    script_weekday(hall.clock, hall.client, hall.clerk_client)
    at(hall.clock, "2026-11-28", "08:00")
    stats_archive = Archive(hall.app.config["STATS_ARCHIVE_PATH"])
    assert archive_closed_days(hall.engine, stats_archive).archived == [FRI]
    # a follow-up and a (late) rating of a Friday ticket, recorded on Saturday
    a2 = hall.engine.get_ticket("20261127-A002")
    t = {"id": a2["id"], "day": "20261127", "number": "A002", "service": "renshe", "issued_ms": 0, "clerk": "clerk1"}
    hall.engine.record_event(events.TICKET_RATED, {"ticket": t, "window": 1, "level": 5, "label": "非常满意"})
    assert archive_closed_days(hall.engine, stats_archive).archived == [FRI]
    fri = report(hall, period="day", date=FRI)["total"]["figures"]
    assert fri["ratings"] == 4 and fri["satisfied"] == 3 and fri["satisfaction_rate"] == 75.0


def test_followups_list_resolve_and_completion_rate(hall):
    script_weekday(hall.clock, hall.client, hall.clerk_client)
    script_weekend(hall.clock, hall.client, hall.clerk_client)
    at(hall.clock, SAT, "10:20")
    items = ok(hall.sup.get("/api/v1/supervisor/followups"))["items"]
    assert [(i["kind"], i["number"], i["day"]) for i in items] == [  # oldest first
        ("case", "B001", FRI), ("rating", "B001", FRI), ("rating", "B001", SAT)]
    case, rating, _ = items
    assert rating["level"] == 2 and rating["level_label"] == "不满意" and rating["window"] == 7
    assert rating["clerk"] == "clerk7" and rating["age_s"] == 24 * 3600 + 40 * 60  # Fri 09:40 → Sat 10:20
    assert case["department"] == "市场监管局" and case["ref"] == "C000001" and case["status"] == "open"
    assert case["age_s"] == 24 * 3600 + 45 * 60

    before = hall.engine.last_seq()
    r = ok(hall.sup.post("/api/v1/supervisor/followups/case/C000001/resolve", json={"note": "已电话回访，材料补齐办结"}))
    assert r["followup"]["by"] == "supervisor"
    ev = hall.engine.events_since()[-1]
    assert ev.seq == before + 1 and ev.type == events.CASE_RESOLVED
    assert {k: ev.data[k] for k in ("ref", "by", "note")} == {"ref": "C000001", "by": "supervisor", "note": "已电话回访，材料补齐办结"}
    assert ok(hall.sup.post("/api/v1/supervisor/followups/rating/20261127-B001/resolve", json={}))
    assert hall.engine.events_since()[-1].type == events.RATING_FOLLOWED_UP

    items = ok(hall.sup.get("/api/v1/supervisor/followups"))["items"]
    assert [(i["kind"], i["day"]) for i in items] == [("rating", SAT)]
    done = ok(hall.sup.get("/api/v1/supervisor/followups", query_string={"status": "done"}))["items"]
    assert {(i["kind"], i["ref"], i["resolved_by"]) for i in done} == {("case", "C000001", "supervisor"),
                                                                        ("rating", "20261127-B001", "supervisor")}
    assert next(i for i in done if i["kind"] == "case")["resolved_at"] == "2026-11-28T10:20:00+08:00"
    # the case is resolved now: Friday's 办结率 is 100 % (as of the report)
    fri = report(hall, period="day", date=FRI)["total"]["figures"]
    assert (fri["accepted"], fri["open_cases"], fri["completed"], fri["completion_rate"]) == (3, 0, 3, 100.0)

    seq = hall.engine.last_seq()
    for path, status, code in [
        ("/api/v1/supervisor/followups/case/C000001/resolve", 409, "already_resolved"),
        ("/api/v1/supervisor/followups/rating/20261127-B001/resolve", 409, "already_followed_up"),
        ("/api/v1/supervisor/followups/case/C999999/resolve", 404, "not_found"),
        ("/api/v1/supervisor/followups/rating/20261127-A001/resolve", 404, "not_found"),  # rated 5: nothing to follow
        ("/api/v1/supervisor/followups/rating/nonsense/resolve", 404, "not_found"),
        ("/api/v1/supervisor/followups/other/x/resolve", 400, "invalid_value"),
    ]:
        r = hall.sup.post(path, json={})
        assert r.status_code == status and r.get_json()["error"]["code"] == code, path
    r = hall.sup.post("/api/v1/supervisor/followups/rating/20261128-B001/resolve", json={"note": "x" * 501})
    assert r.status_code == 400
    assert hall.engine.last_seq() == seq  # refused requests append nothing


def test_cumulative_totals_and_the_report_sentence(hall):
    script_weekday(hall.clock, hall.client, hall.clerk_client)
    script_weekend(hall.clock, hall.client, hall.clerk_client)
    cum = ok(hall.sup.get("/api/v1/supervisor/cumulative"))
    assert (cum["from"], cum["to"]) == (FRI, SAT)  # no start_date configured: the first day on record
    assert cum["total"] == BOTH_TOTAL and cum["rest_days"] == WEEKEND_TOTAL
    assert "周末延时服务累计办件1件、接受咨询1件" in cum["sentence"]
    assert "人社综合窗口累计办件2件、接受咨询0件" in cum["sentence"]
    assert "申请事项办结率75%，群众满意率60%（5条评价）" in cum["sentence"]
    assert "weekend service handled 1, consulted 1" in cum["sentence_en"]


def test_start_date_from_config(hall, hall_config):
    import dataclasses

    from shared.config import StatisticsSettings

    script_weekday(hall.clock, hall.client, hall.clerk_client)
    script_weekend(hall.clock, hall.client, hall.clerk_client)
    stats = hall.app.extensions["onewindow"].stats
    stats.config = dataclasses.replace(hall_config, statistics=StatisticsSettings(start_date=datetime(2026, 11, 28).date()))
    cum = stats.cumulative()
    assert cum["from"] == SAT and cum["total"] == WEEKEND_TOTAL


def test_report_requests_are_checked(hall, client, clerk_client):
    assert client.get("/api/v1/supervisor/report").status_code == 401
    r = clerk_client(1).get("/api/v1/supervisor/report")
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "not_supervisor"
    for params, code in [({"by": "galaxy"}, "invalid_value"), ({"from": "2026-13-01"}, "invalid_value"),
                         ({"from": "2026-11-27", "to": "2026-11-01"}, "invalid_range"),
                         ({"period": "decade"}, "invalid_value"), ({"from": "2000-01-01", "to": "2026-01-01"}, "invalid_range")]:
        r = hall.sup.get("/api/v1/supervisor/report", query_string=params)
        assert r.status_code == 400 and r.get_json()["error"]["code"] == code, params
    assert hall.sup.get("/api/v1/supervisor/report.csv", query_string={"lang": "fr"}).status_code == 400
    assert hall.sup.get("/api/v1/supervisor/followups", query_string={"status": "maybe"}).status_code == 400


def test_charts_are_svg_with_the_reports_numbers(hall):
    script_weekday(hall.clock, hall.client, hall.clerk_client)
    for name, needle in (("load", "每小时取号与办结"), ("wait", "各业务等候时长"), ("satisfaction", "群众满意率趋势")):
        r = hall.sup.get(f"/api/v1/supervisor/charts/{name}.svg", query_string={"period": "day"})
        assert r.status_code == 200 and r.mimetype == "image/svg+xml"
        svg = r.get_data(as_text=True)
        assert svg.startswith("<svg") and needle in svg and "http://" not in svg.replace("http://www.w3.org/2000/svg", "")
    load = hall.sup.get("/api/v1/supervisor/charts/load.svg", query_string={"period": "day"}).get_data(as_text=True)
    assert "09:00 取号 5" in load and "10:00 取号 1" in load
    wait = hall.sup.get("/api/v1/supervisor/charts/wait.svg", query_string={"period": "day", "lang": "en"}).get_data(as_text=True)
    assert "Waiting time by service" in wait and "Can&apos;t" not in wait and "Market Regulation Mean 15.0" in wait
    sat = hall.sup.get("/api/v1/supervisor/charts/satisfaction.svg", query_string={"period": "day"}).get_data(as_text=True)
    assert "66.7%" in sat
    assert hall.sup.get("/api/v1/supervisor/charts/pie.svg").status_code == 400


@pytest.mark.parametrize("shape", [(1, 50), (40, 3), (12, 5000), (365, 200), (30, 1)])
def test_exact_percentiles_over_sorted_runs(shape):
    """Median and P90 over many sorted runs (days, months) equal those of the merged list, whichever way they are
    found (one run, sorting short runs, or the bisect search over long ones)."""
    import random
    from array import array
    from decimal import Decimal

    from shared.stats.figures import duration_figures, seconds

    rng = random.Random(sum(shape))
    runs_n, length = shape
    runs = [array("i", sorted(rng.choice((rng.randint(0, 3_600_000), rng.randint(0, 50) * 1000))
                             for _ in range(rng.randint(max(1, length // 2), length)))) for _ in range(runs_n)]
    values = sorted(v for r in runs for v in r)
    n = len(values)
    median = values[n // 2] if n % 2 else Decimal(values[n // 2 - 1] + values[n // 2]) / 2
    expected = {"n": n, "mean_s": seconds(Decimal(sum(values)) / n), "median_s": seconds(median),
                "p90_s": seconds(values[-(-9 * n // 10) - 1])}
    assert duration_figures(runs) == expected
    assert duration_figures(runs, sum(values)) == expected


def test_a_case_resolved_after_its_day_was_archived(hall):
    """The resolution (a later day) links back to the archived case: 办结率 as of the report, live and archived."""
    script_weekday(hall.clock, hall.client, hall.clerk_client)
    at(hall.clock, "2026-11-28", "09:00")
    ok(hall.sup.post("/api/v1/supervisor/archive"))
    assert report(hall, period="day", date=FRI)["total"]["figures"]["completion_rate"] == 66.7
    ok(hall.sup.post("/api/v1/supervisor/followups/case/C000001/resolve", json={"note": "已办结"}))
    assert report(hall, period="day", date=FRI)["total"]["figures"]["completion_rate"] == 100.0  # resolution: live
    at(hall.clock, "2026-11-29", "09:00")
    assert ok(hall.sup.post("/api/v1/supervisor/archive"))["archived"] == [SAT]
    fri = report(hall, period="day", date=FRI)["total"]["figures"]
    assert (fri["open_cases"], fri["completion_rate"]) == (0, 100.0)  # resolution: archived with Saturday
    done = ok(hall.sup.get("/api/v1/supervisor/followups", query_string={"status": "done"}))["items"]
    assert [(i["ref"], i["resolution_note"]) for i in done] == [("C000001", "已办结")]
    opened = ok(hall.sup.get("/api/v1/supervisor/followups"))["items"]
    assert [(i["kind"], i["ref"]) for i in opened] == [("rating", "20261127-B001")]
