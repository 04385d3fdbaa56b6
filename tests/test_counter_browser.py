"""The counter workstation and the evaluation device in headless Chromium against a real `onewindow serve`.

Set ONEWINDOW_SCREENSHOTS=1 to (re)write the screenshots under docs/.
"""

from __future__ import annotations

import json

from playwright.sync_api import expect

from browser_support import BROWSER_MARKS, console_log

pytestmark = BROWSER_MARKS

from counter_support import SHOTS, _current, _errors, _events, _get, _idle, _issue, _login, _shot


def test_clerk_day_login_call_recall_transfer_consult_rate_and_case(live_server, redis_client, keys, new_context):
    base = live_server.url
    a1, a2 = _issue(base, "renshe", "renshe")
    _issue(base, "renshe", "renshe", "renshe", "shichang")  # others waiting: the preview has something to show
    ctx = new_context((1920, 1080))
    page = ctx.new_page()
    page.log = console_log(page)
    if SHOTS:
        page.goto(f"{base}/counter")
        page.wait_for_selector("#login-view:not([hidden])")
        _shot(page, "counter-login.png")
    _login(page, base, "clerk1", 1)
    expect(page.locator("[data-action=recall]")).to_be_disabled()  # waits for the window's state to arrive
    expect(page.locator("[data-action=call-next]")).to_be_enabled()

    rate = ctx.new_page()
    rate.set_viewport_size({"width": 1280, "height": 800})
    rate.log = console_log(rate)
    rate.goto(f"{base}/rate/1#pair=demo-tablet-token-window-1")  # the window's tablet, paired
    rate.wait_for_selector("#view-idle:not([hidden])")
    _shot(rate, "rate-idle.png")

    page.bring_to_front()
    page.click("[data-action=call-next]")
    _current(page, "A001")
    page.click("[data-action=recall]")
    expect(page.locator("#cur-calls")).to_have_text("2")
    assert [e["ticket"]["number"] for e in _events(redis_client, keys, "ticket_recalled")] == ["A001"]

    # transfer to 办不成事
    page.click("[data-action=transfer]")
    page.wait_for_selector("#dlg-transfer[open]")
    _shot(page, "counter-transfer.png")
    page.click("#transfer-reasons [data-reason=complaint]")
    page.click("#transfer-targets [data-kind=service][data-value=bubancheng]")
    _idle(page)
    moved = _get(base, f"/api/v1/tickets/{a1['id']}")["ticket"]
    assert moved["status"] == "waiting" and moved["service"] == "bubancheng"
    [ev] = _events(redis_client, keys, "ticket_transferred")
    assert ev["to_service"] == "bubancheng" and ev["clerk"] == "clerk1"

    page.click("[data-action=call-next]")
    _current(page, "A002")
    expect(page.locator("[data-count=called] .count-v")).to_have_text("2")  # the day's figures are in
    _shot(page, "counter-workstation.png")
    page.click("[data-action=finish-consulted]")
    _idle(page)
    [fin] = _events(redis_client, keys, "ticket_finished")
    assert fin["ticket"]["id"] == a2["id"] and fin["ticket"]["outcome"] == "consulted" and fin["clerk"] == "clerk1"
    expect(page.locator("[data-count=consulted] .count-v")).to_have_text("1")

    # the evaluation device offers the five levels for the ticket just finished
    rate.bring_to_front()
    rate.wait_for_selector("#view-open:not([hidden])", timeout=20_000)
    assert "A002" in rate.text_content("#ticket")
    labels = [rate.text_content(f".level-{n} .label") for n in (5, 4, 3, 2, 1)]
    assert labels == ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
    _shot(rate, "rate-levels.png")
    rate.click(".level-5")
    rate.wait_for_selector("#view-detail:not([hidden])")  # what went well: optional tap choices
    rate.click("#detail-submit")
    rate.wait_for_selector("#view-thanks:not([hidden])")
    _shot(rate, "rate-thanks.png")
    [rated] = _events(redis_client, keys, "ticket_rated")
    assert (rated["ticket"]["id"], rated["window"], rated["level"], rated["label"]) == (a2["id"], 1, 5, "非常满意")
    rate.wait_for_selector("#view-idle:not([hidden])", timeout=20_000)  # thanks, then reset

    assert _errors(page) == [] and _errors(rate) == []

    # the 办不成事 window picks up the transferred ticket and records the case
    ctx7 = new_context((1920, 1080))
    p7 = ctx7.new_page()
    p7.log = console_log(p7)
    _login(p7, base, "clerk7", 7)
    p7.wait_for_selector("#case-panel:not([hidden])")
    p7.keyboard.press("F1")
    _current(p7, "A001")
    p7.fill("#case-department", "区市场监管局")
    p7.fill("#case-problem", "营业执照变更需补充材料，群众往返多次仍未办成")
    p7.fill("#case-action", "联系部门负责人现场会商，约定三个工作日内办结")
    p7.check("#case-form input[name=resolved][value=no]")
    _shot(p7, "counter-case.png")
    p7.click("#case-submit")
    expect(p7.locator("#toast")).to_contain_text("C000001")
    [case] = _events(redis_client, keys, "case_recorded")
    assert case["ticket"]["id"] == a1["id"] and case["window"] == 7 and case["clerk"] == "clerk7"
    assert case["case"]["department"] == "区市场监管局" and case["case"]["resolved"] is False
    assert p7.input_value("#case-problem") == ""  # the form is cleared for the next case
    assert _errors(p7) == []


