"""The kiosk's "需要帮助" button: one help request per press (exactly once, rate-limited per kiosk), an alert on the
supervisor's overview until a supervisor marks it handled, and the help requests of each day in the reports/CSV."""

from __future__ import annotations

import threading

import pytest

from hall_support import KIOSK2_TOKEN, KIOSK_TOKEN, SUPER_PASSWORD, TABLET_TOKENS
from shared import events
from shared.help_requests import MIN_INTERVAL_SECONDS, handle_help, open_help_requests, request_help
from stats_support import at, ok, supervisor

KIOSK = {"Authorization": f"Bearer {KIOSK_TOKEN}"}
HELP = "/api/v1/kiosks/lobby-1/help"


def typed(redis_client, engine, kind: str) -> list[dict]:
    return [e.data for e in events.read_range(redis_client, engine.keys.events) if e.type == kind]


def help_alerts(sup) -> list[dict]:
    return [a for a in ok(sup.get("/api/v1/supervisor/overview"))["alerts"] if a["kind"] == "help"]


def test_a_press_alerts_the_supervisor_once_until_handled(app, client, clock, redis_client):
    engine = app.extensions["onewindow"].engine
    sup = supervisor(app)
    first = ok(client.post(HELP, headers=KIOSK), 201)
    assert first["created"] is True and first["request"]["kiosk"] == "lobby-1"
    # pressing again while the request is open: the same request, nothing new for the desk
    clock.advance(seconds=5)
    again = ok(client.post(HELP, headers=KIOSK), 200)
    assert again["created"] is False and again["request"]["id"] == first["request"]["id"]
    assert [e["kiosk"] for e in typed(redis_client, engine, events.HELP_REQUESTED)] == ["lobby-1"]
    clock.advance(seconds=25)
    [alert] = help_alerts(sup)
    assert alert == {"kind": "help", "kiosk": "lobby-1", "request": first["request"]["id"],
                     "at": "2026-11-27T10:00:00+08:00", "waiting_s": 30}
    # handled: the alert goes, help_handled records who and how long it took; handling twice is refused
    path = f"/api/v1/supervisor/help/lobby-1/{first['request']['id']}/handled"
    done = ok(sup.post(path, json={}))["request"]
    assert done["handled_by"] == "supervisor" and done["waited_s"] == 30
    assert help_alerts(sup) == []
    r = sup.post(path, json={})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_open"
    assert [(e["kiosk"], e["by"], e["waited_s"]) for e in typed(redis_client, engine, events.HELP_HANDLED)] == [
        ("lobby-1", "supervisor", 30)]


def test_a_kiosk_cannot_spam_the_desk(app, client, clock, redis_client):
    engine = app.extensions["onewindow"].engine
    rid = ok(client.post(HELP, headers=KIOSK), 201)["request"]["id"]
    handle_help(engine, "lobby-1", rid, by="guide")
    clock.advance(seconds=10)
    r = client.post(HELP, headers=KIOSK)
    assert r.status_code == 429 and r.get_json()["error"]["code"] == "rate_limited"
    assert r.get_json()["error"]["details"]["retry_after"] == MIN_INTERVAL_SECONDS - 10
    assert len(typed(redis_client, engine, events.HELP_REQUESTED)) == 1
    # another kiosk is not held back by this one; this one may ask again after the interval
    ok(client.post("/api/v1/kiosks/lobby-2/help", headers={"Authorization": f"Bearer {KIOSK2_TOKEN}"}), 201)
    clock.advance(seconds=MIN_INTERVAL_SECONDS)
    ok(client.post(HELP, headers=KIOSK), 201)
    assert [e["kiosk"] for e in typed(redis_client, engine, events.HELP_REQUESTED)] == ["lobby-1", "lobby-2", "lobby-1"]


