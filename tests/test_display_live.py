"""The hall display and the window screens in headless Chromium against a real `onewindow serve`: calls appear
(how fast is bench/bench_display.py's job), the voice queue speaks two quick calls in order, and after a server restart (same Redis) the
screens reconnect on their own, catch up with the calls they missed and hold one connection each."""

from __future__ import annotations


from browser_support import BROWSER_MARKS, launch_chromium, open_context
from shared.clock import Clock
from shared.engine import Engine

from display_support import open_page

pytestmark = BROWSER_MARKS
WAIT_MS = 20_000  # generous: CI shares two cores; how fast calls arrive is bench/bench_display.py's job

def zh(number: str, window: int) -> list[str]:
    """The Chinese reading, written out independently of the announcer."""
    def sym(s):
        return [("d" if c.isdigit() else "l") + c for c in s]
    return ["qing", *sym(number), "hao", "dao", *sym(str(window)), "hao", "chuangkou", "banli"]


def hero_number(page) -> str | None:
    return page.evaluate("() => { const n = document.querySelector('#hero .num'); return n && n.textContent; }")


def test_a_call_appears_on_the_display_and_the_window_screen(live_server, api, browser):
    api.issue()
    api.clerk(1)  # signed in beforehand
    display = open_page(browser, live_server.url + "/display?voice=0", "owDisplay")
    window = open_page(browser, live_server.url + "/display/window/1", "owWindow", viewport=(1280, 720))
    assert display.evaluate("() => document.querySelector('#hero').classList.contains('empty')")
    assert window.text_content("#label") == "等待叫号"

    api.call_next(1)  # how fast it arrives is measured by bench/bench_display.py, not asserted on a shared machine
    display.wait_for_function("() => { const n = document.querySelector('#hero .num'); return n && n.textContent === 'A001'; }",
                              timeout=WAIT_MS, polling=20)
    window.wait_for_function("() => document.querySelector('#current').textContent === 'A001'", timeout=WAIT_MS, polling=20)

    assert display.evaluate("() => document.querySelector('#hero .call').classList.contains('flash')")
    assert display.evaluate("() => owDisplay.shown.map(s => s.number + '>' + s.window)") == ["A001>1"]
    assert window.text_content("#label") == "正在办理"
    assert "flash" in window.get_attribute("#stage", "class")
    assert display.text_content("#waiting li:first-child .n").startswith("0")
    assert display.errors == [] and window.errors == []  # type: ignore[attr-defined]


def test_two_quick_calls_are_announced_in_order(live_server, api, browser):
    api.issue()
    api.issue()
    api.clerk(1), api.clerk(2)
    display = open_page(browser, live_server.url + "/display", "owDisplay")
    assert display.evaluate("() => owDisplay.audio.state") == "running"   # --autoplay-policy=no-user-gesture-required
    assert display.is_hidden("#enable-voice")
    api.call_next(1)
    api.call_next(2)
    expected = ["chime", *zh("A001", 1), *zh("A001", 1), "chime", *zh("A002", 2), *zh("A002", 2)]
    display.wait_for_function(f"() => owDisplay.announcer.played.length >= {len(expected)}", timeout=90_000)
    assert display.evaluate("() => owDisplay.announcer.played") == expected
    assert display.evaluate("() => owDisplay.announcer.dropped") == []
    assert display.evaluate("() => owDisplay.shown.map(s => s.number)") == ["A001", "A002"]
    assert hero_number(display) == "A002"


def test_blocked_audio_shows_the_enable_voice_button(live_server, api, playwright):
    # a browser of its own: the autoplay policy is a launch flag, not a context option
    with launch_chromium(playwright, extra_args=["--autoplay-policy=document-user-activation-required"]) as chromium:
        display = open_page(open_context(chromium, (1920, 1080)), live_server.url + "/display", "owDisplay")
        display.wait_for_selector("#enable-voice", state="visible", timeout=5000)
        assert display.text_content("#enable-voice") == "点击启用语音"
        display.click("#enable-voice")
        display.wait_for_selector("#enable-voice", state="hidden", timeout=5000)
        assert display.evaluate("() => owDisplay.audio.state") == "running"


