"""The 预约 mark (issue 14): an appointment's ticket, checked in at the kiosk and called, is marked 预约 next to its
number on the hall display (the call at its window and the calls list) and on the counter's current ticket; a
walk-in ticket is not. In headless Chromium against the app served in-process with a fixed clock (Friday
2026-11-27 10:00; the test hall with 30-minute slots for 人社综合)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect
from reception_support import ADULT, booking_hall, person

from browser_support import BROWSER_MARKS
from counter_support import _errors, _login
from shared import bookings
from shared.checkin import check_in
from shared.engine import Engine

pytestmark = BROWSER_MARKS

DOCS = Path(__file__).resolve().parent.parent / "docs"


def shot(page, name: str) -> None:
    """``ONEWINDOW_DOCS_SCREENSHOTS=1`` writes the pictures of docs/display.md and docs/counter.md."""
    if os.environ.get("ONEWINDOW_DOCS_SCREENSHOTS") == "1":
        page.screenshot(path=str(DOCS / name))


@pytest.fixture
def hall(redis_client, redis_server, hall_config, clock):
    """The app in-process (Socket.IO's long-polling transport through werkzeug), with an appointment's ticket at
    window 1 and a walk-in's at window 2."""
    from werkzeug.serving import make_server

    from onewindow import create_app

    config = booking_hall(hall_config)
    engine = Engine(redis_client, config, clock)
    held = bookings.hold(engine, "renshe", "2026-11-27T10:30", person(config, ADULT))
    booked = bookings.confirm(engine, held["code"])
    [ticket] = check_in(engine, code=booked["code"], kiosk="lobby-1")["tickets"]
    assert engine.call_next(1)["id"] == ticket["id"]  # nobody else waits: the early appointment is served
    walk_in = engine.issue("renshe").ticket
    assert engine.call_next(2)["id"] == walk_in["id"]
    app = create_app({"CONFIG": config, "REDIS_URL": redis_server.url, "CLOCK": clock, "START_RELAY": False})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_port}", "appointment": ticket, "walk_in": walk_in,
           "at": clock.now()}
    server.shutdown()


def test_the_hall_display_marks_an_appointments_number(hall, new_page):
    page = new_page((1920, 1080), timezone_id="Asia/Shanghai")
    page.clock.install(time=hall["at"])
    page.goto(hall["url"] + "/display")
    number, other = hall["appointment"]["number"], hall["walk_in"]["number"]
    calls = page.locator(".call")
    expect(calls.filter(has_text=number).locator(".num .appt")).to_have_text("预约")
    expect(calls.filter(has_text=other)).to_have_count(1)
    assert calls.filter(has_text=other).locator(".appt").count() == 0
    shot(page, "display-appointment.png")


def test_the_counter_marks_the_current_appointment_ticket(hall, new_page):
    page = new_page((1366, 768), timezone_id="Asia/Shanghai")
    page.clock.install(time=hall["at"])
    _login(page, hall["url"], "clerk1", 1)
    expect(page.locator("#cur-number")).to_have_text(hall["appointment"]["number"])
    expect(page.locator("#cur-tags .tag-appointment")).to_have_text("预约 10:30")
    assert _errors(page) == []
    shot(page, "counter-appointment.png")
    other = new_page((1366, 768))
    _login(other, hall["url"], "clerk2", 2)
    expect(other.locator("#cur-number")).to_have_text(hall["walk_in"]["number"])
    assert other.locator("#cur-tags .tag-appointment").count() == 0
