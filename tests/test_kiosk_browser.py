"""The kiosk page in headless Chromium against a real `onewindow serve` (preview printer): tap a service and see the
number; a double tap or a retry after a lost response gives one ticket; a closed service cannot be tapped and says
why; failures are sentences; English returns to Chinese after the visit; tiles follow the hall live."""

from __future__ import annotations

import json
import urllib.request

import pytest

from browser_support import BROWSER_MARKS, page_errors, settle
from shared.config import load_config
from shared.engine import Engine


pytestmark = BROWSER_MARKS

PORTRAIT = (1080, 1920)


@pytest.fixture
def live_engine(live_server, live_config, redis_client):
    """An engine on the live server's hall (same Redis, real clock), for arranging and checking state."""
    return Engine(redis_client, load_config(live_config))


def issued_today(live_server, code: str) -> int:
    with urllib.request.urlopen(live_server.url + "/api/v1/services", timeout=5) as r:
        return {s["code"]: s for s in json.load(r)["services"]}[code]["issued_today"]


KIOSK_TOKENS = {"lobby-1": "demo-kiosk-token-lobby-1", "lobby-2": "demo-kiosk-token-lobby-2"}


def open_kiosk(page, live_server, kiosk: str = "lobby-1"):
    """Open the kiosk page paired as ``kiosk`` (the pairing link stores the token in the browser)."""
    page.goto(f"{live_server.url}/kiosk#pair={KIOSK_TOKENS[kiosk]}")
    page.wait_for_selector(".tile[data-service=renshe]")


def tile(page, code: str):
    return page.locator(f".tile[data-service={code}]")


def ticket_posts(page) -> list[dict]:
    """Start recording the JSON bodies of ticket requests the page sends."""
    bodies: list[dict] = []
    page.on("request", lambda req: bodies.append(json.loads(req.post_data))
            if req.method == "POST" and req.url.endswith("/api/v1/tickets") else None)
    return bodies


def test_an_unpaired_browser_sees_the_pairing_screen_and_pairs(live_server, redis_client, new_page):
    """Issue 9, item 3: any browser on the hall's network was a kiosk. Now a browser without the kiosk's token shows
    only the pairing screen; a wrong or non-kiosk token is refused there; the right one is kept across reloads and
    sent with every ticket request."""
    page = new_page(PORTRAIT)
    page.goto(f"{live_server.url}/kiosk")
    page.wait_for_selector("#pair:not([hidden])")
    assert page.locator("#pair-title").inner_text() == "本设备尚未登记为自助取号机"
    assert page.locator("#start").is_hidden() and page.locator(".tile").count() == 0 or \
        not page.locator(".tile").first.is_visible()
    page.locator("#lang").click()
    assert page.locator("#pair-title").inner_text() == "This device is not registered as a ticket kiosk"
    page.locator("#lang").click()
    for token, words in (("guessed-token", "令牌无效"), ("demo-tablet-token-window-1", "不是取号机的令牌")):
        page.fill("#pair-token", token)
        page.locator("#pair-go").click()
        page.wait_for_function(f"() => document.getElementById('pair-error').textContent.includes('{words}')")
        assert page.locator("#start").is_hidden()
    page.fill("#pair-token", KIOSK_TOKENS["lobby-2"])
    page.locator("#pair-go").click()
    page.wait_for_selector(".tile[data-service=renshe]")
    assert page.locator("#kiosk").get_attribute("data-kiosk") == "lobby-2"
    page.reload()  # paired for good: the token is kept in the browser
    page.wait_for_selector(".tile[data-service=renshe]")
    sent = []
    page.on("request", lambda req: sent.append(req.headers.get("authorization"))
            if req.method == "POST" and req.url.endswith("/api/v1/tickets") else None)
    tile(page, "renshe").click()
    page.wait_for_selector("#ticket:not([hidden])")
    assert sent == [f"Bearer {KIOSK_TOKENS['lobby-2']}"]
    assert "预览模式" in page.locator("#t-print").inner_text()  # printed (to the preview) as kiosk lobby-2
    assert [m for m in page.log if m.startswith("pageerror")] == []
    page.evaluate("localStorage.clear()")


def test_a_withdrawn_token_returns_the_kiosk_to_the_pairing_screen(live_server, redis_client, new_page):
    page = new_page(PORTRAIT)
    page.goto(f"{live_server.url}/kiosk")
    page.evaluate("localStorage.setItem('ow.kiosk.token', 'a-token-no-longer-in-the-config')")
    page.reload()
    page.wait_for_selector("#pair:not([hidden])")
    page.wait_for_function("() => document.getElementById('pair-error').textContent.includes('已失效')")
    assert page.evaluate("localStorage.getItem('ow.kiosk.token')") is None


