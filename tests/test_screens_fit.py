"""The public screens in the real hall's configuration (config.toml) on a busy Friday morning, as a visitor sees
them: the hall display (landscape, portrait, English), a window screen serving and one paused, the phone tracking
page waiting and called, and the not-found page. Each is laid out in its final font and checked: the page does not
scroll, every panel and call lies inside the screen and nothing overflows its box. The screenshots go to a
temporary folder; ``ONEWINDOW_SCREENSHOTS=1`` writes them to ``docs/`` (``display-*.png``, ``window-screen*.png``,
``tracking-*.png``)."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from browser_support import BROWSER_MARKS, layout_problems, screenshot_dir
from shared.clock import FixedClock
from shared.config import load_config
from shared.engine import Engine

pytestmark = BROWSER_MARKS
ROOT = Path(__file__).resolve().parent.parent
HALL_PARTS = ".top, .hall-name, .clock, .calls, .side, .recent, .waiting, .notice, .call, .waiting-list li, .recent-list li"
WINDOW_PARTS = ".wtop, .wnum, .stage, .current, .label, .reason, .wfoot"
PHONE_PARTS = ".tbar, .ticket, .tnumber, .called, .gowin, .progress, .facts, .alerts, .final"


@pytest.fixture
def hall(redis_client, redis_server, tmp_path):
    """The shipped hall at 10:40 on a Friday: calls at most windows, people waiting, window 6 on its lunch break."""
    from werkzeug.serving import make_server

    from onewindow import create_app

    config = replace(load_config(ROOT / "config.toml"), var_dir=tmp_path / "var")
    tz = config.timezone
    clock = FixedClock(tz, datetime(2026, 11, 27, 9, 50, tzinfo=tz))
    engine = Engine(redis_client, config, clock)
    tickets = {}
    for code, n in (("renshe", 14), ("shichang", 9), ("gongan", 7), ("sifa", 3), ("sheqi", 5), ("bubancheng", 2),
                    ("lingdao", 1)):
        tickets[code] = [engine.issue(code).ticket for _ in range(n)]
    for minute, window in enumerate((1, 2, 3, 4, 5, 7, 8, 9, 1, 2)):
        clock.set(datetime(2026, 11, 27, 10, 20 + minute, tzinfo=tz))
        if engine.window_state(window)["current"]:
            engine.finish(window, "handled", f"clerk{window}")
        engine.call_next(window, f"clerk{window}")
    engine.pause(6, "午间休息", "clerk6")
    clock.set(datetime(2026, 11, 27, 10, 40, tzinfo=tz))
    app = create_app({"CONFIG": config, "REDIS_URL": redis_server.url, "CLOCK": clock, "START_RELAY": False})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_port}", "engine": engine, "tickets": tickets, "clock": clock}
    server.shutdown()


def settle_screen(page, probe: str) -> None:
    """The page is live: its snapshot is shown (``layout_problems`` then waits for the web font itself)."""
    page.wait_for_function(f"() => window.{probe} && {probe}.live.status === 'live'")


@pytest.mark.parametrize("name, size, query", [
    ("display-landscape", (1920, 1080), ""),
    ("display-landscape-en", (1920, 1080), "&lang=en"),
    ("display-portrait", (1080, 1920), "&layout=portrait"),
])
def test_hall_display_fits(hall, new_page, tmp_path, name, size, query):
    page = new_page(size, timezone_id="Asia/Shanghai")
    page.goto(f"{hall['url']}/display?voice=0{query}")
    settle_screen(page, "owDisplay")
    page.wait_for_function("() => document.querySelector('#hero .num') && document.querySelectorAll('#waiting li').length === 7")
    assert page.text_content("#hero .num") == hall["engine"].window_state(2)["current"]["number"]  # the latest call
    assert page.text_content("#time").startswith("10:40:")            # the hall's clock, not the screen's own
    page.screenshot(path=str(screenshot_dir(tmp_path) / f"{name}.png"))   # first: a failure leaves its picture
    assert layout_problems(page, HALL_PARTS) == [], name
    assert [m for m in page.log if m.startswith("pageerror")] == []


@pytest.mark.parametrize("window, name", [(1, "window-screen"), (6, "window-screen-paused")])
def test_window_screen_fits(hall, new_page, tmp_path, window, name):
    page = new_page((1280, 720), timezone_id="Asia/Shanghai")
    page.goto(f"{hall['url']}/display/window/{window}")
    settle_screen(page, "owWindow")
    expected = "暂停服务" if window == 6 else "正在办理"
    page.wait_for_function("(t) => document.querySelector('#label').textContent === t", arg=expected)
    assert page.text_content("#time") == "10:40"                  # the hall's clock, not the screen's own
    page.screenshot(path=str(screenshot_dir(tmp_path) / f"{name}.png"))
    assert layout_problems(page, WINDOW_PARTS) == [], name


def test_tracking_page_fits_a_phone(hall, new_page, tmp_path):
    waiting = hall["tickets"]["renshe"][-1]
    page = new_page((390, 844), timezone_id="Asia/Shanghai", has_touch=True, is_mobile=True)
    page.goto(f"{hall['url']}/t/{waiting['token']}")
    settle_screen(page, "owTrack")
    page.wait_for_function("() => document.querySelector('#ahead').textContent !== '–'")
    page.screenshot(path=str(screenshot_dir(tmp_path) / "tracking-waiting.png"))
    assert layout_problems(page, PHONE_PARTS) == [], "waiting"

    tokens = {t["id"]: t["token"] for issued in hall["tickets"].values() for t in issued}
    current = hall["engine"].window_state(3)["current"]           # being served at window 3 now
    page.goto(f"{hall['url']}/t/{tokens[current['id']]}")
    settle_screen(page, "owTrack")
    page.wait_for_selector("#called:not([hidden])")
    assert page.text_content("#called-window") == "3 号窗口"
    page.screenshot(path=str(screenshot_dir(tmp_path) / "tracking-called.png"))
    assert layout_problems(page, PHONE_PARTS) == [], "called"

    page.goto(f"{hall['url']}/t/20261127AAAAAAAAAAAAAAAAAAAAAA?lang=en")
    page.wait_for_function("() => document.title.startsWith('Not found')")
    assert layout_problems(page, "main, h1, p") == [], "not found"
