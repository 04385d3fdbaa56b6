"""The kiosk in the real hall's configuration (config.toml: seven services) on a Friday afternoon, in portrait
1080×1920 and landscape 1920×1080: everything fits on the screen without scrolling or clipped text, in Chinese and
English, on the start and ticket screens; the paper tickets of the tickets shown fit the paper.

The screenshots go to a temporary folder; ``ONEWINDOW_SCREENSHOTS=1`` writes them to ``docs/`` instead
(``docs/kiosk-*.png``, and ``docs/ticket-issued.png`` / ``docs/ticket-priority.png``: the paper tickets of the
tickets shown on screen).
"""

from __future__ import annotations

import io
import json
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from browser_support import BROWSER_MARKS, layout_problems
from kiosk_support import CHECKED, ORIENTATIONS
from kiosk.printing import printer_settings, slip_for
from kiosk.printing import render_png

pytestmark = BROWSER_MARKS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
def assert_fits(page, what: str) -> None:
    assert layout_problems(page, CHECKED) == [], what


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_kiosk_fits_the_screen_and_screenshots(hall, shots, orientation, new_page):
    size = ORIENTATIONS[orientation]
    page = new_page(size, timezone_id="Asia/Shanghai")
    page.clock.install(time=hall["at"])
    page.goto(hall["url"] + "/kiosk")  # a browser that was never paired: the pairing screen, no tiles
    page.wait_for_selector("#pair:not([hidden])")
    assert page.locator("#start").is_hidden() and "尚未登记" in page.locator("#pair-title").inner_text()
    assert_fits(page, "pairing")
    if orientation == "portrait":
        page.screenshot(path=str(shots / "kiosk-portrait-unpaired.png"))
    page.goto(hall["url"] + "/kiosk#pair=demo-kiosk-token-lobby-1")  # the shipped demo kiosk token
    page.wait_for_selector(".tile")
    assert page.locator(".tile").count() == 7
    sifa, lingdao = page.locator(".tile[data-service=sifa]"), page.locator(".tile[data-service=lingdao]")
    assert sifa.is_disabled() and "今日号源已取完" in sifa.inner_text()
    assert lingdao.is_disabled() and "今日取号已结束" in lingdao.inner_text()
    assert "下周一 09:00 开始取号" in lingdao.inner_text()
    assert_fits(page, "start")
    page.screenshot(path=str(shots / f"kiosk-{orientation}.png"))

    page.locator("#lang").click()
    assert "Opens Monday at 09:00" in lingdao.inner_text()
    assert_fits(page, "start, English")
    if orientation == "landscape":
        page.screenshot(path=str(shots / "kiosk-landscape-en.png"))
    page.locator("#lang").click()

    page.locator("#priority").click()
    assert_fits(page, "priority")
    if orientation == "portrait":
        page.screenshot(path=str(shots / "kiosk-portrait-priority.png"))
    page.locator("#back").click()

    page.locator(".tile[data-service=renshe]").click()
    page.wait_for_selector("#ticket:not([hidden])")
    page.wait_for_function("() => document.getElementById('t-qr').naturalWidth > 0")
    assert page.locator("#t-number").inner_text() == "A013"
    assert "请取走下方打印的号票" in page.locator("#t-print").inner_text()
    page.evaluate("document.getElementById('countdown').textContent = '(15)'")  # the same picture every run
    assert_fits(page, "ticket")
    page.screenshot(path=str(shots / f"kiosk-{orientation}-ticket.png"))
    page.locator("#done").click()

    if orientation == "portrait":
        hall["printer"].stop()  # the printer goes off: the next ticket is issued and shown with an apology
        page.locator(".tile[data-service=gongan]").click()
        page.wait_for_selector("#ticket.print-failed:not([hidden])")
        page.wait_for_function("() => document.getElementById('t-qr').naturalWidth > 0")
        page.evaluate("document.getElementById('countdown').textContent = '(45)'")
        assert_fits(page, "ticket, print failed")
        page.screenshot(path=str(shots / "kiosk-portrait-print-failed.png"))
    else:
        page.locator("#lang").click()
        page.locator("#priority").click()
        page.locator(".tile[data-service=shichang]").click()
        page.wait_for_selector("#ticket:not([hidden])")
        page.wait_for_function("() => document.getElementById('t-qr').naturalWidth > 0")
        page.evaluate("document.getElementById('countdown').textContent = '(15)'")
        assert_fits(page, "priority ticket, English")
        page.screenshot(path=str(shots / "kiosk-landscape-priority-en.png"))


def test_paper_tickets_of_the_screenshots(hall, shots):
    """The preview images of what the kiosk prints for a normal and a 绿色通道 ticket of the real hall: as wide as the
    paper's printable width, with ink, and no ink at the edges (nothing cut off by the paper)."""
    config = hall["config"]
    settings = printer_settings(replace(config, printer={"backend": "preview"}))
    for name, body in (("ticket-issued.png", {"service": "renshe"}),
                       ("ticket-priority.png", {"service": "shichang", "priority": True})):
        req = urllib.request.Request(hall["url"] + "/api/v1/tickets", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json",
                                              "Authorization": "Bearer demo-kiosk-token-lobby-1"})
        with urllib.request.urlopen(req, timeout=10) as r:
            ticket = json.load(r)["ticket"]
        png = render_png(slip_for(ticket, config), settings)
        image = Image.open(io.BytesIO(png)).convert("L")
        assert image.width == settings.paper_dots, name
        assert 1.2 * image.width < image.height < 4 * image.width, (name, image.size)   # a ticket, not a strip
        ink = image.point(lambda v: 255 if v < 128 else 0)
        left, top, right, bottom = ink.getbbox()
        assert left >= 4 and right <= image.width - 4, (name, ink.getbbox())          # nothing runs off the paper
        dark = image.width * image.height - ink.histogram()[0]  # the pixels that are ink (255)
        assert 0.02 < dark / (image.width * image.height) < 0.6, name                # text and a QR code, not blank
        (shots / name).write_bytes(png)
