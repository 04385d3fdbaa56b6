"""The kiosk's real-name and check-in flow in headless Chromium with the simulated card reader (issue 14, "what must
be shown"): tap a card → see your booking → check in → the ticket, marked 预约; a card without a booking → a
real-name ticket (绿色通道 for a 65-year-old); the same card again for the same service → refused, in both
languages; a typed 身份证号 with a wrong check digit → a clear message on the keypad; a booking code typed → checked
in; a remote ticket activated by the card.

The real hall's configuration (config.toml) on Friday 2026-11-27 at 10:00, served in-process with a fixed clock;
人社综合 takes bookings (30-minute slots), remote tickets and real-name rules (one open ticket per person,
绿色通道 from 60). Screenshots go to a temporary folder, or to ``docs/kiosk-checkin-*.png`` with
``ONEWINDOW_DOCS_SCREENSHOTS=1``.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from datetime import date, datetime
from pathlib import Path

import pytest
from reception_support import APPOINTMENTS, book, with_appointments, with_remote, with_rules

from browser_support import BROWSER_MARKS, layout_problems, page_errors
from fake_printer import FakePrinter
from faults import wait_for
from kiosk_support import open_paired_kiosk, printing_to
from shared import bookings, remote
from shared.cardreader_sim import SimulatedReader, make_number
from shared.clock import FixedClock
from shared.config import load_config
from shared.engine import Engine
from shared.identity import identify

pytestmark = BROWSER_MARKS

ROOT = Path(__file__).resolve().parent.parent
PORTRAIT = (1080, 1920)
LANDSCAPE = (1920, 1080)
BOOKED = make_number("340404", date(1988, 5, 20), 131)      # has a booking at 10:30
WALK_IN = make_number("340404", date(1961, 3, 9), 242)      # 65: 绿色通道 from 60, no booking
BY_CODE = make_number("340421", date(1990, 1, 31), 57)      # checks in with the booking code
REMOTE = make_number("340403", date(1979, 8, 2), 15)        # took a remote ticket on the phone
CHECKED = ".checkin-box, .checkin-row, .checkin-service, .checkin-bar, .ticket-card, .key, .checkin-message"


def wrong_check_digit(number: str) -> str:
    return number[:-1] + ("0" if number[-1] != "0" else "1")


@pytest.fixture
def hall(redis_client, redis_server, tmp_path):
    from werkzeug.serving import make_server

    from onewindow import create_app

    config = load_config(ROOT / "config.toml")
    config = with_appointments(config, "renshe", **{**APPOINTMENTS, "capacity": 4})
    config = with_remote(with_rules(config, "renshe", max_open=1, green_age=60), "renshe")
    at = datetime(2026, 11, 27, 10, 0, tzinfo=config.timezone)
    server = make_server("127.0.0.1", 0, lambda environ, start: app(environ, start), threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    reader = SimulatedReader(origins=[url]).start()
    printer = FakePrinter()  # a network printer: the tickets print (or not: its state)
    config = dataclasses.replace(printing_to(printer, config, tmp_path),
                                 realname=dataclasses.replace(config.realname, card_reader=reader.url))
    clock = FixedClock(config.timezone, at)
    app = create_app({"CONFIG": config, "REDIS_URL": redis_server.url, "CLOCK": clock, "START_RELAY": False})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    engine = Engine(redis_client, config, clock)
    yield {"url": url, "at": at, "engine": engine, "reader": reader, "printer": printer}
    server.shutdown()
    reader.stop()
    printer.stop()


@pytest.fixture
def shots(tmp_path):
    folder = ROOT / "docs" if os.environ.get("ONEWINDOW_DOCS_SCREENSHOTS") == "1" else tmp_path / "shots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def open_kiosk(hall, new_page, size=PORTRAIT):
    page = open_paired_kiosk(hall, new_page, size)
    page.wait_for_selector("#checkin-reader[data-status=ready]", state="attached")  # it reached the agent (CORS, CSP)
    return page


def back_to_start(page):
    page.locator("#done").click()
    page.wait_for_selector("#start:not([hidden])")


def test_card_booking_check_in_then_a_real_name_ticket_then_refused(hall, shots, new_page):
    engine, reader = hall["engine"], hall["reader"]
    booked = book(engine, BOOKED, "2026-11-27T10:30")
    page = open_kiosk(hall, new_page)
    assert page.locator("#checkin-bar-title").text_content() == "刷身份证 · 实名取号 · 预约签到"
    assert page.locator("#checkin-type-id").is_visible() and page.locator("#checkin-type-code").is_visible()
    page.screenshot(path=str(shots / "kiosk-checkin-start.png"))

    # tap the card: "you have 1 appointment" with its time, and 签到
    reader.place(BOOKED, name="李明")
    page.wait_for_selector("#checkin:not([hidden])")
    assert page.locator("#checkin-hello").inner_text() == "您好，李*"
    assert page.locator("#checkin-who").inner_text() == "3404**********" + BOOKED[-4:] + " · 已读取身份证"
    assert BOOKED[:14] not in page.content()  # the number is never shown
    assert page.locator("#checkin-summary").inner_text() == "您有 1 个预约"
    assert page.locator(f".checkin-row[data-booking={booked['id']}]").inner_text().replace("\n", " ") == \
        "预约 人社综合 10:30–11:00 · 待签到"
    assert layout_problems(page, CHECKED) == []
    page.screenshot(path=str(shots / "kiosk-checkin-booking.png"))
    page.locator("#checkin-go").click()
    page.wait_for_selector("#ticket:not([hidden])")
    assert page.locator("#t-appointment").inner_text() == "预约 10:30"
    number = page.locator("#t-number").inner_text()
    ticket = engine.get_ticket(f"20261127-{number}")
    assert ticket["appointment"] and ticket["slot"] == "10:30" and ticket["booking"] == booked["id"]
    assert bookings.get(engine, booked["code"])["state"] == "checked_in"
    assert layout_problems(page, CHECKED) == []
    page.screenshot(path=str(shots / "kiosk-checkin-ticket.png"))
    back_to_start(page)

    # a card without a booking: a real-name ticket, 绿色通道 by age (65, from 60 here)
    reader.place(WALK_IN, name="王秀英")
    page.wait_for_selector("#checkin:not([hidden])")
    assert page.locator("#checkin-found").inner_text() == "今天没有您的预约或远程取号。"
    assert page.locator("#checkin-green").is_visible() and page.locator("#checkin-green").inner_text() == "绿色通道 · 优先叫号"
    assert layout_problems(page, CHECKED) == []
    page.screenshot(path=str(shots / "kiosk-checkin-walk-in.png"))
    page.locator(".checkin-service[data-service=renshe]").click()
    page.wait_for_selector("#ticket:not([hidden])")
    assert page.locator("#t-priority").is_visible() and page.locator("#t-appointment").is_hidden()
    walk_in = engine.get_ticket("20261127-" + page.locator("#t-number").inner_text())
    assert walk_in["realname"] and walk_in["green"] == "age" and walk_in["priority"]
    back_to_start(page)

    # the same card again for the same service: refused, readable, in both languages; nothing issued
    issued = engine.services_overview()
    reader.place(WALK_IN, name="王秀英")
    page.wait_for_selector("#checkin:not([hidden])")
    page.locator(".checkin-service[data-service=renshe]").click()
    page.wait_for_selector("#checkin-message:not([hidden])")
    assert page.locator(".checkin-message-main").inner_text() == "您在人社综合已有 1 个未办结的号，办结后才能再取。"
    assert page.locator(".checkin-message-other").inner_text() == (
        "You already hold 1 open ticket(s) for Human Resources & Social Security; take another when it is done.")
    assert engine.services_overview() == issued
    assert layout_problems(page, CHECKED) == []
    page.screenshot(path=str(shots / "kiosk-checkin-refused.png"))
    page.locator("#lang").click()  # English first, Chinese second
    assert page.locator(".checkin-message-main").inner_text().startswith("You already hold 1 open ticket")
    assert page.locator(".checkin-message-other").inner_text().startswith("您在人社综合已有")
    page.locator("#checkin-close").click()
    assert page.locator("#checkin").is_hidden()
    assert page_errors(page, allow=("409",)) == []  # the refusal provoked above


def test_typed_id_number_booking_code_and_remote_ticket(hall, shots, new_page):
    engine = hall["engine"]
    engine.clock.set(datetime(2026, 11, 27, 9, 40, tzinfo=engine.config.timezone))  # booked earlier this morning
    by_code = book(engine, BY_CODE, "2026-11-27T10:00")
    engine.clock.set(hall["at"])  # 10:00 now: on time
    taken = remote.take(engine, "renshe", identify(engine.config, REMOTE, today=engine.clock.business_date())).ticket
    page = open_kiosk(hall, new_page, LANDSCAPE)
    assert layout_problems(page, ".tile, .checkin-bar, .checkin-open, .priority") == []
    bar, first = page.locator("#checkin-bar").bounding_box(), page.locator(".tile").first.bounding_box()
    assert first["y"] >= bar["y"] + bar["height"]  # the bar is beside the prompt, above the tiles
    page.screenshot(path=str(shots / "kiosk-checkin-start-landscape.png"))

    # the keypad: 0–9 and X; a wrong check digit is caught before anything is sent
    page.locator("#checkin-type-id").click()
    page.wait_for_selector("#checkin-pad:not([hidden])")
    assert [k.inner_text() for k in page.locator(".key[data-key]").all()] == list("123456789X0")
    sent = []
    page.on("request", lambda req: sent.append(req.url) if req.method == "POST" else None)
    for ch in wrong_check_digit(REMOTE):
        page.locator(f".key[data-key='{ch}']").click()
    page.locator("#pad-ok").click()
    page.wait_for_selector("#pad-message:not([hidden])")
    assert page.locator("#pad-message").inner_text() == "身份证号校验位不正确，请核对后重新输入。"
    assert sent == []
    assert layout_problems(page, CHECKED) == []
    header = page.locator(".bar").bounding_box()
    assert page.locator(".pad-box").bounding_box()["y"] >= header["y"] + header["height"]  # nothing under the header
    page.screenshot(path=str(shots / "kiosk-checkin-keypad.png"))
    page.locator("#checkin-pad [data-action=del]").click()
    page.locator(f".key[data-key='{REMOTE[-1]}']").click()
    page.locator("#pad-ok").click()

    # the typed number finds the remote ticket: 签到 activates it
    page.wait_for_selector("#checkin:not([hidden])")
    assert page.locator("#checkin-pad").is_hidden()
    assert page.locator("#checkin-summary").inner_text() == "您有 1 个远程取号"
    assert page.locator("#checkin-who").inner_text() == "3404**********" + REMOTE[-4:] + " · 已输入身份证号"
    assert layout_problems(page, CHECKED) == []
    page.screenshot(path=str(shots / "kiosk-checkin-remote.png"))
    assert page.locator(f".checkin-row[data-ticket='{taken['id']}']").is_visible()
    page.locator("#checkin-go").click()
    page.wait_for_selector("#ticket:not([hidden])")
    assert page.locator("#t-number").inner_text() == taken["number"]
    assert page.locator("#t-appointment").inner_text() == "远程取号 · 已签到"
    assert engine.get_ticket(taken["id"])["arrived"] is True
    back_to_start(page)

    # a booking code typed on the letter keypad: checked in at once
    page.locator("#checkin-type-code").click()
    page.wait_for_selector("#checkin-pad:not([hidden])")
    for ch in "ABCDEFGH":  # a code nobody holds
        page.locator(f".key[data-key='{ch}']").click()
    page.locator("#pad-ok").click()
    page.wait_for_function("() => !document.getElementById('pad-message').hidden")
    assert page.locator("#pad-message").inner_text() == "没有找到这个预约码，请核对后重新输入。"
    page.screenshot(path=str(shots / "kiosk-checkin-code.png"))
    page.locator("#checkin-pad [data-action=clear]").click()
    for ch in by_code["code"].replace("-", ""):
        page.locator(f".key[data-key='{ch}']").click()
    page.locator("#pad-ok").click()
    page.wait_for_selector("#ticket:not([hidden])")
    assert page.locator("#t-appointment").inner_text() == "预约 10:00"
    assert bookings.get(engine, by_code["code"])["state"] == "checked_in"
    assert page_errors(page, allow=("404",)) == []  # the unknown code typed above


@pytest.mark.parametrize("size", [PORTRAIT, LANDSCAPE], ids=["portrait", "landscape"])
def test_the_card_bar_leaves_the_tiles_room_in_the_afternoon(hall, shots, new_page, size):
    """At 14:05 领导带班 is closed with its next opening: the longest tiles. With the card bar they still fit, and the
    绿色通道 path shows the tiles only."""
    hall["engine"].clock.set(datetime(2026, 11, 27, 14, 5, tzinfo=hall["engine"].config.timezone))
    hall["at"] = hall["engine"].clock.now()
    page = open_kiosk(hall, new_page, size)
    expect_closed = page.locator(".tile[data-service=lingdao]")
    assert expect_closed.is_disabled()
    assert layout_problems(page, ".tile, .checkin-bar, .checkin-open, .priority, .prompt") == []
    page.locator("#priority").click()
    page.wait_for_selector("#checkin-bar", state="hidden")
    assert layout_problems(page, ".tile, .priority, .prompt") == []


def test_a_hall_without_real_name_or_appointments_shows_no_bar_and_polls_no_agent(live_server, new_page):
    """The test hall (tests/data/hall.toml) uses none of it: the kiosk stays as it was, and asks no agent."""
    page = new_page(PORTRAIT)
    asked = []
    page.on("request", lambda req: asked.append(req.url) if ":18645" in req.url else None)
    page.goto(live_server.url + "/kiosk#pair=demo-kiosk-token-lobby-1")
    page.wait_for_selector(".tile[data-service=renshe]")
    assert page.locator("#checkin-bar").count() == 0 and asked == []
    assert page_errors(page) == []


def test_a_real_name_ticket_whose_print_failed_offers_print_again(hall, new_page):
    """The printer out of paper when a card takes a real-name ticket: 重新打印 as after a tile's ticket — the same
    request again (same request_id, the card with it) prints the ticket, once; the visit's end forgets it."""
    reader, printer = hall["reader"], hall["printer"]
    printer.state = "paper_out"
    page = open_kiosk(hall, new_page)
    posts: list[str] = []
    page.on("request", lambda req: posts.append(req.post_data or "")
            if req.method == "POST" and req.url.endswith("/api/v1/tickets") else None)
    reader.place(WALK_IN, name="王秀英")
    page.wait_for_selector("#checkin:not([hidden])")
    page.locator(".checkin-service[data-service=renshe]").click()
    page.wait_for_selector("#ticket.print-failed:not([hidden])")
    number = page.locator("#t-number").inner_text()
    assert page.locator("#reprint").is_visible()
    printer.state = "ok"
    page.locator("#reprint").click()
    page.wait_for_selector("#t-print.printed")
    assert page.locator("#reprint").is_hidden() and page.locator("#t-number").inner_text() == number
    wait_for(lambda: sum(f"{number}\n".encode() in job for job in printer.jobs) == 1, 10, "the ticket to print")
    assert len(posts) == 2 and posts[0] == posts[1]  # the same request, the same request_id
    back_to_start(page)
    assert page.evaluate("() => window.onewindowKiosk.state.resend") is None  # the card's request is forgotten
    assert page_errors(page) == []


