"""Transfers (转办) in the supervisor's figures: a small known day of transfers with reasons (tests/transfer_support.py)
gives exactly the hand-counted figures — by reason, from-window, from-service, target, route, with the share of
tickets transferred — through the API, live and after archiving, in the CSV and the chart."""

from __future__ import annotations

import csv
import io

import pytest
from stats_support import FRI, SAT, at, issue, ok, supervisor
from transfer_support import BY_SERVICE, BY_WINDOW, REASONS, ROUTES, TARGETS, TOTAL, fig, script_transfers


@pytest.fixture
def hall(app, tmp_path, client, clerk_client, clock):
    app.config["STATS_ARCHIVE_PATH"] = tmp_path / "stats.sqlite3"
    script_transfers(clock, client, clerk_client)
    app.sup = supervisor(app)
    return app


def transfers(app, **params) -> dict:
    return ok(app.sup.get("/api/v1/supervisor/transfers", query_string=params))


def rows(rep) -> dict:
    return {r["key"]: r["figures"] for r in rep["rows"]}


def check_day(rep) -> None:
    assert [r["code"] for r in rep["reasons"]] == REASONS
    assert [r["label"] for r in rep["reasons"]] == ["取错号", "需其他部门办理", "本窗口无法办理", "反映办不成事",
                                                   "需领导协调", "其他", "未选原因"]
    assert [t["key"] for t in rep["targets"]] == TARGETS
    assert [t["label"] for t in rep["targets"]] == ["市场综合", "办不成事反映", "4号窗口 · 市场综合窗口", "5号窗口 · 综合窗口"]
    assert rep["total"]["figures"] == TOTAL
    assert rows(rep) == BY_WINDOW
    assert [(r["from_window"], r["to"], r["transfers"]) for r in rep["routes"]] == ROUTES
    assert rep["routes"][0]["reasons"]["wrong_service"] == 2 and rep["routes"][0]["tickets"] == 2
    assert rep["routes"][0]["from_label"] == "1号窗口 · 人社综合窗口" and rep["routes"][0]["to_label"] == "市场综合"
    # the clerks' free texts, newest first
    assert [(n["number"], n["from_window"], n["to"], n["reason"], n["text"], n["clerk_name"]) for n in rep["notes"]] == [
        ("B002", "5", "window:4", "none", "群众要求到4号窗口", "孙丽"),
        ("A001", "4", "window:5", "other_department", "需公安窗口核验身份", "赵磊")]
    assert rep["notes"][1]["reason_label"] == "需其他部门办理" and rep["notes"][1]["to_label"] == "5号窗口 · 综合窗口"


def test_the_days_transfers_by_reason_window_target_and_share(hall):
    rep = transfers(hall, period="day")
    assert (rep["from"], rep["to"], rep["by"]) == (FRI, FRI, "window")
    check_day(rep)
    assert [r["label"] for r in rep["rows"]][:2] == ["1号窗口 · 人社综合窗口", "2号窗口 · 人社综合窗口"]
    # the report's own 转办 per window agrees (one definition)
    main = ok(hall.sup.get("/api/v1/supervisor/report", query_string={"period": "day", "by": "window"}))
    assert {r["key"]: r["figures"]["transfers"] for r in main["rows"]} == {k: f["transfers"] for k, f in BY_WINDOW.items()}

    by_service = transfers(hall, period="day", by="service")
    assert rows(by_service) == BY_SERVICE and by_service["total"]["figures"] == TOTAL
    by_clerk = transfers(hall, period="day", by="clerk")
    assert {k: f["transfers"] for k, f in rows(by_clerk).items()} == {"clerk1": 2, "clerk4": 2, "clerk5": 1, "clerk7": 0}
    assert rows(by_clerk)["clerk1"] == BY_WINDOW["1"]
    by_hour = transfers(hall, period="day", by="hour")
    assert {k: f["transfers"] for k, f in rows(by_hour).items() if f["transfers"]} == {"09": 5}
    # a range grouped by day: the time rows carry the tickets called and the share of them transferred
    by_day = transfers(hall, **{"from": FRI, "to": SAT, "by": "day"})
    assert rows(by_day) == {FRI: TOTAL}
    week = transfers(hall, period="week", date=FRI, by="total")
    assert (week["from"], week["to"]) == ("2026-11-23", "2026-11-29") and rows(week) == {"all": TOTAL}
    # another day has none of them
    other = transfers(hall, period="day", date="2026-11-26")
    assert other["total"]["figures"] == fig() | {"called": 0, "targets": {}}
    assert other["routes"] == [] and other["targets"] == []


def test_archived_days_give_the_same_transfer_figures(hall, clock):
    before = [transfers(hall, period="day", date=FRI, by=by) for by in ("window", "service", "day", "clerk", "hour")]
    at(clock, SAT, "09:00")
    issue(hall.test_client(), "renshe")
    assert ok(hall.sup.post("/api/v1/supervisor/archive"))["archived"] == [FRI]
    after = [transfers(hall, period="day", date=FRI, by=by) for by in ("window", "service", "day", "clerk", "hour")]
    for b, a in zip(before, after):
        assert {k: v for k, v in a.items() if k != "as_of"} == {k: v for k, v in b.items() if k != "as_of"}
    check_day(after[0])
    # Friday archived + Saturday live, one report: Saturday's ticket was not called, nothing was transferred
    both = transfers(hall, **{"from": FRI, "to": SAT, "by": "day"})
    assert rows(both)[FRI] == TOTAL and rows(both)[SAT] == fig(called=0)  # visits 0: no rate
    assert both["total"]["figures"] == TOTAL