def test_tap_a_service_and_see_the_number(live_server, redis_client, new_page):
    page = new_page(PORTRAIT)
    open_kiosk(page, live_server)
    assert page.locator("#prompt").inner_text() == "请选择您要办理的业务"
    tile(page, "renshe").click()
    page.wait_for_selector("#ticket:not([hidden])")
    assert page.locator("#t-number").inner_text() == "A001"
    assert page.locator("#t-service").inner_text() == "人社综合"
    assert "请到 1、2、3、5、6 号窗口办理" == page.locator("#t-windows").inner_text()
    assert page.locator("#t-ahead").inner_text() == "0 人"
    assert "预览模式" in page.locator("#t-print").inner_text()  # the live server prints to preview files
    page.wait_for_function("() => document.getElementById('t-qr').naturalWidth > 0")
    page.locator("#done").click()
    page.wait_for_selector("#start:not([hidden])")
    assert page_errors(page) == []


def test_double_tap_gives_one_ticket(live_server, redis_client, new_page):
    page = new_page(PORTRAIT)
    open_kiosk(page, live_server)
    posts = ticket_posts(page)
    tile(page, "shichang").dblclick()  # a real double tap
    page.wait_for_selector("#ticket:not([hidden])")
    assert page.locator("#t-number").inner_text() == "B001"
    settle(page)
    assert len(posts) == 1
    page.locator("#done").click()

    handle = tile(page, "renshe").element_handle()
    page.evaluate("t => { t.click(); t.click(); t.click(); }", handle)  # three taps in the same instant
    page.wait_for_selector("#ticket:not([hidden])")
    assert page.locator("#t-number").inner_text() == "A001"
    settle(page)
    assert len(posts) == 2
    assert issued_today(live_server, "shichang") == 1 and issued_today(live_server, "renshe") == 1


@pytest.mark.parametrize("lost", ["connection_reset", "503"])
def test_a_retry_after_a_lost_response_reuses_the_request_id(live_server, redis_client, new_page, lost):
    page = new_page(PORTRAIT)
    open_kiosk(page, live_server)
    posts = ticket_posts(page)
    calls = []

    def lose_first_response(route):
        calls.append(1)
        if len(calls) == 1:
            route.fetch()  # the server issues the ticket …
            if lost == "503":  # … and answers 503 (Redis was too slow to confirm it in time)
                route.fulfill(status=503, json={"error": {"code": "store_unavailable", "message": "slow"}})
            else:  # … and the answer is lost on the way back
                route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/v1/tickets", lose_first_response)
    tile(page, "renshe").click()
    page.wait_for_selector("#ticket:not([hidden])")
    assert page.locator("#t-number").inner_text() == "A001"
    assert len(posts) == 2 and posts[0]["request_id"] == posts[1]["request_id"]
    assert posts[0]["kiosk"] == "lobby-1" and posts[0]["priority"] is False
    # the replay printed nothing more: the page says so honestly
    assert "如未拿到纸质号票" in page.locator("#t-print").inner_text()
    assert issued_today(live_server, "renshe") == 1


def test_closed_service_cannot_be_tapped_and_says_why(live_server, redis_client, new_page):
    page = new_page(PORTRAIT)
    open_kiosk(page, live_server)
    posts = ticket_posts(page)
    closed = tile(page, "lingdao")
    assert closed.is_disabled()
    assert "暂停取号" in closed.inner_text() and "今日不开放" in closed.inner_text()
    closed.click(force=True)
    settle(page)
    assert posts == [] and page.locator("#ticket").is_hidden()
    page.locator("#lang").click()
    assert "Not open today" in closed.inner_text()


def test_priority_path_issues_a_priority_ticket(live_server, redis_client, new_page):
    page = new_page(PORTRAIT)
    open_kiosk(page, live_server)
    posts = ticket_posts(page)
    page.locator("#priority").click()
    assert page.locator("#prompt").inner_text().startswith("绿色通道")
    assert page.locator("#priority-note").is_visible()
    tile(page, "renshe").click()
    page.wait_for_selector("#ticket:not([hidden])")
    assert posts[0]["priority"] is True
    assert page.locator("#t-priority").is_visible()
    page.locator("#done").click()
    assert page.locator("#priority").is_visible() and page.locator("#prompt").inner_text() == "请选择您要办理的业务"


