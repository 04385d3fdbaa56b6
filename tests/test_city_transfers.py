"""Transfers (转办) in the city figures (shared/stats/city.py city_transfers): the test hall's known day of five
transfers (tests/transfer_support.py) and one transfer in 东区 — the city's counts are the halls' added, its rates
(转办率, the share of tickets transferred) are those of the union, never averages; windows stay a hall's own."""

from __future__ import annotations

import csv
import io
from datetime import date

from city_figures_support import EAST, TEST, call, clerks, east_config, hall_config, make_app, script_east_friday
from stats_support import FRI, at, issue, ok
from transfer_support import BY_WINDOW, TOTAL, script_transfers

from shared.stats.city import CityStats, city_transfers
from shared.stats.transfers import transfers_csv

D_FRI = date.fromisoformat(FRI)


def test_city_transfers_add_counts_and_recompute_rates(redis_client, redis_server, clock, tmp_path):
    apps = {TEST: make_app(hall_config(tmp_path / "t"), redis_server.url, clock, tmp_path / "t.sqlite3"),
            EAST: make_app(_renamed_clerk1(east_config(tmp_path / "e")), redis_server.url, clock,
                           tmp_path / "e.sqlite3")}
    stats = {h: a.extensions["onewindow"].stats for h, a in apps.items()}
    t, e = apps[TEST], apps[EAST]
    script_transfers(clock, t.test_client(), clerks(t))
    script_east_friday(clock, e.test_client(), clerks(e))  # 5 tickets called, 5 endings, no transfer
    at(clock, FRI, "11:00")
    issue(e.test_client(), "renshe")
    w1, w4 = clerks(e)(1), clerks(e)(4)
    call(w1, 1, "A004")
    ok(w1.post("/api/v1/windows/1/transfer", json={"service": "shichang", "reason": "cannot_handle",
                                                    "reason_text": "东区一号窗转出"}))
    call(w4, 4, "A004")
    ok(w4.post("/api/v1/windows/4/finish", json={"outcome": "handled"}))

    city = CityStats([stats[TEST], stats[EAST]], "测试市", "Test City")
    rep = city_transfers(city, D_FRI, D_FRI, "window")
    total = rep["total"]["figures"]
    # 东区: 6 called, 1 transferred, 6 endings + 1 transfer = 7 visits (14.3 %; 16.7 % of the called)
    # city: 6 transfers of 5 tickets; visits 10 + 7 = 17 → 35.3 % (not (50 + 14.3) / 2); 5 of 11 called → 45.5 %
    assert (total["transfers"], total["tickets"], total["visits"], total["rate"]) == (6, 5, 17, 35.3)
    assert (total["called"], total["ticket_rate"]) == (11, 45.5)
    assert total["reasons"] == {"wrong_service": 2, "other_department": 1, "cannot_handle": 1, "complaint": 1,
                                "leader": 0, "other": 0, "none": 1}
    assert [tg["key"] for tg in rep["targets"]] == ["service:shichang", "service:bubancheng", f"window:{TEST}:4",
                                                     f"window:{TEST}:5"]
    assert total["targets"]["service:shichang"] == 3
    assert [h["key"] for h in rep["halls"]] == [TEST, EAST]
    assert rep["halls"][0]["figures"]["rate"] == TOTAL["rate"] and rep["halls"][0]["figures"]["ticket_rate"] == 80.0
    assert (rep["halls"][1]["figures"]["rate"], rep["halls"][1]["figures"]["ticket_rate"]) == (14.3, 16.7)
    rows = {r["key"]: r for r in rep["rows"]}
    # windows stay a hall's own: window 1 of the test hall is not window 1 of 东区
    assert rows[f"{TEST}:1"]["figures"]["rate"] == BY_WINDOW["1"]["rate"]
    assert rows[f"{TEST}:1"]["label"] == "测试政务服务中心 · 1号窗口 · 人社综合窗口"
    east1 = rows[f"{EAST}:1"]["figures"]
    assert (east1["transfers"], east1["visits"], east1["rate"], east1["reasons"]["cannot_handle"]) == (1, 4, 25.0, 1)
    assert [r["key"] for r in rep["rows"]][:2] == [f"{TEST}:1", f"{TEST}:2"]
    routes = [(r["from_window"], r["to"], r["transfers"]) for r in rep["routes"]]
    assert routes[0] == (f"{TEST}:1", "service:shichang", 2) and (f"{EAST}:1", "service:shichang", 1) in routes
    assert rep["routes"][0]["from_label"] == "测试政务服务中心 · 1号窗口 · 人社综合窗口"

    # a note names its own hall's clerk: 东区's clerk1 is not the test hall's clerk1
    east_note = next(n for n in rep["notes"] if n["from_window"] == f"{EAST}:1")
    assert (east_note["clerk"], east_note["clerk_name"]) == ("clerk1", "东区王五")
    assert all(n["clerk_name"] != "东区王五" for n in rep["notes"] if n["from_window"].startswith(f"{TEST}:"))

    # by service the halls' rows of one code add: 人社 = test (2 transfers, 1 ending) + 东区 (1, 3) → 3 of 7
    svc = {r["key"]: r["figures"] for r in city_transfers(city, D_FRI, D_FRI, "service")["rows"]}
    assert (svc["renshe"]["transfers"], svc["renshe"]["visits"], svc["renshe"]["rate"]) == (3, 7, 42.9)
    # one hall chosen: that hall's figures
    only = city_transfers(city, D_FRI, D_FRI, "total", halls=[TEST])
    assert only["total"]["figures"] == {**TOTAL, "targets": {k.replace("window:", f"window:{TEST}:"): n
                                                             for k, n in TOTAL["targets"].items()}}
    # the CSV is the hall's form
    table = list(csv.reader(io.StringIO(transfers_csv(rep)[1:])))
    assert table[-1][:8] == ["total", "合计", "17", "6", "35.3", "5", "11", "45.5"]