def test_an_action_whose_answer_was_lost_is_sent_again_with_its_key_and_done_once(live_server, redis_client, keys, new_context):
    """The first call-next reaches the server, but the page gets a 503 instead of the answer: the page sends the
    same request again with the same Idempotency-Key and shows the ticket the first one called."""
    base = live_server.url
    _issue(base, "renshe", "renshe")
    ctx = new_context((1600, 900))
    page = ctx.new_page()
    page.log = console_log(page)
    _login(page, base, "clerk1", 1)
    sent_keys: list[str] = []

    def lose_the_first_answer(route):
        sent_keys.append(route.request.headers.get("idempotency-key", ""))
        response = route.fetch()  # the server acts …
        if len(sent_keys) == 1:  # … and its answer is lost on the way
            route.fulfill(status=503, json={"error": {"code": "store_unavailable", "message": "lost"}})
        else:
            route.fulfill(response=response)

    page.route("**/api/v1/windows/1/call-next", lose_the_first_answer)
    with page.expect_response(lambda r: r.url.endswith("/call-next") and r.status == 200):
        page.click("[data-action=call-next]")
    _current(page, "A001")
    expect(page.locator("#toast")).to_contain_text("A001")
    assert len(sent_keys) == 2 and sent_keys[0] == sent_keys[1] and len(sent_keys[0]) >= 16
    assert [e["ticket"]["number"] for e in _events(redis_client, keys, "ticket_called")] == ["A001"]

    finish_keys: list[str] = []
    page.route("**/api/v1/windows/1/finish", lambda route: (
        finish_keys.append(route.request.headers.get("idempotency-key", "")), route.continue_()))
    page.click("[data-action=finish-handled]")
    page.click("#finish-submit")
    _idle(page)
    assert len(finish_keys) == 1 and finish_keys[0] not in sent_keys  # a new click is a new action
    assert [m for m in _errors(page) if "503" not in m] == []


