"""The phone tracking page (/t/<token>) in headless Chromium against a real server: people ahead follow the
queue, a call shows the window in large type at once and signals (beep after the alerts tap)."""

from __future__ import annotations

from playwright.sync_api import expect

from browser_support import BROWSER_MARKS

pytestmark = BROWSER_MARKS


def test_tracking_page_follows_the_queue_and_the_call(live_server, api, phone):
    api.issue()
    other = api.issue("shichang")
    mine = api.issue()
    api.clerk(1), api.clerk(2)
    phone.goto(f"{live_server.url}/t/{mine['token']}")
    phone.wait_for_function("() => window.owTrack && owTrack.live.status === 'live'")
    assert phone.text_content("#number") == "A002"
    assert phone.text_content("#status") == "等候中"
    assert phone.text_content("#ahead") == "1"
    assert phone.is_hidden("#called")
    phone.click("#alerts")   # the tap a phone needs before it lets a page beep or vibrate
    assert phone.text_content("#alerts") == "已开启声音与振动提醒"

    api.call_next(1)          # the one ahead is called: the count follows (throttled refresh through the API)
    phone.wait_for_function("() => document.querySelector('#ahead').textContent === '0'", timeout=20_000)

    api.call_next(2)          # now mine, at window 2: shown from the event itself (signal() runs only there)
    phone.wait_for_selector("#called", state="visible", timeout=20_000)
    assert phone.text_content("#called-window") == "2 号窗口"
    assert phone.text_content("#status") == "请前往窗口"
    assert phone.is_hidden("#progress")
    alerts = phone.evaluate("() => owTrack.alerts")
    assert len(alerts) == 1 and alerts[0]["beeped"] is True
    assert phone.title().startswith("A002")

    r = api.clerk(2).post(f"{live_server.url}/api/v1/windows/2/recall", json={}, timeout=5)
    assert r.status_code == 200
    phone.wait_for_function("() => owTrack.alerts.length === 2", timeout=20_000)
    api.clerk(2).post(f"{live_server.url}/api/v1/windows/2/finish", json={"outcome": "handled"}, timeout=5)
    phone.wait_for_function("() => document.querySelector('#status').textContent === '已办结'", timeout=20_000)
    assert phone.is_hidden("#called")
    # the page never held another ticket's data
    assert other["token"] not in phone.content() and other["id"] not in phone.content()
    assert phone.errors == []  # type: ignore[attr-defined]


def test_tracking_page_unknown_token_and_english(live_server, api, phone):
    mine = api.issue("shichang")
    response = phone.goto(f"{live_server.url}/t/20261127AAAAAAAAAAAAAAAAAAAAAA")
    assert response.status == 404
    assert "未找到这张号票" in phone.content()
    phone.goto(f"{live_server.url}/t/20261127AAAAAAAAAAAAAAAAAAAAAA?lang=en")
    expect(phone.locator("main p")).to_have_text(
        "This ticket was not found. Check the QR code on your ticket or ask at the help desk.")
    assert phone.title().startswith("Not found")
    phone.goto(f"{live_server.url}/t/{mine['token']}?lang=en")
    phone.wait_for_function("() => window.owTrack && owTrack.live.status === 'live'")
    assert phone.text_content("#status") == "Waiting"
    assert phone.text_content("#ahead") == "0"
    assert phone.text_content(".tlang") == "中文"
    assert phone.text_content("#alerts") == "Turn on sound and vibration alerts"
