"""City figures (shared/stats/city.py): three halls — each its own hall id, config, engine and archive — on the one
test Redis. The city's counts are the halls' counts added; its rates, means, medians and P90s are those of the union
of the halls' tickets (hand-counted below), never averages of the halls' figures; the CSV is the hall's CSV; a hall
with no data and a hall on a rest day count as zeros; the live overview is every hall's plus the city's totals."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import date

import pytest
import redis
from city_figures_support import (
    EAST,
    NORTH,
    TEST,
    call,
    clerks,
    east_config,
    hall_config,
    make_app,
    north_config,
    script_east_friday,
    script_east_saturday,
)
from stats_support import FRI, SAT, at, issue, script_weekday, script_weekend

from shared.engine import Engine
from shared.errors import ValidationError
from shared.stats import Archive, Stats, flatten
from shared.stats.city import CITY_GROUPINGS, CityStats, city_report_csv
from shared.stats.figures import Accumulator
from shared.stats.overview import overview
from shared.stats.reports import COLUMNS

D_FRI, D_SAT = date.fromisoformat(FRI), date.fromisoformat(SAT)


@pytest.fixture
def city(redis_client, redis_server, clock, tmp_path):
    """Three halls (testhall, 东区, 北区) as apps on the one Redis, and the city of their statistics."""

    class City:
        pass

    c = City()
    c.clock = clock
    c.apps = {}
    for hall_id, cfg in ((TEST, hall_config(tmp_path / "t")), (EAST, east_config(tmp_path / "e")),
                         (NORTH, north_config(tmp_path / "n"))):
        c.apps[hall_id] = make_app(cfg, redis_server.url, clock, tmp_path / f"{hall_id}.sqlite3")
    c.stats = {h: app.extensions["onewindow"].stats for h, app in c.apps.items()}
    c.city = CityStats([c.stats[TEST], c.stats[EAST], c.stats[NORTH]], "测试市", "Test City")
    return c


def friday(c) -> None:
    t, e = c.apps[TEST], c.apps[EAST]
    script_weekday(c.clock, t.test_client(), clerks(t))
    script_east_friday(c.clock, e.test_client(), clerks(e))


def dur(n, mean, median, p90):
    return {"n": n, "mean_s": mean, "median_s": median, "p90_s": p90}


def by_key(rows) -> dict:
    return {r["key"]: r["figures"] for r in rows}


#: the CSV columns that are counts (the rest are rates, means, medians, P90s: recomputed, not added)
COUNT_COLUMNS = [k for k, _zh, _en in COLUMNS[2:]
                 if not k.endswith(("_rate", "_mean_s", "_median_s", "_p90_s", "rate_with_default"))]


def assert_counts_add_up(city_rows: list[dict], hall_rows: list[list[dict]]) -> None:
    """Every count of every city row is the sum of the same row's count in each hall (blank stays blank)."""
    halls = [by_key(rows) for rows in hall_rows]
    assert {r["key"] for r in city_rows} == set().union(*halls)
    for row in city_rows:
        mine = flatten(row["figures"])
        theirs = [flatten(h[row["key"]]) for h in halls if row["key"] in h]
        for k in COUNT_COLUMNS:
            if mine[k] is None:
                assert all(t[k] is None for t in theirs), (row["key"], k)
            else:
                assert mine[k] == sum(t[k] or 0 for t in theirs), (row["key"], k)


