"""The hall display when no service is open: a clear closed state with the opening hours; open, it is not shown."""

from __future__ import annotations

import os
import signal

from browser_support import BROWSER_MARKS
from serve_support import Served, hall_file

pytestmark = BROWSER_MARKS


def test_closed_hall_shows_it_and_the_opening_hours(tmp_path, new_page):
    path = hall_file(tmp_path, closed=True)
    text = path.read_text(encoding="utf-8").replace("hours = {}", 'hours = { monday = ["08:30-12:00"] }', 1)
    path.write_text(text, encoding="utf-8")
    server = Served(path)
    try:
        server.wait_for("Ctrl-C stops")
        page = new_page((1920, 1080))
        page.goto(server.url + "/display?voice=0")
        page.wait_for_function("() => document.body.classList.contains('closed')", timeout=20_000)
        assert page.text_content(".closed-title") == "本中心现已休息"
        assert page.text_content(".closed-next").startswith("下次开放：")
        assert "08:30" in page.text_content(".closed-next")
        hours = page.text_content(".closed-hours")  # the DOM's text: a machine without any font lays out none
        assert "人社综合" in hours and "周一 08:30–12:00" in hours
        page.goto(server.url + "/display?voice=0&lang=en")
        page.wait_for_function("() => document.body.classList.contains('closed')", timeout=20_000)
        assert page.text_content(".closed-title") == "The centre is closed now"
        assert "Mon 08:30–12:00" in page.text_content(".closed-hours")
    finally:
        os.killpg(server.proc.pid, signal.SIGINT)
        server.finish()


def test_an_open_hall_is_not_shown_closed(tmp_path, new_page):
    server = Served(hall_file(tmp_path))  # tests/data/hall.toml: open all day
    try:
        server.wait_for("Ctrl-C stops")
        page = new_page((1920, 1080))
        page.goto(server.url + "/display?voice=0")
        page.wait_for_function("() => window.owDisplay && owDisplay.state() && owDisplay.opening()", timeout=20_000)
        assert page.evaluate("() => owDisplay.closed()") is False
        assert page.locator(".closed-panel").count() == 0
    finally:
        os.killpg(server.proc.pid, signal.SIGINT)
        server.finish()
