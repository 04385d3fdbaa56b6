"""The city supervisors' API (counter/city): a city of two halls (tests/city_support.py) served by one app; only a
city supervisor reads the city's overview, figures, CSV and charts — a hall's clerk or supervisor is refused — and
the figures are the halls' own added up (each hall's total exactly as its supervisor reads it)."""

from __future__ import annotations

import csv
import io

import pytest
from city_figures_support import HALL_NAMES, named_city
from city_support import CITY_PASSWORD, CITY_SUPERVISOR
from hall_support import DEMO_PASSWORD, SUPER_PASSWORD
from stats_support import FRI, at

from shared.stats import flatten
from shared.stats.reports import COLUMNS

ROUTES = ("/city/api/v1/overview", "/city/api/v1/report?period=day", "/city/api/v1/report.csv?period=day",
          "/city/api/v1/charts/halls.svg?period=day")


@pytest.fixture
def city_app(tmp_path, redis_client, redis_server, clock):
    from onewindow import create_app

    return create_app({"TESTING": True, "CONFIG_PATH": str(named_city(tmp_path / "city")),
                       "REDIS_URL": redis_server.url, "CLOCK": clock, "START_RELAY": False})


def hall_client(app, hall: str, username: str, window: int | None = 1, password: str = DEMO_PASSWORD):
    c = app.test_client()
    body = {"username": username, "password": password, **({"window": window} if window else {})}
    r = c.post(f"/h/{hall}/api/v1/login", json=body)
    assert r.status_code == 200, r.get_json()
    c.environ_base["HTTP_X_CSRF_TOKEN"] = r.get_json()["csrf_token"]
    return c


def city_client(app):
    c = app.test_client()
    r = c.post("/city/api/v1/login", json={"username": CITY_SUPERVISOR, "password": CITY_PASSWORD})
    assert r.status_code == 200, r.get_json()
    c.environ_base["HTTP_X_CSRF_TOKEN"] = r.get_json()["csrf_token"]
    return c


def get(c, path, status=200):
    r = c.get(path)
    assert r.status_code == status, (path, r.get_data(as_text=True)[:300])
    return r


def a_day(app, clock) -> None:
    """east: two 人社 tickets, A001 handled at window 1 (waited 300 s, served 600 s); west: one 市场 ticket
    consulted at window 4 (waited 600 s, served 300 s), and one left waiting."""
    at(clock, FRI, "09:00")
    public = app.test_client()
    for hall, service in (("east", "renshe"), ("east", "renshe"), ("west", "shichang"), ("west", "renshe")):
        assert public.post(f"/h/{hall}/api/v1/tickets", json={"service": service}).status_code == 201
    east, west = hall_client(app, "east", "clerk1", 1), hall_client(app, "west", "westclerk4", 4)
    at(clock, FRI, "09:05")
    assert east.post("/h/east/api/v1/windows/1/call-next").get_json()["ticket"]["number"] == "A001"
    at(clock, FRI, "09:10")
    assert west.post("/h/west/api/v1/windows/4/call-next").get_json()["ticket"]["number"] == "B001"
    at(clock, FRI, "09:15")
    assert east.post("/h/east/api/v1/windows/1/finish", json={"outcome": "handled"}).status_code == 200
    assert west.post("/h/west/api/v1/windows/4/finish", json={"outcome": "consulted"}).status_code == 200


# ------------------------------------------------------------------------------------------------ who may read
def test_only_a_city_supervisor_reads_the_city(city_app):
    anonymous = city_app.test_client()
    for path in ROUTES:
        assert get(anonymous, path, 401).get_json()["error"]["code"] == "not_logged_in"
    page = get(anonymous, "/city").get_data(as_text=True)  # the page itself shows the sign-in
    assert 'id="login-form"' in page and "全市监管" in page
    clerk = hall_client(city_app, "east", "clerk1", 1)
    supervisor = hall_client(city_app, "west", "westsuper", None, SUPER_PASSWORD)
    assert get(supervisor, "/h/west/api/v1/supervisor/report?period=day").status_code == 200  # in its own hall
    for c in (clerk, supervisor):
        for path in ROUTES:
            get(c, path, 401)
    # a hall's account is no city supervisor's account
    for username, password in (("westsuper", SUPER_PASSWORD), ("supervisor", SUPER_PASSWORD), ("clerk1", DEMO_PASSWORD)):
        r = city_app.test_client().post("/city/api/v1/login", json={"username": username, "password": password})
        assert r.status_code == 401, r.get_json()
    city = city_client(city_app)
    for path in ROUTES:
        get(city, path)
    assert city.post("/city/api/v1/logout", json={}).status_code == 200
    get(city, ROUTES[0], 401)  # the session died on the server