# ------------------------------------------------------------------------------------------------ tests
def test_city_total_is_the_union_of_the_halls_tickets(city):
    friday(city)
    rep = city.city.report(D_FRI, D_FRI)
    total = rep["total"]["figures"]
    # counts: testhall (6 issued, 2 handled, 1 consulted, 1 no-show, 1 transfer, 1 cancelled, 1 unserved) + 东区 (5,
    # 3, 1, 1, 0, 0, 0) + 北区 (closed: a holiday)
    assert [total[k] for k in ("issued", "handled", "consulted", "no_show", "transfers", "cancelled", "unserved")] \
        == [11, 5, 2, 2, 1, 1, 1]
    # waits: 600 900 1200 2400 (testhall) + 60 360 900 1800 2400 (东区). The halls' means are 1275 and 1104, their
    # medians 1050 and 900: averaging them would give 1189.5 and 975.
    assert total["wait"] == dur(9, 1180.0, 900.0, 2400.0)
    # service: 600 600 900 + 180 480 840 300 (the halls' means 700 and 450)
    assert total["service_time"] == dur(7, 557.1, 600.0, 900.0)
    # ratings 5 2 4 + 5 5: 4 of 5 satisfied (the halls' rates 66.7 % and 100 % would average 83.4 %)
    assert (total["ratings"], total["satisfied"], total["satisfaction_rate"]) == (5, 4, 80.0)
    # rated visits 3 of 3 served + 2 of 4 served; 受理 3 + 3, one case still open
    assert total["active_rating_rate"] == 71.4
    assert (total["accepted"], total["open_cases"], total["completed"], total["completion_rate"]) == (6, 1, 5, 83.3)
    assert total["rectifications"] == 3 and total["bad_ratings"] == 1  # testhall's 不满意 and its two cases
    # the comparison: each hall's own report total, in the city's order
    assert [h["key"] for h in rep["halls"]] == [TEST, EAST, NORTH]
    assert [h["label"] for h in rep["halls"]] == ["测试政务服务中心", "东区政务服务中心", "北区便民服务中心"]
    for h in rep["halls"]:
        assert h["figures"] == city.stats[h["key"]].report(D_FRI, D_FRI)["total"]["figures"]
    assert [h["days"] for h in rep["halls"]] == [1, 1, 0] and rep["days"] == 1
    assert rep["halls"][2]["figures"] == Accumulator().figures()  # 北区: a rest day, no data
    hall_rep = city.city.report(D_FRI, D_FRI, "hall")
    assert hall_rep["rows"] == [{k: v for k, v in h.items() if k != "days"} for h in rep["halls"]]
    assert hall_rep["total"] == rep["total"]


def test_every_grouping_adds_the_halls_rows(city):
    friday(city)
    for by in CITY_GROUPINGS:
        if by in ("hall", "window", "clerk"):
            continue
        rep = city.city.report(D_FRI, D_FRI, by)
        assert_counts_add_up(rep["rows"], [s.report(D_FRI, D_FRI, by)["rows"] for s in city.stats.values()])
    service = city.city.report(D_FRI, D_FRI, "service")
    # the services of every hall, each once, in the halls' config order: 公安 only in 东区, 领导带班 not there
    assert [r["key"] for r in service["rows"]] == ["renshe", "shichang", "bubancheng", "lingdao", "gongan"]
    assert service["rows"][-1]["label"] == "公安综合"
    rows = by_key(service["rows"])
    # 人社: waits 600 1200 + 60 360 900, service 600 + 180 480 840, ratings 5 + 5 5
    assert rows["renshe"]["wait"] == dur(5, 624.0, 600.0, 1200.0)
    assert rows["renshe"]["service_time"] == dur(4, 525.0, 540.0, 840.0)
    assert (rows["renshe"]["issued"], rows["renshe"]["satisfaction_rate"]) == (7, 100.0)
    # 市场: waits 900 + 1800 2400
    assert rows["shichang"]["wait"] == dur(3, 1700.0, 1800.0, 2400.0)
    assert rows["gongan"]["issued"] == 0


def test_windows_and_clerks_stay_apart_per_hall(city):
    friday(city)
    for by in ("window", "clerk"):
        rep = city.city.report(D_FRI, D_FRI, by)
        expected = []
        for hall_id, stats in city.stats.items():
            own = stats.report(D_FRI, D_FRI, by)
            expected += [(f"{hall_id}:{r['key']}", f"{stats.config.hall_name} · {r['label']}", r["figures"])
                         for r in own["rows"]]
        assert [(r["key"], r["label"], r["figures"]) for r in rep["rows"]] == expected, by
    windows = by_key(city.city.report(D_FRI, D_FRI, "window")["rows"])
    assert (windows["east:1"]["handled"], windows["east:1"]["consulted"], windows["east:1"]["issued"]) == (2, 1, None)
    assert windows["east:1"]["wait"] == dur(3, 440.0, 360.0, 900.0)
    assert windows["testhall:1"]["wait"] == dur(2, 900.0, 900.0, 1200.0)