def test_the_report_reads_the_day_once(hall, clock, monkeypatch):
    """A call and a transfer landing while the report is being made (right after it has read the stream) are in
    none of its figures, not in some: the tickets called and the transfers come from one read of the day."""
    at(clock, FRI, "10:00")
    issue(hall.test_client(), "renshe")  # A004, waiting: not called, so not in 叫号人数
    own = hall.extensions["onewindow"]
    live, engine = own.stats.live, own.engine
    read = live.refresh
    landed = []

    def read_then_a_transfer_lands():
        seq = read()
        if not landed:  # once: right after the report's first read of the stream, window 1 calls and transfers A004
            landed.append(seq)
            assert engine.call_next(1, "clerk1")["number"] == "A004"
            engine.transfer(1, service="shichang", clerk="clerk1", reason="wrong_service")
        return seq

    monkeypatch.setattr(live, "refresh", read_then_a_transfer_lands)
    during = transfers(hall, period="day")
    assert landed
    # the day as read: the hand-counted figures (not 6 transfers of 5 tickets out of 5 called, 100 %)
    assert during["total"]["figures"] == TOTAL and rows(during) == BY_WINDOW
    # the next report reads the day with A004 called and transferred, all of it
    after = transfers(hall, period="day")["total"]["figures"]
    assert (after["transfers"], after["tickets"], after["called"], after["ticket_rate"]) == (6, 5, 6, 83.3)
    assert (after["visits"], after["rate"]) == (11, 54.5)


def test_the_csv_has_the_reason_and_target_columns(hall):
    r = hall.sup.get("/api/v1/supervisor/transfers.csv", query_string={"period": "day", "by": "window"})
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "onewindow-transfers-2026-11-27-2026-11-27-window.csv" in r.headers["Content-Disposition"]
    text = r.get_data(as_text=True)
    assert text.startswith("\ufeff")
    table = list(csv.reader(io.StringIO(text[1:])))
    assert table[0] == ["键", "名称", "接待", "转办", "转办率(%)", "转办人数", "叫号人数", "转办人数占比(%)",
                        "原因：取错号", "原因：需其他部门办理", "原因：本窗口无法办理", "原因：反映办不成事",
                        "原因：需领导协调", "原因：其他", "原因：未选原因",
                        "转往：市场综合", "转往：办不成事反映", "转往：4号窗口 · 市场综合窗口", "转往：5号窗口 · 综合窗口"]
    body = {line[0]: line for line in table[1:]}
    assert list(body) == ["1", "2", "3", "4", "5", "6", "7", "total"]
    assert body["1"] == ["1", "1号窗口 · 人社综合窗口", "3", "2", "66.7", "2", "", "", "2", "0", "0", "0", "0", "0", "0",
                         "2", "0", "0", "0"]
    assert body["2"][2:8] == ["0", "0", "", "0", "", ""]
    assert body["total"] == ["total", "合计", "10", "5", "50.0", "4", "5", "80.0", "2", "1", "0", "1", "0", "0", "1",
                             "2", "1", "1", "1"]
    en = hall.sup.get("/api/v1/supervisor/transfers.csv", query_string={"period": "day", "lang": "en"})
    head = next(csv.reader(io.StringIO(en.get_data(as_text=True)[1:])))
    assert head[:5] == ["Key", "Name", "Visits", "Transfers", "Transfer rate (%)"]
    assert "Reason: Took the wrong ticket" in head and "To: Window 5" in head


def test_the_chart_draws_the_reasons_per_window(hall):
    r = hall.sup.get("/api/v1/supervisor/charts/transfers.svg", query_string={"period": "day"})
    assert r.status_code == 200 and r.mimetype == "image/svg+xml"
    svg = r.get_data(as_text=True)
    assert "转办原因（按转出）" in svg and "1号窗口 · 人社综合窗口 · 取错号 2" in svg and "转办率 66.7%" in svg
    en = hall.sup.get("/api/v1/supervisor/charts/transfers.svg", query_string={"period": "day", "lang": "en"})
    assert "Window 4 · Another department handles it 1" in en.get_data(as_text=True)
    # the other charts are still the report's
    assert hall.sup.get("/api/v1/supervisor/charts/load.svg?period=day").status_code == 200


def test_bad_requests_are_refused(hall):
    for q in ({"by": "matter"}, {"by": "nope"}, {"period": "decade"}, {"from": "2026-11-28", "to": "2026-11-27"},
              {"from": "yesterday"}):
        r = hall.sup.get("/api/v1/supervisor/transfers", query_string=q)
        assert r.status_code == 400 and r.get_json()["error"]["code"] in ("invalid_value", "invalid_range"), q
    assert hall.sup.get("/api/v1/supervisor/transfers.csv?lang=fr").status_code == 400
    anon = hall.test_client()
    for path in ("/api/v1/supervisor/transfers", "/api/v1/supervisor/transfers.csv",
                 "/api/v1/supervisor/charts/transfers.svg"):
        assert anon.get(path).status_code == 401
