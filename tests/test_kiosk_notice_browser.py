"""The kiosk's 公告 (notice) bar in headless Chromium: a hall with no notice (``[hall] notice`` and ``notice_en`` empty)
shows no bar at all — no empty strip, no room kept for it, in either language — and a hall with one shows it as
before. A notice written in one language only is shown in both (a notice is news for everyone in the lobby). The
footer still comes up for the network warning when there is no notice. Screenshots at 1920×1080 with and without a
notice go to a temporary folder (``ONEWINDOW_SCREENSHOTS=1``: docs/)."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest

from browser_support import BROWSER_MARKS, layout_problems, page_errors
from kiosk_support import CHECKED
from shared.config import load_config

pytestmark = BROWSER_MARKS

ROOT = Path(__file__).resolve().parent.parent
LANDSCAPE = (1920, 1080)
PORTRAIT = (1080, 1920)
ZH = "今日领导带班：区数据资源局负责同志（9号窗口）。"
EN = "Leader on duty today at window 9."


@pytest.fixture
def kiosk(redis_client, redis_server, tmp_path, clock):
    """``kiosk(notice, notice_en)``: the shipped hall with that notice, served in-process (printing to previews), at
    the tests' fixed clock (Friday 10:00: the services open, whatever the hour the suite runs); returns its URL."""
    from werkzeug.serving import make_server

    from onewindow import create_app

    servers = []

    def serve(notice: str, notice_en: str) -> str:
        config = load_config(ROOT / "config.toml")
        config = replace(config, var_dir=tmp_path / f"var{len(servers)}", printer={"backend": "preview"},
                         notice=notice, notice_en=notice_en)
        app = create_app({"CONFIG": config, "REDIS_URL": redis_server.url, "START_RELAY": False, "CLOCK": clock})
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield serve
    for server in servers:
        server.shutdown()


def open_kiosk(page, url: str) -> None:
    page.goto(url + "/kiosk#pair=demo-kiosk-token-lobby-1")  # the shipped demo kiosk token
    page.wait_for_selector(".tile")


def footer(page) -> dict:
    """Is the footer drawn, and how far down the screens reach (the room left to the tiles)."""
    return page.evaluate("""() => {
      const foot = document.querySelector('.foot');
      return {shown: foot.getClientRects().length > 0 && foot.getBoundingClientRect().height > 0,
              notice: document.getElementById('notice').textContent,
              noticeShown: document.getElementById('notice').getClientRects().length > 0,
              screensBottom: document.querySelector('.screens').getBoundingClientRect().bottom,
              height: innerHeight};
    }""")


def errors(page) -> list[str]:
    """The page's errors, but for the kiosk PC's card-reader agent (``[realname] card_reader``), absent here."""
    return page_errors(page, allow=("ERR_CONNECTION_REFUSED",))


def switch_language(page, label: str) -> None:
    page.locator("#lang").click()
    page.wait_for_function("(l) => document.getElementById('kiosk').dataset.lang === l", arg=label)


@pytest.mark.parametrize("size", [LANDSCAPE, PORTRAIT], ids=["landscape", "portrait"])
def test_no_notice_no_bar_in_either_language(kiosk, new_page, size, tmp_path):
    url = kiosk("", "")
    page = new_page(size)
    page.goto(url + "/kiosk")  # the pairing screen: no bar there either (server-rendered, before the script)
    page.wait_for_selector("#pair:not([hidden])")
    assert not footer(page)["shown"]
    open_kiosk(page, url)
    for lang in ("zh", "en", "zh"):  # switching language must not bring an empty bar back
        if page.locator("#kiosk").get_attribute("data-lang") != lang:
            switch_language(page, lang)
        state = footer(page)
        assert not state["shown"] and not state["noticeShown"], (lang, state)
        assert abs(state["screensBottom"] - state["height"]) <= 1, (lang, state)  # no room kept for it
        assert layout_problems(page, CHECKED) == [], lang
    if size == LANDSCAPE:
        page.screenshot(path=str(tmp_path / "kiosk-no-notice.png"))
    # the footer still comes up for the network warning, and goes again with it
    page.evaluate("() => { document.getElementById('net').hidden = false; }")
    state = footer(page)
    assert state["shown"] and not state["noticeShown"] and state["screensBottom"] < state["height"] - 40
    page.evaluate("() => { document.getElementById('net').hidden = true; }")
    assert not footer(page)["shown"]
    assert errors(page) == []


def test_a_notice_shows_as_before_in_each_language(kiosk, new_page, tmp_path):
    page = new_page(LANDSCAPE)
    open_kiosk(page, kiosk(ZH, EN))
    state = footer(page)
    assert state["shown"] and state["noticeShown"] and state["notice"] == ZH
    assert state["screensBottom"] < state["height"] - 40  # the bar has its room
    assert page.evaluate("() => getComputedStyle(document.getElementById('notice'), '::before').content") == '"公告"'
    page.screenshot(path=str(tmp_path / "kiosk-notice.png"))
    switch_language(page, "en")
    assert footer(page)["notice"] == EN
    assert page.evaluate("() => getComputedStyle(document.getElementById('notice'), '::before').content") == '"Notice"'
    switch_language(page, "zh")
    assert footer(page)["notice"] == ZH
    assert layout_problems(page, CHECKED) == []
    assert errors(page) == []


@pytest.mark.parametrize("notice, notice_en, shown", [(ZH, "", ZH), ("", EN, EN), ("  ", " ", None)],
                         ids=["chinese-only", "english-only", "blank"])
def test_a_notice_in_one_language_is_shown_in_both(kiosk, new_page, notice, notice_en, shown):
    page = new_page(LANDSCAPE)
    open_kiosk(page, kiosk(notice, notice_en))
    for lang in ("zh", "en", "zh"):
        if page.locator("#kiosk").get_attribute("data-lang") != lang:
            switch_language(page, lang)
        state = footer(page)
        if shown is None:  # only spaces: nothing to say, no bar
            assert not state["shown"], (lang, state)
        else:
            assert state["shown"] and state["notice"] == shown, (lang, state)
    assert errors(page) == []