def hold_reprint(hall, new_page):
    """A card's real-name ticket whose print failed, and 重新打印 tapped with its answer held: (page, ticket number,
    the held route — ``continue_()`` lets the answer through)."""
    reader, printer = hall["reader"], hall["printer"]
    printer.state = "paper_out"
    page = open_kiosk(hall, new_page)
    reader.place(WALK_IN, name="王秀英")
    page.wait_for_selector("#checkin:not([hidden])")
    page.locator(".checkin-service[data-service=renshe]").click()
    page.wait_for_selector("#ticket.print-failed:not([hidden])")
    number = page.locator("#t-number").inner_text()
    reader.remove()
    printer.state = "ok"
    held = []
    page.route("**/api/v1/tickets", lambda route: held.append(route))
    with page.expect_request("**/api/v1/tickets"):
        page.locator("#reprint").click()
    page.wait_for_selector("#busy:not([hidden])")
    assert len(held) == 1
    assert page.evaluate("() => window.onewindowKiosk.state.busy")
    return page, number, held[0]


def test_a_card_placed_during_a_reprint_does_not_bring_the_last_ticket_back(hall, new_page):
    """Under 重新打印 the kiosk is busy: a card placed then is ignored (no new visit under the reprint), and the
    reprint's answer shows the same person's ticket, printed."""
    page, number, held = hold_reprint(hall, new_page)
    with page.expect_request(lambda r: "/v1/card?after=" in r.url, timeout=10000) as asked:
        seq = hall["reader"].place(REMOTE, name="赵强")
    while f"/v1/card?after={seq}&" not in asked.value.url:  # the page has read the card …
        with page.expect_request(lambda r: "/v1/card?after=" in r.url, timeout=10000) as asked:
            pass
    assert page.locator("#checkin").is_hidden()                          # … and ignored it
    held.continue_()
    page.wait_for_selector("#t-print.printed")
    assert page.locator("#t-number").inner_text() == number and page.locator("#checkin").is_hidden()
    back_to_start(page)
    assert page.evaluate("() => window.onewindowKiosk.state.resend") is None
    assert page_errors(page) == []


def test_a_reprint_answered_after_the_visit_ended_is_dropped(hall, new_page):
    """A pairing link opened while 重新打印 is on its way ends the visit (the start screen, the card's request
    forgotten); the reprint's late answer does not put the last person's ticket back."""
    page, number, held = hold_reprint(hall, new_page)
    page.evaluate("() => { location.hash = '#pair=demo-kiosk-token-lobby-1'; }")
    page.wait_for_selector("#start:not([hidden])")
    assert page.locator("#ticket").is_hidden()
    assert page.evaluate("() => window.onewindowKiosk.state.resend") is None
    with page.expect_request_finished(lambda r: r.url.endswith("/api/v1/tickets")):
        held.continue_()
    page.wait_for_function("() => !window.onewindowKiosk.state.busy")
    kiosk = page.evaluate("() => ({screen: window.onewindowKiosk.state.screen, "
                          "ticket: window.onewindowKiosk.state.ticket, resend: !!window.onewindowKiosk.state.resend})")
    assert kiosk == {"screen": "start", "ticket": None, "resend": False}
    assert page.locator("#ticket").is_hidden() and page.locator("#start").is_visible()
    assert number not in page.locator("body").inner_text()
    assert page_errors(page) == []