def test_the_city_transfer_api_and_csv(tmp_path, redis_client, redis_server, clock):
    """/city/api/v1/transfers (and .csv): a city supervisor reads the halls' transfers; nobody else does."""
    from city_figures_support import named_city
    from city_support import CITY_PASSWORD, CITY_SUPERVISOR
    from hall_support import DEMO_PASSWORD, SUPER_PASSWORD

    from onewindow import create_app

    app = create_app({"TESTING": True, "CONFIG_PATH": str(named_city(tmp_path / "city")),
                      "REDIS_URL": redis_server.url, "CLOCK": clock, "START_RELAY": False})

    def sign_in(path: str, body: dict):
        c = app.test_client()
        r = c.post(path, json=body)
        assert r.status_code == 200, r.get_json()
        c.environ_base["HTTP_X_CSRF_TOKEN"] = r.get_json()["csrf_token"]
        return c

    at(clock, FRI, "09:00")
    for _ in range(2):
        assert app.test_client().post("/h/east/api/v1/tickets", json={"service": "renshe"}).status_code == 201
    east = sign_in("/h/east/api/v1/login", {"username": "clerk1", "password": DEMO_PASSWORD, "window": 1})
    assert ok(east.post("/h/east/api/v1/windows/1/call-next"))["ticket"]["number"] == "A001"
    ok(east.post("/h/east/api/v1/windows/1/transfer", json={"service": "shichang", "reason": "wrong_service"}))

    city = sign_in("/city/api/v1/login", {"username": CITY_SUPERVISOR, "password": CITY_PASSWORD})
    rep = ok(city.get("/city/api/v1/transfers?period=day"))
    total = rep["total"]["figures"]
    assert (total["transfers"], total["tickets"], total["called"], total["ticket_rate"]) == (1, 1, 1, 100.0)
    assert total["reasons"]["wrong_service"] == 1 and total["targets"] == {"service:shichang": 1}
    assert {r["key"]: r["figures"]["transfers"] for r in rep["rows"]}["east:1"] == 1
    assert [h["key"] for h in rep["halls"]] == ["east", "west"]
    r = city.get("/city/api/v1/transfers.csv?period=day&by=service&lang=en")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    table = list(csv.reader(io.StringIO(r.get_data(as_text=True)[1:])))
    assert table[0][:4] == ["Key", "Name", "Visits", "Transfers"] and table[-1][:4] == ["total", "Total", "1", "1"]
    assert city.get("/city/api/v1/transfers?by=matter").status_code == 400
    assert city.get("/city/api/v1/transfers?halls=nowhere").status_code == 400
    hall_super = sign_in("/h/west/api/v1/login", {"username": "westsuper", "password": SUPER_PASSWORD})
    for c in (app.test_client(), east, hall_super):
        for path in ("/city/api/v1/transfers", "/city/api/v1/transfers.csv"):
            assert c.get(path).status_code == 401


def _renamed_clerk1(config):
    """东区 with its clerk1 named 东区王五: the same username as the test hall's clerk1, another person."""
    from dataclasses import replace

    return replace(config, clerks={**config.clerks, "clerk1": replace(config.clerks["clerk1"], name="东区王五")})
