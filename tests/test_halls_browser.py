"""Several halls in one served process, in headless Chromium: a kiosk page at /h/<hall>/kiosk talks to its own
hall's API (/h/<hall>/api/v1) and Socket.IO namespace, pairs with its own hall's token only, and issues that hall's
tickets; the hall display of one hall shows its own calls, never the other hall's; one browser works the counters
of two halls at once (a session per hall, each page on its hall's staff namespace)."""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect

from browser_support import BROWSER_MARKS, console_log, page_errors
from counter_support import _current, _errors, _login
from city_support import WEST_KIOSK_TOKEN, write_city
from faults import wait_for
from hall_support import KEYPAD_TOKEN, KIOSK_TOKEN, LiveServer

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def city_server(tmp_path_factory, redis_server):
    server = LiveServer(write_city(tmp_path_factory.mktemp("city") / "city"), redis_server.url).start()
    yield server
    server.stop()


def issued(server, hall: str) -> int:
    services = requests.get(f"{server.url}/h/{hall}/api/v1/services", timeout=5).json()["services"]
    return sum(s["issued_today"] for s in services)


def test_a_kiosk_of_one_hall_issues_that_halls_ticket(city_server, redis_client, new_page):
    page = new_page((1080, 1920))
    posts: list[str] = []
    page.on("request", lambda req: posts.append(req.url) if req.method == "POST" else None)
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: frames.append(str(payload))))
    page.goto(f"{city_server.url}/h/west/kiosk#pair={WEST_KIOSK_TOKEN}")
    page.wait_for_selector(".tile[data-service=renshe]")
    page.locator(".tile[data-service=renshe]").click()
    page.wait_for_selector("#ticket:not([hidden])")
    assert page.locator("#t-number").inner_text() == "A001"
    assert [u for u in posts if u.endswith("/tickets")] == [f"{city_server.url}/h/west/api/v1/tickets"]
    page.wait_for_function("() => document.getElementById('t-qr').naturalWidth > 0")  # /h/west/kiosk/qr/…
    assert any(re.match(r"^40/h/west/display,", f) for f in frames), frames  # the hall's own namespace
    assert (issued(city_server, "west"), issued(city_server, "east")) == (1, 0)
    assert page_errors(page) == []


def test_a_kiosk_token_of_another_hall_does_not_pair(city_server, redis_client, new_page):
    page = new_page((1080, 1920))
    page.goto(f"{city_server.url}/h/west/kiosk#pair={KIOSK_TOKEN}")  # east's kiosk token
    page.wait_for_selector("#pair:not([hidden])")
    page.wait_for_function("() => document.getElementById('pair-error').textContent.trim().length > 0")
    assert page.locator(".tile").count() == 0 or not page.locator(".tile").first.is_visible()
    # paired with east's token at east, the same browser stays unpaired at west (a token is kept per hall)
    page.goto(f"{city_server.url}/h/east/kiosk#pair={KIOSK_TOKEN}")
    page.wait_for_selector(".tile[data-service=renshe]")
    page.goto(f"{city_server.url}/h/west/kiosk")
    page.wait_for_selector("#pair:not([hidden])")


def test_a_hall_display_shows_only_its_halls_calls(city_server, redis_client, new_page):
    url = city_server.url
    page = new_page((1920, 1080))
    received: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: received.append(str(payload))))
    page.goto(f"{url}/h/east/display?voice=0")
    page.wait_for_function("() => document.body.innerText.length > 0")
    # live on east's namespace (the page's live client says so whichever transport carried the handshake: under load
    # the namespace's connect may travel before the WebSocket upgrade, where no WebSocket frame shows it)
    page.wait_for_function("() => window.owDisplay && window.owDisplay.live.status === 'live'", timeout=30000)
    assert page.evaluate("() => window.owDisplay.live.socket.nsp") == "/h/east/display"
    west = requests.Session()
    r = west.post(f"{url}/h/west/api/v1/login", json={"username": "westclerk4", "password": "demo-clerk", "window": 4},
                  timeout=10)
    assert r.status_code == 200, r.text
    west.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    assert requests.post(f"{url}/h/west/api/v1/tickets", json={"service": "shichang"}, timeout=5).status_code == 201
    r = west.post(f"{url}/h/west/api/v1/windows/4/call-next", json={}, timeout=5)
    assert r.status_code == 200 and r.json()["ticket"]["number"] == "B001"
    assert requests.post(f"{url}/h/east/api/v1/tickets", json={"service": "renshe"}, timeout=5).status_code == 201
    r = requests.post(f"{url}/h/east/api/v1/windows/1/call-next", json={}, timeout=5,
                      headers={"Authorization": f"Bearer {KEYPAD_TOKEN}"})
    assert r.status_code == 200 and r.json()["ticket"]["number"] == "A001"
    page.wait_for_function("() => document.body.innerText.includes('A001')", timeout=20000)
    assert "B001" not in page.locator("body").inner_text()
    assert not any("B001" in f for f in received)  # west's call never reached east's screen
    assert page_errors(page) == []


def test_one_browser_works_two_halls_counters_at_once(city_server, redis_client, new_context):
    url = city_server.url
    ctx = new_context((1600, 900))  # one browser: one cookie jar for both halls
    pages = {}
    for hall, user in (("east", "clerk1"), ("west", "westclerk1")):
        page = ctx.new_page()
        page.log = console_log(page)
        frames: list[str] = []
        page.on("websocket", lambda ws, f=frames: ws.on("framesent", lambda p: f.append(str(p))))
        _login(page, f"{url}/h/{hall}", user, 1)  # the staff socket of its own hall is on (#conn)
        assert any(f.startswith(f"40/h/{hall}/staff,") for f in frames), frames
        pages[hall] = page
    for hall in ("west", "east", "east"):
        assert requests.post(f"{url}/h/{hall}/api/v1/tickets", json={"service": "renshe"}, timeout=5).status_code == 201
    for hall, page in pages.items():
        page.bring_to_front()
        expect(page.locator("[data-action=call-next]")).to_be_enabled()
        page.click("[data-action=call-next]")
        _current(page, "A001")
    # each hall's counter remembers its own window (one browser, one local storage)
    stored = pages["east"].evaluate("() => Object.keys(localStorage).filter((k) => k.startsWith('ow.window')).sort()")
    assert stored == ["ow.window@/h/east", "ow.window@/h/west"]
    states = {h: requests.get(f"{url}/h/{h}/api/v1/display/state", timeout=5).json() for h in pages}
    assert states["east"]["waiting"]["renshe"] == 1 and states["west"]["waiting"]["renshe"] == 0
    assert all(_errors(p) == [] for p in pages.values())
