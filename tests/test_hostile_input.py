"""Observed inputs that gave a 500 (issue 9, item 9): each is now a clear 4xx that changes nothing.

The property-based fuzzing over every route is tests/test_fuzz.py; these are the named cases, kept as plain tests so a
regression names its input.
"""

from __future__ import annotations

import logging

import pytest

from hall_support import SUPER_PASSWORD, login
from hall_support import state_fingerprint

SURROGATE = "\ud800"


def _raw_json(text: str) -> dict:
    """Request kwargs for a body sent exactly as written (``\\ud800`` stays an escape, as a hostile client sends it)."""
    return {"data": text.encode(), "content_type": "application/json"}


@pytest.fixture
def supervisor(app):
    c = app.test_client()
    r = login(c, "supervisor", None, SUPER_PASSWORD)
    assert r.status_code == 200
    c.environ_base["HTTP_X_CSRF_TOKEN"] = r.get_json()["csrf_token"]
    return c


@pytest.fixture
def no_500s(caplog):
    """Fails the test if the catch-all (a true bug) answered anything."""
    caplog.set_level(logging.ERROR, logger="onewindow")
    yield
    assert "unhandled" not in caplog.text, caplog.text


def test_deeply_nested_json_is_a_400(client, redis_client, no_500s):
    before = state_fingerprint(redis_client)
    for body in ("[" * 8000 + "]" * 8000, '{"service": ' + "[" * 8000 + "]" * 8000 + "}",
                 '{"a":' * 2500 + "1" + "}" * 2500):
        r = client.post("/api/v1/tickets", **_raw_json(body))
        assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_json"
    assert state_fingerprint(redis_client) == before


def test_a_lone_surrogate_in_any_string_field_is_a_400(client, clerk_client, supervisor, redis_client, no_500s):
    client.post("/api/v1/tickets", json={"service": "renshe"})
    clerk = clerk_client(1)
    clerk.post("/api/v1/windows/1/call-next")
    before = state_fingerprint(redis_client)
    cases = [
        (client, "/api/v1/tickets", '{"service": "\\ud800"}'),
        (client, "/api/v1/tickets", '{"service": "renshe", "request_id": "abcdefgh\\ud800"}'),
        (client, "/api/v1/tickets", '{"\\ud800": 1}'),
        (client, "/api/v1/login", '{"username": "\\ud800", "password": "x", "window": 1}'),
        (client, "/api/v1/login", '{"username": "clerk1", "password": "\\udfff", "window": 1}'),
        (clerk, "/api/v1/windows/1/transfer", '{"service": "\\ud800"}'),
        (clerk, "/api/v1/windows/1/call", '{"number": "A\\ud800"}'),
        (client, "/api/v1/tickets/20261127-A001/cancel", '{"token": "\\ud800"}'),
        (supervisor, "/api/v1/supervisor/followups/case/C000001/resolve", '{"note": "\\ud800"}'),
    ]
    for c, path, body in cases:
        r = c.post(path, **_raw_json(body))
        assert r.status_code == 400, (path, body, r.status_code)
        assert r.get_json()["error"]["code"] == "invalid_value", (path, body)
    r = supervisor.put("/api/v1/supervisor/schedule/2026-12-05", **_raw_json('{"kind": "rota", "note": "\\ud800"}'))
    assert r.status_code == 400
    assert state_fingerprint(redis_client) == before
    # the pause reason is a string like any other (the window is idle after a finish)
    clerk.post("/api/v1/windows/1/finish", json={"outcome": "handled"})
    before = state_fingerprint(redis_client)
    r = clerk.post("/api/v1/windows/1/pause", **_raw_json('{"reason": "\\ud800"}'))
    assert r.status_code == 400 and state_fingerprint(redis_client) == before


def test_window_screen_with_a_non_ascii_digit_is_the_not_found_page(client, no_500s):
    for number in ("²", "%C2%B2", "١", "1²", "0x1", " 1"):
        r = client.get(f"/display/window/{number}")
        assert r.status_code == 404 and r.mimetype == "text/html", number


@pytest.mark.parametrize("query", [
    "period=week&date=9999-12-31", "period=month&date=9999-12-31", "period=year&date=0001-01-01",
    "from=9999-12-31", "from=0001-01-01&to=9999-12-31",
])
def test_supervisor_dates_out_of_range_are_a_400(supervisor, query, no_500s):
    for path in ("/api/v1/supervisor/report", "/api/v1/supervisor/report.csv", "/api/v1/supervisor/charts/satisfaction.svg"):
        r = supervisor.get(f"{path}?{query}")
        assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_value", (path, query)


def test_schedule_from_the_end_of_time_is_a_400(supervisor, redis_client, no_500s):
    r = supervisor.get("/api/v1/supervisor/schedule?from=9999-12-31")
    assert r.status_code == 400 and r.get_json()["error"]["details"]["field"] == "from"
    before = state_fingerprint(redis_client)
    r = supervisor.put("/api/v1/supervisor/schedule/9999-12-31", json={"kind": "holiday"})
    assert r.status_code == 400 and state_fingerprint(redis_client) == before


def test_dollar_anchored_patterns_no_longer_accept_a_final_newline(client, redis_client, no_500s):
    t = client.post("/api/v1/tickets", json={"service": "renshe"}).get_json()["ticket"]
    assert client.get(f"/api/v1/tickets/{t['id']}").status_code == 200
    assert client.get(f"/api/v1/tickets/{t['id']}%0A").status_code == 404
    assert client.get(f"/api/v1/track/{t['token']}%0A").status_code == 404
    # ASCII digits only: an Arabic-Indic date is not a ticket id
    assert client.get("/api/v1/tickets/٢٠٢٦١١٢٧-A001").status_code == 404


def test_an_unexpected_exception_is_logged_and_answered_as_a_plain_500(app, caplog, monkeypatch):
    """The catch-all exists for true bugs: JSON error shape, no traceback to the client, the route in the log."""
    hall = app.extensions["onewindow"]
    monkeypatch.setattr(hall.engine, "snapshot", lambda: 1 / 0)
    caplog.set_level(logging.ERROR, logger="onewindow")
    r = app.test_client().get("/api/v1/display/state")
    assert r.status_code == 500 and r.get_json()["error"]["code"] == "internal_error"
    assert "ZeroDivision" not in r.get_data(as_text=True)
    assert "unhandled ZeroDivisionError on GET /api/v1/display/state" in caplog.text
