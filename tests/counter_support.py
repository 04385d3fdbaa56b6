"""What the counter's browser tests share: signing in, issuing, waiting for the window's state, screenshots."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

from playwright.sync_api import expect

from browser_support import page_errors
from shared.keys import HallKeys

DOCS = Path(__file__).resolve().parent.parent / "docs"
SHOTS = os.environ.get("ONEWINDOW_SCREENSHOTS") == "1"


def _post(base: str, path: str, body: dict) -> dict:
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.load(r)


def _get(base: str, path: str) -> dict:
    with urllib.request.urlopen(base + path, timeout=5) as r:
        return json.load(r)


def _issue(base: str, *services: str) -> list[dict]:
    return [_post(base, "/api/v1/tickets", {"service": s})["ticket"] for s in services]


def _events(redis_client, keys: HallKeys, kind: str) -> list[dict]:
    return [json.loads(f["data"]) for _i, f in redis_client.xrange(keys.events) if f["type"] == kind]


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(DOCS / name))


def _login(page, base: str, username: str, window: int) -> None:
    page.goto(f"{base}/counter")
    page.wait_for_selector("#login-view:not([hidden])")
    page.fill("#username", username)
    page.fill("#password", "demo-clerk")
    page.select_option("#window-select", str(window))
    page.click("#login-submit")
    page.wait_for_selector("#work-view:not([hidden])")
    expect(page.locator("#conn")).to_have_attribute("data-state", "on")


def _current(page, number: str) -> None:
    expect(page.locator("#cur-number")).to_have_text(number)


def _idle(page) -> None:
    page.wait_for_selector("#cur-idle:not([hidden])")


def _errors(page) -> list[str]:
    # the page asks /api/v1/me before login: that 401 is expected
    return page_errors(page, allow=("401",))