# ------------------------------------------------------------------------------------------------ the figures
def test_the_city_figures_are_the_halls_added_up(city_app, clock):
    a_day(city_app, clock)
    city = city_client(city_app)
    rep = get(city, "/city/api/v1/report?period=day&by=service").get_json()
    own = {h: get(hall_client(city_app, h, u, None, SUPER_PASSWORD), f"/h/{h}/api/v1/supervisor/report?period=day")
           .get_json()["total"]["figures"] for h, u in (("east", "supervisor"), ("west", "westsuper"))}
    assert [h["key"] for h in rep["halls"]] == ["east", "west"]
    assert [h["label"] for h in rep["halls"]] == [HALL_NAMES["east"][0], HALL_NAMES["west"][0]]
    assert {h["key"]: h["figures"] for h in rep["halls"]} == own  # each hall's total exactly as its supervisor reads it
    total = rep["total"]["figures"]
    for k in ("issued", "handled", "consulted", "no_show", "cancelled", "unserved", "ratings", "accepted"):
        assert total[k] == own["east"][k] + own["west"][k], k
    assert (total["issued"], total["handled"], total["consulted"], total["unserved"]) == (4, 1, 1, 2)
    # the waits of both halls together (300 s and 600 s), not the mean of the halls' means
    assert total["wait"] == {"n": 2, "mean_s": 450.0, "median_s": 450.0, "p90_s": 600.0}
    rows = {r["key"]: r["figures"] for r in rep["rows"]}
    assert (rows["renshe"]["issued"], rows["shichang"]["issued"]) == (3, 1)
    halls = get(city, "/city/api/v1/report?period=day&by=hall").get_json()
    assert [r["key"] for r in halls["rows"]] == ["east", "west"] and halls["total"] == rep["total"]
    only = get(city, "/city/api/v1/report?period=day&halls=west").get_json()
    assert only["total"]["figures"] == own["west"]
    windows = get(city, "/city/api/v1/report?period=day&by=window").get_json()
    assert {r["key"] for r in windows["rows"]} >= {"east:1", "west:4"}

    # the CSV: the hall's columns, the rows, each hall, the city's total — the JSON's numbers
    r = get(city, "/city/api/v1/report.csv?period=day&by=service&lang=en")
    assert r.mimetype == "text/csv" and "onewindow-city-2026-11-27-2026-11-27-service.csv" in r.headers["Content-Disposition"]
    text = r.get_data(as_text=True)
    assert text.startswith("\ufeff")
    table = list(csv.reader(io.StringIO(text[1:])))
    assert table[0] == [c[2] for c in COLUMNS]
    expected = [*rep["rows"], *rep["halls"], rep["total"]]
    assert [line[0] for line in table[1:]] == [row["key"] for row in expected]
    for line, row in zip(table[1:], expected):
        flat = flatten(row["figures"])
        assert line[2:] == ["" if flat[k] is None else (f"{flat[k]:.1f}" if isinstance(flat[k], float) else str(flat[k]))
                            for k, _zh, _en in COLUMNS[2:]], row["key"]

    # the charts draw the same report
    svg = get(city, "/city/api/v1/charts/halls.svg?period=day").get_data(as_text=True)
    assert svg.startswith("<svg") and f"<title>{rep['halls'][0]['label']} 取号 2</title>" in svg
    for name in ("haocaiping", "load", "wait", "satisfaction"):
        assert get(city, f"/city/api/v1/charts/{name}.svg?period=day&lang=en").mimetype == "image/svg+xml"


def test_bad_requests_are_refused_with_a_reason(city_app):
    city = city_client(city_app)
    for path, field in (("/city/api/v1/report?by=nope", "by"), ("/city/api/v1/report?halls=nowhere", "halls"),
                        ("/city/api/v1/report?period=decade", "period"), ("/city/api/v1/report?from=2026-13-01", "from"),
                        ("/city/api/v1/report.csv?lang=fr", "lang"), ("/city/api/v1/charts/halls.svg?lang=fr", "lang")):
        body = get(city, path, 400).get_json()
        assert body["error"]["details"]["field"] == field, path
    assert get(city, "/city/api/v1/report?from=2026-11-28&to=2026-11-27", 400).get_json()["error"]["code"] == "invalid_range"
    assert get(city, "/city/api/v1/charts/nope.svg", 400).get_json()["error"]["code"] == "unknown_chart"


def test_the_live_overview_of_every_hall(city_app, clock):
    a_day(city_app, clock)
    view = get(city_client(city_app), "/city/api/v1/overview").get_json()
    assert [h["hall"] for h in view["halls"]] == ["east", "west"] and view["name"] == "测试市"
    east, west = (h["summary"] for h in view["halls"])
    assert (east["waiting"], east["windows_open"]) == (1, 1)  # A002 waits; clerk1 at window 1
    assert (west["waiting"], west["windows_open"]) == (1, 1)  # A001 waits; westclerk4 at window 4
    assert view["totals"]["waiting"] == 2 and view["totals"]["windows_open"] == 2 and view["totals"]["halls"] == 2
    assert view["halls"][0]["overview"]["windows"][0]["clerk"] == "clerk1"