def test_screens_catch_up_after_a_server_restart(live_server, api, browser, redis_client, hall_config):
    api.issue(), api.issue(), api.issue()
    display = open_page(browser, live_server.url + "/display?voice=0", "owDisplay")
    window = open_page(browser, live_server.url + "/display/window/2", "owWindow", viewport=(1280, 720))
    api.call_next(1)
    display.wait_for_function("() => owDisplay.shown.length === 1", timeout=WAIT_MS)
    seq_before = display.evaluate("() => owDisplay.live.seq")

    live_server.stop()
    display.wait_for_selector("#ow-status", state="visible", timeout=10_000)    # the discreet mark
    window.wait_for_selector("#ow-status", state="visible", timeout=10_000)
    engine = Engine(redis_client, hall_config, Clock(hall_config.timezone))      # the hall goes on meanwhile
    engine.call_next(2, "clerk2")
    engine.call_next(3, "clerk3")
    live_server.start()
    display.wait_for_function("() => owDisplay.shown.length === 3", timeout=20_000)
    window.wait_for_function("() => document.querySelector('#current').textContent === 'A002'", timeout=20_000)
    display.wait_for_selector("#ow-status", state="hidden", timeout=5000)
    assert display.evaluate("() => owDisplay.shown.map(s => s.number + '>' + s.window)") == ["A001>1", "A002>2", "A003>3"]
    assert hero_number(display) == "A003"
    assert display.evaluate("() => owDisplay.live.seq") > seq_before           # seq went on (same Redis)
    # reconnected (a reconnect may land on the stopping worker before it closes its sockets: not counted exactly);
    # one connection per page is checked below
    assert display.evaluate("() => owDisplay.live.stats.connects") >= 2

    # live again: the next call arrives, and nothing is shown twice
    api.issue()
    api.clerk(1).post(live_server.url + "/api/v1/windows/1/finish", json={"outcome": "handled"}, timeout=5)
    api.call_next(1)
    display.wait_for_function("() => owDisplay.shown.length === 4", timeout=WAIT_MS, polling=20)
    keys = display.evaluate("() => owDisplay.shown.map(s => s.key)")
    assert len(keys) == len(set(keys))
    for page in (display, window):
        assert page.evaluate("() => window.__openSockets()") == 1                # one connection per page
        assert page.errors == []  # type: ignore[attr-defined]


def test_a_gap_on_the_live_page_loads_a_fresh_snapshot(live_server, api, browser):
    display = open_page(browser, live_server.url + "/display?voice=0", "owDisplay")
    api.issue()
    display.wait_for_function("() => owDisplay.live.seq === 1", timeout=WAIT_MS)
    # An event far ahead (as if 2..99 were lost): the page loads the snapshot instead of trusting its state; as
    # no snapshot ever reaches seq 100, after a few tries the page trusts the snapshots and drops the stray event.
    display.evaluate("() => owDisplay.live.receive({seq: 100, type: 'window_paused', window: 4, ts: Date.now()})")
    display.wait_for_function("() => owDisplay.live.stats.snapshots >= 2", timeout=WAIT_MS)
    display.wait_for_function("() => owDisplay.live.stats.snapshots >= 5", timeout=15_000)
    assert display.evaluate("() => owDisplay.live.stats.gaps") >= 3
    api.issue()   # seq 2 on the server: the page is back in step
    display.wait_for_function("() => owDisplay.live.seq === 2", timeout=WAIT_MS)
    assert display.text_content("#waiting li:first-child .n").startswith("2")
    assert display.evaluate("() => owDisplay.state().windows[3].paused") is False


def test_a_new_business_day_loads_a_fresh_snapshot(live_server, api, browser):
    """No event comes after midnight: the display's own clock crossing into a new day loads the new day's state."""
    display = open_page(browser, live_server.url + "/display?voice=0", "owDisplay")
    before = display.evaluate("() => owDisplay.live.stats.snapshots")
    day = display.evaluate("() => owDisplay.state().day")
    display.evaluate("() => { owDisplay.clock.offset += 24 * 3600 * 1000; }")   # as if the night had passed
    display.wait_for_function(f"() => owDisplay.live.stats.snapshots === {before + 1}", timeout=WAIT_MS)
    assert display.text_content("#date") != ""
    for _ in range(2):  # two more ticks of the page's clock: the check repeats at most once a minute
        shown_time = display.text_content("#time")
        display.wait_for_function("(t) => document.querySelector('#time').textContent !== t", arg=shown_time)
    assert display.evaluate("() => owDisplay.live.stats.snapshots") == before + 1
    assert display.evaluate("() => owDisplay.state().day") == day


def test_window_screen_shows_paused(live_server, api, browser):
    window = open_page(browser, live_server.url + "/display/window/4", "owWindow", viewport=(1280, 720))
    r = api.clerk(4).post(live_server.url + "/api/v1/windows/4/pause", json={"reason": "午间休息"}, timeout=5)
    assert r.status_code == 200, r.text
    window.wait_for_function("() => document.querySelector('#label').textContent === '暂停服务'", timeout=WAIT_MS)
    assert window.text_content("#reason") == "午间休息"
    assert "paused" in window.get_attribute("#stage", "class")
    api.clerk(4).post(live_server.url + "/api/v1/windows/4/resume", json={}, timeout=5)
    window.wait_for_function("() => document.querySelector('#label').textContent === '等待叫号'", timeout=WAIT_MS)