def test_keyboard_shortcuts_drive_the_window(live_server, redis_client, keys, new_context):
    base = live_server.url
    _issue(base, "renshe", "renshe", "renshe", "renshe", "renshe")
    ctx = new_context((1600, 900))
    page = ctx.new_page()
    page.log = console_log(page)
    _login(page, base, "clerk1", 1)
    page.keyboard.press("NumpadAdd")          # call next
    _current(page, "A001")
    page.keyboard.press("F2")                 # recall
    expect(page.locator("#cur-calls")).to_have_text("2")
    page.keyboard.press("NumpadSubtract")     # no-show, confirmed
    page.wait_for_selector("#dlg-noshow[open]")
    page.keyboard.press("NumpadEnter")
    _idle(page)
    page.keyboard.press("F1")                 # call next
    _current(page, "A002")
    page.keyboard.press("NumpadDecimal")      # finish as 咨询
    _idle(page)
    page.keyboard.press("NumpadAdd")
    _current(page, "A003")
    page.keyboard.press("NumpadDivide")       # transfer: target 1 is the 办不成事 service
    page.wait_for_selector("#dlg-transfer[open]")
    page.keyboard.press("Numpad1")            # reason 1
    page.keyboard.press("NumpadEnter")
    page.keyboard.press("Numpad1")            # target 1
    page.keyboard.press("NumpadEnter")
    _idle(page)
    page.keyboard.press("F8")                 # call a number
    page.wait_for_selector("#dlg-call[open]")
    page.keyboard.type("5")
    page.keyboard.press("Enter")
    _current(page, "A005")
    page.keyboard.press("F4")                 # finish as 办件 (the 事项 defaults to the service's first)
    page.wait_for_selector("#dlg-finish[open]")
    page.keyboard.press("NumpadEnter")
    _idle(page)
    page.keyboard.press("Numpad9")            # pause, reason 1
    page.wait_for_selector("#dlg-pause[open]")
    page.keyboard.press("Numpad1")
    page.keyboard.press("NumpadEnter")
    page.wait_for_selector("#paused-banner:not([hidden])")
    expect(page.locator("[data-action=call-next]")).to_be_disabled()
    expect(page.locator("[data-action=recall]")).to_be_disabled()
    page.keyboard.press("NumpadAdd")          # disabled while paused: nothing happens
    page.keyboard.press("F9")                 # resume
    page.wait_for_selector("#paused-banner", state="hidden")
    page.keyboard.press("Escape")

    kinds = [json.loads(f["data"]) for _i, f in redis_client.xrange(keys.events)]
    acted = [(e["type"], (e.get("ticket") or {}).get("number"), e.get("clerk")) for e in kinds
             if e["type"] not in ("ticket_issued", "clerk_signed_in")]
    assert acted == [
        ("ticket_called", "A001", "clerk1"), ("ticket_recalled", "A001", "clerk1"),
        ("ticket_marked_no_show", "A001", "clerk1"), ("ticket_called", "A002", "clerk1"),
        ("ticket_finished", "A002", "clerk1"), ("ticket_called", "A003", "clerk1"),
        ("ticket_transferred", "A003", "clerk1"), ("ticket_called", "A005", "clerk1"),
        ("ticket_finished", "A005", "clerk1"), ("window_paused", None, "clerk1"), ("window_resumed", None, "clerk1"),
    ]
    finished = [e["ticket"]["outcome"] for e in kinds if e["type"] == "ticket_finished"]
    assert finished == ["consulted", "handled"]
    assert [e["reason"] for e in kinds if e["type"] == "window_paused"] == ["午间休息"]
    assert [e["to_service"] for e in kinds if e["type"] == "ticket_transferred"] == ["bubancheng"]
    assert _errors(page) == []


def test_queue_preview_is_live_and_a_held_window_is_refused(live_server, redis_client, keys, new_context):
    base = live_server.url
    _issue(base, "renshe")
    ctx = new_context((1920, 1080))
    page = ctx.new_page()
    _login(page, base, "clerk1", 1)
    expect(page.locator("[data-service=renshe] .q-count")).to_have_text("1")
    _issue(base, "renshe", "renshe")  # issued elsewhere: the preview follows over Socket.IO
    expect(page.locator("[data-service=renshe] .q-count")).to_have_text("3", timeout=20_000)
    # it came over the live connection (the page polls only while that is down): an event applied, and the snapshot
    # it asked for (which may already hold the second ticket)
    live = page.evaluate("() => ({status: owCounter.live().status, applied: owCounter.live().stats.applied})")
    assert live["status"] == "live" and live["applied"] >= 1
    assert page.locator("[data-service=renshe] .chip").all_text_contents() == ["A001", "A002", "A003"]
    # another clerk at the same window is told who holds it (the hold outlives the closed browser)
    ctx2 = new_context((1280, 800))
    p2 = ctx2.new_page()
    p2.goto(f"{base}/counter")
    p2.wait_for_selector("#login-view:not([hidden])")
    p2.fill("#username", "clerk2")
    p2.fill("#password", "demo-clerk")
    p2.select_option("#window-select", "1")
    p2.click("#login-submit")
    expect(p2.locator("#login-error")).to_contain_text("王芳")
    assert p2.is_hidden("#work-view")
    # the same clerk signs in again from another browser, then signs out: the window is free
    ctx3 = new_context((1280, 800))
    p3 = ctx3.new_page()
    _login(p3, base, "clerk1", 1)
    p3.click("#logout")
    p3.wait_for_selector("#login-view:not([hidden])")
    assert not redis_client.exists(keys.window_holder(1))
    assert [e["clerk"] for e in _events(redis_client, keys, "clerk_signed_out")] == ["clerk1"]