def test_english_switch_returns_to_chinese_after_the_visit_and_when_idle(live_server, redis_client, new_page):
    page = new_page((1920, 1080))
    page.clock.install()
    open_kiosk(page, live_server)
    page.locator("#lang").click()
    assert page.locator("#prompt").inner_text() == "Please choose a service"
    assert "Human Resources & Social Security" in tile(page, "renshe").inner_text()
    assert page.locator("html").get_attribute("lang") == "en"
    tile(page, "renshe").click()
    page.wait_for_selector("#ticket:not([hidden])")
    assert page.locator(".ticket-ok").inner_text().endswith("Your ticket")
    assert page.locator("#t-windows").inner_text() == "Please go to windows 1, 2, 3, 5, 6"
    page.locator("#done").click()  # the visit is over
    assert page.locator("#prompt").inner_text() == "请选择您要办理的业务"
    assert page.locator("html").get_attribute("lang") == "zh-CN"

    page.locator("#lang").click()  # someone switches to English and walks away
    assert page.locator("#lang").inner_text() == "中文"
    page.clock.fast_forward("01:01")
    page.wait_for_function("() => document.getElementById('prompt').textContent === '请选择您要办理的业务'")
    assert page.locator("#lang").inner_text() == "English"


def test_failures_are_sentences_in_the_current_language(live_server, live_engine, new_page):
    page = new_page(PORTRAIT)
    snapshots = []   # the kiosk's requests for the tiles' snapshot
    page.on("request", lambda r: snapshots.append(r) if "/api/v1/services" in r.url else None)
    open_kiosk(page, live_server)
    posts = ticket_posts(page)
    page.route("**/api/v1/tickets", lambda route: route.abort("internetdisconnected"))
    tile(page, "renshe").click()
    page.wait_for_selector("#dialog:not([hidden])", timeout=10_000)
    assert page.locator("#dialog-text").inner_text() == "网络连接中断，暂时无法取号。请稍后再试，或咨询工作人员。"
    assert len(posts) == 3 and len({p["request_id"] for p in posts}) == 1  # retried with one request id
    page.locator("#dialog-ok").click()

    # the network is back; the citizen taps the same service again: still the same intent
    page.unroute("**/api/v1/tickets")
    tile(page, "renshe").click()
    page.wait_for_selector("#ticket:not([hidden])")
    assert posts[-1]["request_id"] == posts[0]["request_id"]
    page.locator("#done").click()

    # the service runs out of tickets after the screen was drawn (the tile still looks open)
    page.route("**/api/v1/services", lambda route: route.abort())
    settle(page)                 # every snapshot asked for before the route is reported …
    for request in snapshots:    # … and answered before the tickets run out (a later one is refused)
        response = request.response()
        if response:
            response.finished()
    for _ in range(50):
        live_engine.issue("bubancheng")
    page.locator("#lang").click()
    tile(page, "bubancheng").click()
    page.wait_for_selector("#dialog:not([hidden])")
    text = page.locator("#dialog-text").inner_text()
    assert text.startswith("Can't-Get-It-Done Complaints: all of today's tickets have been taken"), text
    for technical in ("Error", "error", "quota", "409", "Traceback", "{"):
        assert technical not in text


def test_print_failure_keeps_the_ticket_on_screen_with_an_apology(live_server, redis_client, new_page):
    page = new_page(PORTRAIT)
    open_kiosk(page, live_server)

    def printer_jammed(route):
        response = route.fetch()
        body = response.json()
        body["print"] = {"status": "failed", "reason": "paper_out"}
        route.fulfill(response=response, json=body)

    page.route("**/api/v1/tickets", printer_jammed)
    tile(page, "renshe").click()
    page.wait_for_selector("#ticket:not([hidden])")
    assert page.locator("#t-number").inner_text() == "A001"
    note = page.locator("#t-print").inner_text()
    assert "抱歉" in note and "请拍照或扫码保存您的号码" in note and "paper" not in note
    page.wait_for_function("() => document.getElementById('t-qr').naturalWidth > 0")
    assert int(page.locator("#countdown").inner_text().strip("()")) > 30  # time to take a photo
    page.locator("#done").click()
    assert page.locator("#printer-note").is_visible()  # the next citizen is warned before tapping


def test_tiles_follow_the_hall_live(live_server, live_engine, new_page):
    page = new_page(PORTRAIT)
    open_kiosk(page, live_server)
    page.wait_for_function("() => window.onewindowKiosk && onewindowKiosk.live.status === 'live' && document.querySelector('#net').hidden")
    assert "当前无人等候" in tile(page, "renshe").inner_text()
    live_engine.issue("renshe")
    live_engine.issue("renshe")
    page.wait_for_function(
        "() => document.querySelector('.tile[data-service=renshe]').textContent.includes('等候 2 人')", timeout=20_000)