def test_only_that_kiosk_may_ask(client, redis_client):
    assert client.post(HELP).status_code == 401
    r = client.post(HELP, headers={"Authorization": f"Bearer {KIOSK2_TOKEN}"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "wrong_kiosk"
    r = client.post(HELP, headers={"Authorization": f"Bearer {TABLET_TOKENS[1]}"})
    assert r.status_code == 403
    assert client.post("/api/v1/kiosks/no%20such/help", headers=KIOSK).status_code == 404
    assert not [k for k in redis_client.keys("*help:open*") if redis_client.hlen(k)]


def test_only_a_supervisor_marks_help_handled(app, client, clerk_client):
    rid = ok(client.post(HELP, headers=KIOSK), 201)["request"]["id"]
    path = f"/api/v1/supervisor/help/lobby-1/{rid}/handled"
    assert app.test_client().post(path, json={}).status_code == 401
    assert clerk_client(1).post(path, json={}).status_code == 403
    assert len(open_help_requests(app.extensions["onewindow"].engine)) == 1


def test_a_resent_press_has_one_effect(client, app, redis_client):
    """The same request sent again (a kiosk retrying after a lost answer) is answered from its first run, even
    after the request was handled in between: nothing happens twice."""
    engine = app.extensions["onewindow"].engine
    headers = {**KIOSK, "Idempotency-Key": "help-press-0001"}
    first = ok(client.post(HELP, headers=headers), 201)
    handle_help(engine, "lobby-1", first["request"]["id"], by="guide")
    again = client.post(HELP, headers=headers)
    assert again.status_code == 201 and again.get_json()["request"] == first["request"]
    assert len(typed(redis_client, engine, events.HELP_REQUESTED)) == 1
    assert open_help_requests(engine) == []


def test_parallel_presses_open_one_request(engine, redis_client):
    results, barrier = [], threading.Barrier(8)

    def press():
        barrier.wait()
        results.append(request_help(engine, "lobby-1"))

    threads = [threading.Thread(target=press) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r["created"] for r in results) == 1
    assert len({r["request"]["id"] for r in results}) == 1
    assert len(typed(redis_client, engine, events.HELP_REQUESTED)) == 1


def test_help_requests_per_day_in_reports_and_csv(app, client, clock):
    engine = app.extensions["onewindow"].engine
    sup = supervisor(app)
    at(clock, "2026-11-27", "09:00")
    rid = ok(client.post(HELP, headers=KIOSK), 201)["request"]["id"]
    handle_help(engine, "lobby-1", rid, by="guide")
    at(clock, "2026-11-27", "11:00")
    ok(client.post(HELP, headers=KIOSK), 201)
    ok(client.post("/api/v1/kiosks/lobby-2/help", headers={"Authorization": f"Bearer {KIOSK2_TOKEN}"}), 201)
    at(clock, "2026-11-28", "10:00")
    ok(client.post(HELP, headers=KIOSK), 200)  # still open since Friday: the same request, not counted again
    at(clock, "2026-11-28", "10:30")
    engine_open = open_help_requests(engine)
    for r in engine_open:
        handle_help(engine, r["kiosk"], r["request"], by="guide")
    at(clock, "2026-11-28", "11:00")
    ok(client.post(HELP, headers=KIOSK), 201)
    rep = ok(sup.get("/api/v1/supervisor/report", query_string={"from": "2026-11-27", "to": "2026-11-28", "by": "day"}))
    by_day = {r["key"]: r["figures"]["help_requests"] for r in rep["rows"]}
    assert by_day == {"2026-11-27": 3, "2026-11-28": 1}
    assert rep["total"]["figures"]["help_requests"] == 4
    csv = sup.get("/api/v1/supervisor/report.csv",
                  query_string={"from": "2026-11-27", "to": "2026-11-28", "by": "day"}).get_data(as_text=True)
    header, *lines = [line.split(",") for line in csv.lstrip("\ufeff").strip().split("\r\n")]
    col = header.index("求助次数")
    assert [line[col] for line in lines] == ["3", "1", "4"]


@pytest.mark.browser
def test_the_supervisor_desk_shows_the_alert_live_and_marks_it_handled(live_server, redis_client, new_page):
    """A kiosk's press shows up on the supervisor's overview without a reload (Socket.IO); 已处理 closes it."""
    import json
    import urllib.request

    from playwright.sync_api import expect


    page = new_page((1440, 900))
    page.goto(live_server.url + "/supervisor")
    page.fill("#username", "supervisor")
    page.fill("#password", SUPER_PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#conn")).to_have_attribute("data-state", "on")
    expect(page.locator('#alerts [data-alert="help"]')).to_have_count(0)
    req = urllib.request.Request(live_server.url + HELP, data=json.dumps({}).encode(), method="POST",
                                 headers={"Content-Type": "application/json", **KIOSK})
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status == 201
    alert = page.locator('#alerts [data-alert="help"][data-kiosk="lobby-1"]')
    expect(alert).to_contain_text("取号机 lobby-1 有群众需要帮助", timeout=20_000)
    alert.locator("button").click()
    expect(alert).to_have_count(0, timeout=20_000)
    handled = [e for e in events.read_range(redis_client, next(iter(redis_client.keys("*:events"))))
               if e.type == events.HELP_HANDLED]
    assert [(e.data["kiosk"], e.data["by"]) for e in handled] == [("lobby-1", "supervisor")]