def test_daytype_follows_each_halls_calendar(city):
    friday(city)
    t, e = city.apps[TEST], city.apps[EAST]
    script_weekend(city.clock, t.test_client(), clerks(t))  # testhall: Saturday a rest day with weekend service
    script_east_saturday(city.clock, e.test_client(), clerks(e))  # 东区: Saturday a 调休 working day
    rep = city.city.report(D_FRI, D_SAT, "daytype")
    rows = by_key(rep["rows"])
    # working days: testhall Friday + 东区 Friday + 东区 Saturday; rest days: testhall Saturday
    assert (rows["work"]["issued"], rows["work"]["handled"], rows["work"]["consulted"]) == (12, 6, 2)
    assert (rows["rest"]["issued"], rows["rest"]["handled"], rows["rest"]["consulted"]) == (2, 1, 1)
    assert rows["rest"]["wait"] == dur(2, 450.0, 450.0, 600.0)
    assert_counts_add_up(rep["rows"], [s.report(D_FRI, D_SAT, "daytype")["rows"] for s in city.stats.values()])
    by_day = by_key(city.city.report(D_FRI, D_SAT, "day")["rows"])
    assert (by_day[FRI]["issued"], by_day[SAT]["issued"]) == (11, 3)
    week = city.city.report(D_FRI, D_SAT, "week")
    assert by_key(week["rows"])["2026-W48"]["issued"] == 14 and week["days"] == 2
    assert [h["days"] for h in week["halls"]] == [2, 2, 0]


def test_archived_days_read_the_same(city):
    friday(city)
    at(city.clock, SAT, "08:00")
    queries = [(D_FRI, D_FRI, by) for by in CITY_GROUPINGS] + [(date(2026, 11, 1), date(2026, 11, 30), "month")]
    before = [city.city.report(*q) for q in queries]
    from shared.stats import archive_closed_days

    for s in city.stats.values():
        archive_closed_days(s.engine, s.archive)
    assert set(city.stats[EAST].archive.days()) == {FRI}
    after = [city.city.report(*q) for q in queries]
    for b, a in zip(before, after):
        assert (a["rows"], a["halls"], a["total"]) == (b["rows"], b["halls"], b["total"]), b["by"]


def test_halls_with_no_data_and_a_rest_day(city):
    at(city.clock, FRI, "09:00")
    r = city.apps[NORTH].test_client().post("/api/v1/tickets", json={"service": "renshe"})
    assert r.status_code == 409, r.get_json()  # 北区 is closed on its holiday
    rep = city.city.report(D_FRI, D_FRI, "service")
    empty = Accumulator().figures()
    assert rep["total"]["figures"] == empty and rep["days"] == 0
    assert all(h["figures"] == empty for h in rep["halls"])
    assert all(r["figures"]["issued"] == 0 for r in rep["rows"])
    north = next(h for h in city.city.overview()["halls"] if h["hall"] == NORTH)
    assert north["summary"]["rest_day"] is True and north["summary"]["day_kind"] == "holiday"
    # a range before anything happened, the city of one hall, and the requests it refuses
    assert city.city.report(date(2026, 11, 1), date(2026, 11, 26))["total"]["figures"] == empty
    friday(city)
    only = city.city.report(D_FRI, D_FRI, "service", halls=[EAST])
    assert only["total"] == {**only["total"], "figures": city.stats[EAST].report(D_FRI, D_FRI)["total"]["figures"]}
    assert [h["key"] for h in only["halls"]] == [EAST]
    with pytest.raises(ValidationError) as e:
        city.city.report(D_FRI, D_FRI, halls=["nowhere"])
    assert e.value.details["field"] == "halls"
    with pytest.raises(ValidationError) as e:
        city.city.report(D_FRI, D_FRI, "city")
    assert e.value.details["field"] == "by"
    with pytest.raises(ValidationError):
        city.city.report(D_SAT, D_FRI)


