"""The kiosk page after a failed print: "重新打印 / Print again" sends the same request again (same request_id) and
the server prints the ticket — once; the page then says the ticket is printed. A real hall served in-process, a
real fake network printer, headless Chromium."""

from __future__ import annotations

import json

import pytest

from browser_support import BROWSER_MARKS, layout_problems, page_errors
from faults import wait_for
from kiosk_support import CHECKED, ORIENTATIONS

pytestmark = BROWSER_MARKS


def paper_tickets(printer, number: str) -> int:
    return sum(1 for job in printer.jobs if f"{number}\n".encode() in job)


@pytest.mark.parametrize("orientation", ["portrait", "landscape"])
def test_print_again_after_a_printer_fault_prints_the_ticket_once(hall, new_page, shots, orientation):
    printer = hall["printer"]
    printer.state = "paper_out"
    page = new_page(ORIENTATIONS[orientation])
    posts: list[dict] = []
    page.on("request", lambda req: posts.append(json.loads(req.post_data))
            if req.method == "POST" and req.url.endswith("/api/v1/tickets") else None)
    page.goto(hall["url"] + "/kiosk#pair=demo-kiosk-token-lobby-1")
    page.wait_for_selector(".tile[data-service=renshe]")

    page.locator(".tile[data-service=renshe]").click()
    page.wait_for_selector("#ticket:not([hidden])")
    number = page.locator("#t-number").inner_text()
    assert number == "A013"  # twelve were waiting
    assert "抱歉" in page.locator("#t-print").inner_text()
    reprint = page.locator("#reprint")
    assert reprint.is_visible() and reprint.inner_text() == "重新打印"
    page.locator("#lang").click()
    assert reprint.inner_text() == "Print again"
    page.locator("#lang").click()
    assert reprint.inner_text() == "重新打印"
    assert layout_problems(page, CHECKED + ", #reprint") == [], orientation
    page.screenshot(path=str(shots / f"kiosk-{orientation}-reprint.png"))
    page.locator("#large").click()  # 大字模式: still on the screen
    assert layout_problems(page, CHECKED + ", #reprint") == [], f"{orientation}, large"
    page.locator("#large").click()
    assert paper_tickets(printer, number) == 0

    printer.state = "ok"  # the paper is refilled; the citizen taps 重新打印
    reprint.click()
    page.wait_for_function("() => document.getElementById('t-print').textContent.includes('请取走下方打印的号票')")
    assert page.locator("#reprint").is_hidden()
    assert page.locator("#t-number").inner_text() == number
    wait_for(lambda: paper_tickets(printer, number) == 1, 10, "the ticket to reach the printer")
    assert len(posts) == 2 and posts[0] == posts[1]  # the same request, the same request_id
    # (the shipped hall's ID-card reader service is not running here: its connection is refused)
    assert page_errors(page, allow=("ERR_CONNECTION_REFUSED",)) == []
