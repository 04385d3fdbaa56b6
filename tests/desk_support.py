"""Helpers of the supervisor desk's and the city page's tests: the app on a loopback port in a thread, signing in
on the desk or the city page (and the test city's app), charts drawn; the kiosk opened as a paired device; a
provincial field map for the upstream reports; the test hall with a guide (导办) account."""

from __future__ import annotations

import contextlib
import dataclasses
import threading

import pytest
from playwright.sync_api import expect

from city_figures_support import named_city
from city_support import CITY_PASSWORD, CITY_SUPERVISOR
from hall_support import SUPER_PASSWORD
from haocaiping_support import PROVINCE_CODES, PROVINCE_FIELDS

#: the upstream settings of the tests' fake province (as tests/test_outbox.py uses them)
HALL_FIELDS = dict(area_code="340404", department_code="11340404MB0000000X", department_codes={"shichang": "SC-01"},
                   fields=PROVINCE_FIELDS, codes=PROVINCE_CODES, constants={"dataSource": "1"},
                   success_field="code", success_values=("0",), duplicate_values=("1001",))
KIOSK_TOKENS = {"lobby-1": "demo-kiosk-token-lobby-1", "lobby-2": "demo-kiosk-token-lobby-2"}


@contextlib.contextmanager
def serve(app):
    """The app on a free loopback port in a thread (werkzeug, threaded); yields the base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="supervisor-test-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def sign_in(page, base: str) -> None:
    page.goto(base + "/supervisor")
    expect(page.locator("#login")).to_be_visible()
    page.fill("#username", "supervisor")
    page.fill("#password", SUPER_PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#app")).to_be_visible()


def sign_in_city(page, base: str) -> None:
    """Sign in on the city page (/city) as the test city's supervisor."""
    page.goto(base + "/city")
    page.fill("#username", CITY_SUPERVISOR)
    page.fill("#password", CITY_PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#app")).to_be_visible()


def wait_charts(page, selector: str) -> list[int]:
    """Wait until every chart matched by ``selector`` (the ``[data-chart]`` boxes /assets/js/charts.js draws into) shows
    its SVG inline; return the drawings' widths (the viewBox's, as the server drew them)."""
    widths = []
    for chart in page.locator(selector).all():
        chart.wait_for(state="visible")
        # one read for the wait and the width: a chart the page re-renders meanwhile is not read half-loaded
        handle = page.wait_for_function("(el) => el.dataset.state === 'shown' && el.querySelector(':scope > svg')"
                                        " && el.querySelector(':scope > svg').viewBox.baseVal.width",
                                        arg=chart.element_handle())
        widths.append(handle.json_value())
    return widths


def open_kiosk(page, live_server, kiosk: str = "lobby-1"):
    """Open the kiosk page paired as ``kiosk`` (the pairing link stores the token in the browser)."""
    page.goto(f"{live_server.url}/kiosk#pair={KIOSK_TOKENS[kiosk]}")
    page.wait_for_selector(".tile[data-service=renshe]")


def tile(page, code: str):
    return page.locator(f".tile[data-service={code}]")


@pytest.fixture
def guide_app(redis_client, redis_server, hall_config, clock):
    """The test hall with a guide account (导办, role guide: no window)."""
    from onewindow import create_app
    from shared.config import Clerk

    guide = Clerk(username="guide1", name="导办小李", password_hash=hall_config.clerks["clerk1"].password_hash,
                  role="guide")
    config = dataclasses.replace(hall_config, clerks={**hall_config.clerks, "guide1": guide})
    return create_app({"TESTING": True, "CONFIG": config, "REDIS_URL": redis_server.url, "CLOCK": clock,
                       "START_RELAY": False})


@pytest.fixture
def city_app(tmp_path, redis_client, redis_server, clock):
    """The test city (two halls, east and west: tests/city_figures_support.py named_city), one app."""
    from onewindow import create_app

    return create_app({"TESTING": True, "CONFIG_PATH": str(named_city(tmp_path / "city")),
                       "REDIS_URL": redis_server.url, "CLOCK": clock, "START_RELAY": False})