def parse(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def cell(value) -> str:
    return "" if value is None else (f"{value:.1f}" if isinstance(value, float) else str(value))


def test_csv_is_the_halls_csv_of_the_same_numbers(city):
    friday(city)
    rep = city.city.report(D_FRI, D_FRI, "service")
    table = parse(city_report_csv(rep))
    assert table[0] == [c[1] for c in COLUMNS]
    expected = [*rep["rows"], *rep["halls"], rep["total"]]
    assert [line[:2] for line in table[1:]] == [[r["key"], r["label"]] for r in expected]
    for line, row in zip(table[1:], expected):
        flat = flatten(row["figures"])
        assert line[2:] == [cell(flat[k]) for k, _zh, _en in COLUMNS[2:]], row["key"]
    assert table[-1][:3] == ["total", "合计", "11"]
    en = parse(city_report_csv(rep, "en"))
    assert en[0] == [c[2] for c in COLUMNS] and en[-2][1] == "North Service Center"
    halls = parse(city_report_csv(city.city.report(D_FRI, D_FRI, "hall")))
    assert [line[0] for line in halls[1:]] == [TEST, EAST, NORTH, "total"]  # the halls once, then the total


def test_live_overview_of_every_hall_and_the_city_totals(city):
    friday(city)
    e = city.apps[EAST]
    client, w1 = e.test_client(), clerks(e)(1)
    at(city.clock, FRI, "11:00")
    issue(client, "renshe"), issue(client, "renshe"), issue(client, "gongan")
    call(w1, 1, "A004")
    view = city.city.overview()
    assert [h["hall"] for h in view["halls"]] == [TEST, EAST, NORTH]
    assert (view["name"], view["day"]) == ("测试市", FRI)
    for h in view["halls"]:
        stats = city.stats[h["hall"]]
        assert h["available"] is True
        assert h["overview"] == overview(stats.engine, stats.live)  # the hall's own overview, as its supervisor sees it
    s = {h["hall"]: h["summary"] for h in view["halls"]}
    # testhall: A004 waits (windows 1, 4, 7 signed in); 东区: A005 and C001 wait, A004 at window 1 (windows 1, 4)
    assert (s[TEST]["waiting"], s[TEST]["serving"], s[TEST]["windows_open"], s[TEST]["windows"]) == (1, 0, 3, 7)
    assert (s[EAST]["waiting"], s[EAST]["serving"], s[EAST]["windows_open"]) == (2, 1, 2)
    assert (s[NORTH]["waiting"], s[NORTH]["serving"], s[NORTH]["windows_open"], s[NORTH]["rest_day"]) == (0, 0, 0, True)
    assert s[EAST]["alerts"] >= 1  # C001 waits for 公安, which no staffed window serves
    totals = view["totals"]
    for k in ("waiting", "serving", "windows_open", "windows", "paused", "alerts"):
        assert totals[k] == sum(x[k] for x in s.values()), k
    assert totals["longest_wait_s"] == max(x["longest_wait_s"] for x in s.values())
    assert (totals["halls"], totals["halls_unavailable"], totals["waiting"]) == (3, 0, 3)


def test_a_hall_whose_store_does_not_answer_leaves_the_others(city, hall_config, clock, tmp_path):
    friday(city)
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5, decode_responses=True)
    lost = dataclasses.replace(hall_config, hall_id="lost", hall_name="失联大厅")
    lost_stats = Stats(Engine(dead, lost, clock), Archive(tmp_path / "lost.sqlite3"))
    view = CityStats([city.stats[TEST], lost_stats, city.stats[EAST]]).overview()
    assert [(h["hall"], h["available"]) for h in view["halls"]] == [(TEST, True), ("lost", False), (EAST, True)]
    assert view["totals"]["halls_unavailable"] == 1
    assert view["totals"]["waiting"] == sum(h["summary"]["waiting"] for h in view["halls"] if h["available"])


def test_the_hall_comparison_chart_shows_the_reports_numbers(city):
    from shared.stats.charts import hall_comparison

    friday(city)
    rows = city.city.report(D_FRI, D_FRI, "hall")["rows"]
    svg = hall_comparison(rows, "zh")
    assert svg.startswith("<svg") and "各大厅取号与办结" in svg
    for r in rows:  # every hall, with its issued and served counts and its 满意率
        f = r["figures"]
        assert f"<title>{r['label']} 取号 {f['issued']}</title>" in svg
        assert f"<title>{r['label']} 办结（办件+咨询） {f['handled'] + f['consulted']}</title>" in svg
    assert ">满意率 66.7%<" in svg and ">满意率 100%<" in svg and ">满意率 —<" in svg  # testhall, 东区, 北区 (no ratings)
    assert "Tickets by hall" in hall_comparison(rows, "en")
    empty = city.city.report(date(2026, 11, 1), date(2026, 11, 2), "hall")["rows"]
    assert "所选时段暂无数据" in hall_comparison(empty, "zh")
