"""好差评 figures: 满意率 with and without default ratings, 主动评价率, 差评数, 整改率, 按时整改率, 回访率 — per window,
clerk, service and 事项, hand-counted from a scripted Friday; an upheld appeal takes its 差评 out of 满意率; the
same before and after archiving, and in the CSV."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest
from haocaiping_support import serve

from shared import ratings, rectification
from shared.stats import Archive, Stats, archive_closed_days, report_csv
from shared.stats.archive import SCHEMA_VERSION
from shared.stats.overview import overview

FRI = date(2026, 11, 27)


def at(clock, text: str) -> None:
    clock.set(datetime.fromisoformat(text).replace(tzinfo=clock.tz))


def pick(figures: dict, *names: str) -> dict:
    return {n: figures[n] for n in names}


RATING = ("ratings", "satisfied", "satisfaction_rate", "default_ratings", "satisfaction_rate_with_default",
          "rated_visits", "active_rating_rate", "followups", "bad_ratings", "invalid_ratings")
RECT = ("rectifications", "rectified", "rectification_rate", "rectified_on_time", "rectify_due", "on_time_rate",
        "callbacks_due", "called_back", "callback_rate", "overdue", "appeals", "appeals_upheld")


@pytest.fixture
def friday(engine, clock, tmp_path):
    """Friday 2026-11-27 at windows 1 (clerk1, 人社, two 事项) and 4 (clerk4, 市场, none), then two weeks of
    follow-up work. Returns (stats, ids)."""
    at(clock, "2026-11-27T09:00")
    v1 = serve(engine, 1)  # 事项 RS-001 (the default)
    ratings.rate(engine, 1, v1["id"], 5, options=["101"])
    v2 = serve(engine, 1, matter="340404-RS-002")
    ratings.rate(engine, 1, v2["id"], 4)
    v3 = serve(engine, 1)
    v4 = serve(engine, 1, matter="340404-RS-002")  # never rated: the default comes
    v5 = serve(engine, 1)
    bad_mistaken = ratings.rate(engine, 1, v5["id"], 1)["rectification"]["id"]  # appealed, upheld
    v6 = serve(engine, 1)
    forgotten = ratings.rate(engine, 1, v6["id"], 2)["rectification"]["id"]  # nobody works on it
    w1 = serve(engine, 4, "shichang")
    ratings.rate(engine, 4, w1["id"], 3)
    serve(engine, 4, "shichang", outcome="consulted")  # never rated
    at(clock, "2026-11-27T18:30")  # v3 rates from the phone in the evening, with a number to call back
    called = ratings.rate_by_token(engine, v3["token"], 2, options=["206"], contact_phone="13812345678")
    called = called["rectification"]["id"]
    at(clock, "2026-11-29T10:00")  # Sunday: v1 adds a 追评
    ratings.rate_by_token(engine, v1["token"], 5, followup=True)
    at(clock, "2026-11-30T09:00")  # Monday: the day's 差评 are worked on
    rectification.complete_step(engine, called, "verify", by="supervisor")
    rectification.file_appeal(engine, bad_mistaken, clerk="clerk1", grounds="mistaken", reason="群众误触非常不满意")
    at(clock, "2026-12-02T15:00")
    rectification.complete_step(engine, called, "rectify", by="supervisor", note="一次性告知单已更新")
    rectification.log_callback(engine, called, by="supervisor", outcome="unreachable")
    rectification.log_callback(engine, called, by="supervisor", outcome="satisfied")
    at(clock, "2026-12-04T09:00")  # a week after: the defaults
    assert sorted(ratings.apply_default_ratings(engine).rated) == sorted([v4["id"], "20261127-B002"])
    stats = Stats(engine, Archive(tmp_path / "stats.sqlite3"))
    at(clock, "2026-12-10T09:00")
    return stats, {"appealed": bad_mistaken, "forgotten": forgotten, "called": called}


def test_an_upheld_appeal_takes_the_bad_rating_out_of_the_satisfaction_rate(friday, engine, clock):
    stats, ids = friday
    before = stats.report(FRI, FRI)["total"]["figures"]
    assert pick(before, "ratings", "satisfied", "satisfaction_rate", "bad_ratings", "invalid_ratings") == {
        "ratings": 6, "satisfied": 3, "satisfaction_rate": 50.0, "bad_ratings": 3, "invalid_ratings": 0}
    rectification.rule_appeal(engine, ids["appealed"], by="supervisor", upheld=True, note="监控回放确认误触")
    after = stats.report(FRI, FRI)["total"]["figures"]
    assert pick(after, "ratings", "satisfied", "satisfaction_rate", "bad_ratings", "invalid_ratings") == {
        "ratings": 5, "satisfied": 3, "satisfaction_rate": 60.0, "bad_ratings": 2, "invalid_ratings": 1}
    assert after["levels"] == {"5": 1, "4": 1, "3": 1, "2": 2, "1": 0}
    assert after["rated_visits"] == 6  # it was still a rating the citizen made


def test_figures_per_window_clerk_service_and_matter(friday, engine):
    stats, ids = friday
    rectification.rule_appeal(engine, ids["appealed"], by="supervisor", upheld=True)
    total = stats.report(FRI, FRI)["total"]["figures"]
    # served 8; own first ratings 5 4 2 2 3 (+ the 1 ruled invalid); defaults 2 (基本满意); one 追评
    assert pick(total, *RATING) == {
        "ratings": 5, "satisfied": 3, "satisfaction_rate": 60.0, "default_ratings": 2,
        "satisfaction_rate_with_default": 71.4, "rated_visits": 6, "active_rating_rate": 75.0, "followups": 1,
        "bad_ratings": 2, "invalid_ratings": 1}
    # records: the called-back one (rectified on time), the forgotten one (overdue), the appealed one (invalid)
    assert pick(total, *RECT) == {
        "rectifications": 2, "rectified": 1, "rectification_rate": 50.0, "rectified_on_time": 1, "rectify_due": 2,
        "on_time_rate": 50.0, "callbacks_due": 1, "called_back": 1, "callback_rate": 100.0, "overdue": 1,
        "appeals": 1, "appeals_upheld": 1}
    window = {r["key"]: r["figures"] for r in stats.report(FRI, FRI, "window")["rows"]}
    assert pick(window["1"], "ratings", "satisfaction_rate", "satisfaction_rate_with_default", "rated_visits",
                "active_rating_rate", "bad_ratings", "rectifications", "overdue") == {
        "ratings": 4, "satisfaction_rate": 50.0, "satisfaction_rate_with_default": 60.0, "rated_visits": 5,
        "active_rating_rate": 83.3, "bad_ratings": 2, "rectifications": 2, "overdue": 1}
    assert pick(window["4"], "ratings", "satisfaction_rate", "default_ratings", "satisfaction_rate_with_default",
                "active_rating_rate", "rectifications", "rectification_rate") == {
        "ratings": 1, "satisfaction_rate": 100.0, "default_ratings": 1, "satisfaction_rate_with_default": 100.0,
        "active_rating_rate": 50.0, "rectifications": 0, "rectification_rate": None}
    clerk = {r["key"]: r["figures"] for r in stats.report(FRI, FRI, "clerk")["rows"]}
    assert clerk["clerk1"] == window["1"] and clerk["clerk4"] == window["4"]
    service = {r["key"]: r["figures"] for r in stats.report(FRI, FRI, "service")["rows"]}
    assert service["renshe"]["satisfaction_rate"] == 50.0 and service["shichang"]["active_rating_rate"] == 50.0
    rep = stats.report(FRI, FRI, "matter")
    matter = {r["key"]: r for r in rep["rows"]}
    assert list(matter) == ["340404-RS-001", "340404-RS-002"]  # 市场 lists no 事项: in the total only
    assert matter["340404-RS-001"]["label"] == "失业保险金申领（340404-RS-001）"
    m1, m2 = matter["340404-RS-001"]["figures"], matter["340404-RS-002"]["figures"]
    assert pick(m1, "handled", "ratings", "satisfaction_rate", "rated_visits", "active_rating_rate", "bad_ratings",
                "rectifications", "callback_rate", "issued") == {
        "handled": 4, "ratings": 3, "satisfaction_rate": 33.3, "rated_visits": 4, "active_rating_rate": 100.0,
        "bad_ratings": 2, "rectifications": 2, "callback_rate": 100.0, "issued": None}
    assert pick(m2, "handled", "ratings", "default_ratings", "satisfaction_rate_with_default", "active_rating_rate") == {
        "handled": 2, "ratings": 1, "default_ratings": 1, "satisfaction_rate_with_default": 100.0,
        "active_rating_rate": 50.0}


def test_the_same_after_archiving_and_in_the_csv(friday, engine):
    stats, ids = friday
    rectification.rule_appeal(engine, ids["appealed"], by="supervisor", upheld=True)
    groupings = ("total", "window", "clerk", "service", "matter", "daytype", "day")
    before = [stats.report(FRI, FRI, by) for by in groupings]
    assert archive_closed_days(engine, stats.archive, trim=False).archived  # Friday … Thursday
    after = [stats.report(FRI, FRI, by) for by in groupings]
    for b, a in zip(before, after):
        assert a["rows"] == b["rows"] and a["total"] == b["total"], b["by"]
    text = report_csv(after[groupings.index("window")])
    table = list(csv.reader(io.StringIO(text[1:])))
    header = table[0]
    for column in ("满意率含默认(%)", "主动评价率(%)", "差评数", "整改率(%)", "按时整改率(%)", "回访率(%)"):
        assert column in header
    row1 = dict(zip(header, next(r for r in table if r[0] == "1")))
    assert (row1["满意率(%)"], row1["满意率含默认(%)"], row1["主动评价率(%)"], row1["差评数"]) == ("50.0", "60.0", "83.3", "2")
    total = dict(zip(header, table[-1]))
    assert (total["整改率(%)"], total["按时整改率(%)"], total["回访率(%)"], total["超期未办"]) == ("50.0", "50.0", "100.0", "1")


def test_overdue_records_on_the_overview(friday, engine):
    stats, ids = friday
    o = overview(engine, stats.live)["rectifications_overdue"]
    assert o["count"] == 2 and set(o["ids"]) == {ids["forgotten"], ids["appealed"]}  # the appeal waits for a ruling
    assert o["oldest_due"] == "2026-11-30"
    rectification.rule_appeal(engine, ids["appealed"], by="supervisor", upheld=True)
    assert overview(engine, stats.live)["rectifications_overdue"]["ids"] == [ids["forgotten"]]


def test_an_archive_of_the_first_schema_is_upgraded(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO meta VALUES ('schema', '1');
        CREATE TABLE tickets (day TEXT NOT NULL, id TEXT NOT NULL, number TEXT NOT NULL, service_issued TEXT NOT NULL,
            service TEXT NOT NULL, priority INTEGER NOT NULL, issued_ms INTEGER NOT NULL, status TEXT NOT NULL,
            first_call_ms INTEGER, first_window INTEGER, first_clerk TEXT, last_call_ms INTEGER, end_ms INTEGER,
            window_no INTEGER, clerk TEXT, service_ms INTEGER, transfers INTEGER NOT NULL, rating INTEGER,
            rated_ms INTEGER, rating_window INTEGER, rating_clerk TEXT, PRIMARY KEY (day, id));
        CREATE TABLE daily (day TEXT NOT NULL, dim TEXT NOT NULL, key TEXT NOT NULL, issued INTEGER NOT NULL,
            handled INTEGER NOT NULL, consulted INTEGER NOT NULL, no_show INTEGER NOT NULL, transfers INTEGER NOT NULL,
            cancelled INTEGER NOT NULL, unserved INTEGER NOT NULL, ratings INTEGER NOT NULL, r1 INTEGER NOT NULL,
            r2 INTEGER NOT NULL, r3 INTEGER NOT NULL, r4 INTEGER NOT NULL, r5 INTEGER NOT NULL, accepted INTEGER NOT NULL,
            cases INTEGER NOT NULL, wait_n INTEGER NOT NULL, wait_sum INTEGER NOT NULL, service_n INTEGER NOT NULL,
            service_sum INTEGER NOT NULL, PRIMARY KEY (day, dim, key));
        INSERT INTO daily VALUES ('2026-01-05', 'total', 'all', 10, 8, 2, 0, 0, 0, 0, 7, 0, 1, 1, 2, 3, 8, 0,
            10, 1000, 10, 5000);
    """)
    conn.commit()
    conn.close()
    archive = Archive(path)
    [row] = archive.daily_rows("2026-01-05", "2026-01-05", ["total"])
    from shared.stats.figures import COUNT_FIELDS

    counts = dict(zip(COUNT_FIELDS, row[3:]))
    assert (counts["ratings"], counts["rated_visits"], counts["defaults"], counts["followups"]) == (7, 7, 0, 0)
    with archive.connect() as c:
        assert c.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()[0] == SCHEMA_VERSION
        assert c.execute("SELECT COUNT(*) FROM rectifications").fetchone()[0] == 0


def test_the_satisfaction_chart_draws_the_rate_with_defaults(friday, engine):
    from shared.stats.charts import satisfaction_trend

    stats, _ids = friday
    rows = stats.report(FRI, date(2026, 11, 28), "day")["rows"]
    svg = satisfaction_trend(rows)
    assert "含默认评价 %" in svg and "2026-11-27 含默认评价 % 62.5" in svg  # 62.5 = (3 + 2) ÷ (6 + 2)
    without = [{**r, "figures": {**r["figures"], "default_ratings": 0}} for r in rows]
    assert "含默认评价" not in satisfaction_trend(without)