def test_an_action_shows_its_own_reply_while_every_snapshot_is_held(live_server, redis_client, new_context):
    """A click puts the action's reply on the screen: the counter does not wait for a fresh overview (it used to
    refetch the overview and today's counts twice per click and show the ticket only when they came back).
    (``redis_client`` starts the test on an empty hall.)"""
    base = live_server.url
    _issue(base, "renshe", "renshe")
    page = new_context((1600, 900)).new_page()
    page.log = console_log(page)
    _login(page, base, "clerk1", 1)
    expect(page.locator("[data-service=renshe] .q-count")).to_have_text("2")
    held, released = [], []   # every overview asked for from now on stays unanswered until released

    def hold(route):
        route.continue_() if released else held.append(route)

    page.route("**/api/v1/windows/1/overview", hold)
    page.click("[data-action=call-next]")
    _current(page, "A001")
    expect(page.locator("[data-action=recall]")).to_be_enabled()
    page.click("[data-action=no-show]")
    _idle(page)
    page.click("[data-action=call-next]")
    _current(page, "A002")
    released.append(True)
    for route in held:
        route.continue_()
    # the snapshots asked for by the actions' events come in: the queue preview follows, the window stays as it is
    expect(page.locator("[data-service=renshe] .q-count")).to_have_text("0")
    _current(page, "A002")
    assert _errors(page) == []


def test_english_switch(live_server, redis_client, keys, new_context):
    base = live_server.url
    ctx = new_context((1920, 1080))
    page = ctx.new_page()
    _login(page, base, "clerk2", 2)
    assert page.text_content("[data-action=call-next] .act-name") == "呼叫下一位"
    page.click("#lang")
    assert page.text_content("[data-action=call-next] .act-name") == "Call next"
    assert page.get_attribute("html", "lang") == "en"
    rate = ctx.new_page()
    rate.goto(f"{base}/rate/2")  # not paired yet: it says so, and asks nobody for the ticket to rate
    rate.wait_for_selector("#view-pair:not([hidden])")
    assert rate.text_content("#view-pair h1") == "本评价器尚未配对" and rate.is_hidden("#view-idle")
    rate.fill("#pair-token", "demo-tablet-token-window-1")  # another window's tablet
    rate.click("#pair-go")
    rate.wait_for_function("() => document.getElementById('pair-error').textContent.includes('不是本窗口')")
    rate.fill("#pair-token", "demo-tablet-token-window-2")
    rate.click("#pair-go")
    rate.wait_for_selector("#view-idle:not([hidden])")
    rate.click("#lang")
    assert rate.text_content("#view-idle h1") == "Please rate our service"
    assert rate.text_content(".level-1 .label") == "Very dissatisfied"


def test_counter_catches_up_after_a_server_restart(live_server, redis_client, hall_config, new_context):
    from shared.engine import Engine

    base = live_server.url
    _issue(base, "renshe")
    ctx = new_context((1600, 900))
    page = ctx.new_page()
    _login(page, base, "clerk1", 1)
    expect(page.locator("[data-service=renshe] .q-count")).to_have_text("1")
    live_server.stop()
    try:
        expect(page.locator("#conn")).not_to_have_attribute("data-state", "on", timeout=10000)
        # a ticket issued while the page is cut off: no event will reach it, only the re-fetch on reconnect
        Engine(redis_client, hall_config).issue("renshe")
    finally:
        live_server.start()
    expect(page.locator("#conn")).to_have_attribute("data-state", "on", timeout=15000)
    expect(page.locator("[data-service=renshe] .q-count")).to_have_text("2", timeout=20_000)
    page.keyboard.press("F1")  # the session survived the restart
    _current(page, "A001")
