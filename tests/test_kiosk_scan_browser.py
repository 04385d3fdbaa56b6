"""The kiosk's QR scanner (扫码签到) in headless Chromium: the hall's 2D barcode scanner is a USB keyboard that types a
QR's text very fast and ends with Enter ("keyboard wedge"). A citizen holds the booking's QR to it on any screen:

* a scan-speed burst of a real booking's QR (``<public url>/b/<code>``) checks it in and shows the ticket, printed
  (the fake network printer receives the job), even with the focus on a service tile (its Enter presses nothing);
* the same keys typed at a person's pace are no scan (nothing is sent; a focused field keeps what was typed), and a
  scan while the citizen types in a field leaves that field as it was;
* an unknown code, a booking of later today and one of another day are refused in the kiosk's dialog, zh-CN
  first, English second, the order swapped by the language switch;
* a scan on an idle kiosk (reset after a minute), and one while the last citizen's ticket still shows, works;
* the start screen says a booking QR can be scanned, and still fits (1080×1920 and 1920×1080).

The keys are real key events (Playwright's keyboard, through CDP) and their timing is the page's clock: Playwright's
fake clock, paused — a burst is typed with the clock standing still (0 ms apart: scanner speed), a person's typing
with ``run_for`` between keys. Nothing waits a fixed time; every wait is on a condition.

The real hall's configuration (config.toml) on Friday 2026-11-27 at 10:00, 人社综合 taking bookings. Screenshots go to
a temporary folder, or to ``docs/kiosk-scan-*.png`` with ``ONEWINDOW_SCREENSHOTS=1``.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from reception_support import APPOINTMENTS, book, with_appointments, with_remote, with_rules

from browser_support import BROWSER_MARKS, layout_problems, page_errors
from fake_printer import FakePrinter
from faults import wait_for
from kiosk_support import open_paired_kiosk, printing_to, served
from shared import bookings
from shared.cardreader_sim import make_number
from shared.clock import FixedClock
from shared.config import load_config
from shared.engine import Engine

pytestmark = BROWSER_MARKS

ROOT = Path(__file__).resolve().parent.parent
PORTRAIT = (1080, 1920)
LANDSCAPE = (1920, 1080)
FIRST = make_number("340404", date(1988, 5, 20), 131)
SECOND = make_number("340421", date(1990, 1, 31), 57)
LATER = make_number("340403", date(1979, 8, 2), 15)
NO_AGENT = ("ERR_CONNECTION_REFUSED",)  # no card-reader agent on this PC (the kiosk keeps asking; not this test's)
START = ".scan-hint, .tile, .checkin-bar, .checkin-open, .priority, .prompt, .bar"


@pytest.fixture
def hall(redis_client, redis_server, tmp_path):
    printer = FakePrinter()
    config = load_config(ROOT / "config.toml")
    config = with_appointments(config, "renshe", **{**APPOINTMENTS, "capacity": 4})
    config = with_remote(with_rules(config, "renshe", max_open=1, green_age=60), "renshe")
    config = printing_to(printer, config, tmp_path)
    at = datetime(2026, 11, 27, 10, 0, tzinfo=config.timezone)
    clock = FixedClock(config.timezone, at)
    with served(config, redis_server.url, clock) as url:
        engine = Engine(redis_client, config, clock)
        yield {"url": url, "at": at, "engine": engine, "printer": printer}
    printer.stop()


def open_kiosk(hall, new_page, size=PORTRAIT):
    """The paired kiosk on its start screen, its clock paused (key timing is then the test's to set)."""
    page = open_paired_kiosk(hall, new_page, size)
    page.wait_for_selector("#scan-hint")
    now = page.evaluate("() => Date.now()") / 1000
    page.clock.pause_at(datetime.fromtimestamp(now + 1, tz=hall["at"].tzinfo))
    return page


def scan(page, text: str) -> None:
    """What a scanner does: the text's keys and Enter, with the page's clock standing still (scanner speed)."""
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def type_slowly(page, text: str, gap_ms: int = 120) -> None:
    """A person at the keyboard: the same keys, ``gap_ms`` of the page's clock between them."""
    for ch in text:
        page.keyboard.press(ch)
        page.clock.run_for(gap_ms)
    page.keyboard.press("Enter")


def check_ins(page) -> list[str]:
    sent: list[str] = []
    page.on("request", lambda req: sent.append(req.post_data or "")
            if req.method == "POST" and req.url.endswith("/api/v1/check-ins") else None)
    return sent


def dialog_lines(page) -> list[str]:
    page.wait_for_selector("#dialog:not([hidden])")
    return page.locator("#dialog-text").inner_text().split("\n")


def test_a_scanned_booking_qr_checks_in_and_prints_the_ticket(hall, shots, new_page):
    engine, printer = hall["engine"], hall["printer"]
    booked = book(engine, FIRST, "2026-11-27T10:30")
    qr = bookings.qr_text(engine, booked["code"], base_url=hall["url"])
    assert qr.startswith(hall["url"] + "/b/")
    page = open_kiosk(hall, new_page)
    sent = check_ins(page)
    # the hint, in the kiosk's words, and a start screen that still fits
    assert page.locator("#scan-hint").is_visible()
    assert page.locator("#scan-hint").inner_text().replace("\n", " ") == "已预约？扫码签到 请将预约二维码对准扫码口"
    assert layout_problems(page, START) == []
    page.screenshot(path=str(shots / "kiosk-scan-start.png"))

    # the focus on a tile (tapped, or where the dialog left it): the scan's Enter must not press it
    page.locator(".tile[data-service=renshe]").focus()
    overview = {s["code"]: s["waiting"] for s in engine.services_overview()}
    scan(page, qr)
    page.wait_for_selector("#ticket:not([hidden])")
    assert page.locator("#t-appointment").inner_text() == "预约 10:30"
    number = page.locator("#t-number").inner_text()
    ticket = engine.get_ticket(f"20261127-{number}")
    assert ticket["appointment"] and ticket["booking"] == booked["id"]
    assert bookings.get(engine, booked["code"])["state"] == "checked_in"
    page.wait_for_selector("#t-print.printed")
    assert page.locator("#t-print").inner_text() == "请取走下方打印的号票，留意叫号屏幕"
    assert number.encode() in printer.wait_job(timeout=10)
    assert len(sent) == 1 and '"code"' in sent[0]
    # one ticket only: the appointment's (the tile under the focus issued nothing)
    after = {s["code"]: s["waiting"] for s in engine.services_overview()}
    assert after["renshe"] == overview["renshe"] + 1 and {k: v for k, v in after.items() if k != "renshe"} == \
        {k: v for k, v in overview.items() if k != "renshe"}
    assert layout_problems(page, ".ticket-card, .ticket-main, .ticket-side") == []
    page.screenshot(path=str(shots / "kiosk-scan-ticket.png"))
    assert page_errors(page, allow=NO_AGENT) == []


def test_typing_at_a_persons_pace_is_no_scan_and_a_scan_leaves_a_field_alone(hall, shots, new_page):
    engine = hall["engine"]
    booked = book(engine, FIRST, "2026-11-27T10:30")
    page = open_kiosk(hall, new_page, LANDSCAPE)
    page.screenshot(path=str(shots / "kiosk-scan-start-landscape.png"))
    assert page.locator("#scan-hint").is_visible() and layout_problems(page, START) == []
    sent = check_ins(page)
    # a person typing the very code (a field of the page focused): it goes into the field, and nothing is sent
    page.evaluate("""() => { const f = document.createElement('input'); f.id = 'typed'; f.setAttribute('aria-label', 'x');
                             document.querySelector('#start').prepend(f); f.focus(); }""")
    type_slowly(page, booked["code"])
    assert page.locator("#typed").input_value() == booked["code"]
    # a fast typist's 55 ms is still a person
    page.locator("#typed").fill("")
    type_slowly(page, "K7M29QXD", gap_ms=55)
    assert page.locator("#typed").input_value() == "K7M29QXD"
    # the scanner fires while the citizen is typing: the field keeps what the citizen typed, the booking checks in
    page.locator("#typed").fill("")
    type_slowly(page, "abc")
    page.clock.run_for(500)
    scan(page, bookings.qr_text(engine, booked["code"], base_url=hall["url"]))
    page.wait_for_selector("#ticket:not([hidden])")
    assert page.locator("#typed").input_value() == "abc"
    assert bookings.get(engine, booked["code"])["state"] == "checked_in"
    assert len(sent) == 1  # the slow typing (with its Enters) sent nothing


def test_an_unknown_code_a_booking_of_later_today_and_one_of_another_day_are_refused_clearly(hall, shots, new_page):
    engine = hall["engine"]
    later = book(engine, LATER, "2026-11-27T11:30")
    monday = book(engine, SECOND, "2026-11-30T10:00")
    page = open_kiosk(hall, new_page)
    issued = engine.services_overview()
    scan(page, hall["url"] + "/b/ABCD-EFGH")  # a code nobody holds
    assert dialog_lines(page) == [
        "没有找到这个二维码对应的预约，请出示预约成功后收到的预约二维码，或咨询工作人员。",
        "No booking of this hall has this QR code. Please show the QR code of your booking confirmation, or ask a "
        "member of staff."]
    assert layout_problems(page, ".dialog-box") == []
    page.screenshot(path=str(shots / "kiosk-scan-unknown.png"))
    page.evaluate("() => window.onewindowKiosk.i18n.set('en')")  # English first, Chinese second
    page.wait_for_function("() => document.getElementById('dialog-text').textContent.startsWith('No booking')")
    assert dialog_lines(page)[1].startswith("没有找到这个二维码")
    page.locator("#dialog-ok").click()
    page.evaluate("() => window.onewindowKiosk.i18n.set('zh')")

    # too early: the hall's own sentence (check-in opens 30 minutes before the slot), both languages
    scan(page, bookings.qr_text(engine, later["code"], base_url=hall["url"]))
    assert dialog_lines(page) == ["还未到签到时间：2026-11-27 11:00起可签到。",
                                  "Check-in opens at 2026-11-27 11:00."]
    assert bookings.get(engine, later["code"])["state"] == "confirmed"
    assert engine.services_overview() == issued
    assert page.locator("#ticket").is_hidden()
    page.locator("#dialog-ok").click()

    # another day's booking: its day, both languages
    scan(page, bookings.qr_text(engine, monday["code"], base_url=hall["url"]))
    assert dialog_lines(page) == ["您的预约日期是2026-11-30，不是今天。", "Your booking is for 2026-11-30, not today."]
    assert bookings.get(engine, monday["code"])["state"] == "confirmed"
    assert engine.services_overview() == issued
    assert page_errors(page, allow=("404", "409", *NO_AGENT)) == []


def test_a_scan_on_an_idle_kiosk_and_over_the_last_ticket(hall, new_page):
    engine = hall["engine"]
    engine.clock.set(datetime(2026, 11, 27, 9, 40, tzinfo=engine.config.timezone))  # booked earlier this morning
    first = book(engine, FIRST, "2026-11-27T10:00")
    engine.clock.set(hall["at"])
    second = book(engine, SECOND, "2026-11-27T10:30")
    page = open_kiosk(hall, new_page)
    # the kiosk left alone past its idle reset, in English and large text: back to its resting start screen
    page.locator("#large").click()
    page.evaluate("() => window.onewindowKiosk.i18n.set('en')")
    page.clock.fast_forward(61_000)
    page.wait_for_selector("#kiosk[data-lang=zh]:not(.large)")
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    scan(page, bookings.qr_text(engine, first["code"], base_url=hall["url"]))
    page.wait_for_selector("#ticket:not([hidden])")
    first_number = page.locator("#t-number").inner_text()
    assert bookings.get(engine, first["code"])["state"] == "checked_in"
    # the next citizen scans while that ticket still shows: a new visit, their own ticket
    scan(page, bookings.qr_text(engine, second["code"], base_url=hall["url"]))
    page.wait_for_function("(n) => document.getElementById('t-number').textContent !== n", arg=first_number)
    assert page.locator("#t-appointment").inner_text() == "预约 10:30"
    assert bookings.get(engine, second["code"])["state"] == "checked_in"


def test_a_checked_in_ticket_whose_print_failed_offers_print_again_which_prints_it_once(hall, shots, new_page):
    """The printer out of paper at the check-in: the ticket screen apologises and offers 重新打印 as after a tile's
    ticket; a tap sends the same check-in again (same request_id) and the ticket prints — once."""
    engine, printer = hall["engine"], hall["printer"]
    booked = book(engine, FIRST, "2026-11-27T10:30")
    printer.state = "paper_out"
    page = open_kiosk(hall, new_page)
    sent = check_ins(page)
    scan(page, bookings.qr_text(engine, booked["code"], base_url=hall["url"]))
    page.wait_for_selector("#ticket.print-failed:not([hidden])")
    number = page.locator("#t-number").inner_text()
    assert page.locator("#t-appointment").inner_text() == "预约 10:30"
    reprint = page.locator("#reprint")
    assert reprint.is_visible() and reprint.inner_text() == "重新打印"
    assert layout_problems(page, ".ticket-card, .ticket-main, .ticket-side, #reprint") == []
    page.screenshot(path=str(shots / "kiosk-scan-reprint.png"))

    printer.state = "ok"  # paper refilled; the citizen taps 重新打印
    reprint.click()
    page.wait_for_selector("#t-print.printed")
    assert page.locator("#reprint").is_hidden() and page.locator("#t-number").inner_text() == number
    assert page.locator("#t-appointment").inner_text() == "预约 10:30"
    wait_for(lambda: sum(f"{number}\n".encode() in job for job in printer.jobs) == 1, 10, "the ticket to print")
    assert len(sent) == 2 and sent[0] == sent[1]  # the same check-in, the same request_id
    assert bookings.get(engine, booked["code"])["state"] == "checked_in"
    assert page_errors(page, allow=NO_AGENT) == []
