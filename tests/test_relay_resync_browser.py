"""A view the relay could not build for the hall display's audience (display/relay.py, RESYNC): the hall display in
headless Chromium, against the app served in-process with a real relay following Redis, shows the call it was not
sent — without any further event — because the relay put ``resync`` in the call's place and the page loaded its
state (shared/static/js/live.js)."""

from __future__ import annotations

from browser_support import BROWSER_MARKS
from desk_support import serve
from display.namespace import DISPLAY_NAMESPACE
from display_support import open_page, relaying
from shared import events

pytestmark = BROWSER_MARKS
WAIT_MS = 20_000  # generous: CI shares two cores (the page's 5-minute periodic snapshot is far beyond it)


def test_the_hall_display_shows_a_call_whose_view_failed_without_another_event(app, engine, redis_server, browser):
    engine.issue("renshe")
    engine.issue("renshe")
    with relaying(app, redis_server.url, engine, fail=(DISPLAY_NAMESPACE, events.TICKET_CALLED)) as relay, \
            serve(app) as base:
        page = open_page(browser, base + "/display?voice=0", "owDisplay")
        assert page.evaluate("() => document.querySelector('#hero').classList.contains('empty')")
        called = engine.call_next(1)
        page.wait_for_function("(n) => { const e = document.querySelector('#hero .num'); return e && e.textContent === n; }",
                               arg=called["number"], timeout=WAIT_MS, polling=50)
        [seq] = relay.failed
        assert engine.last_seq() == seq                        # no event came after the call
        live = page.evaluate("() => ({seq: owDisplay.live.seq, told: owDisplay.live.stats.told, "
                             "gaps: owDisplay.live.stats.gaps, snapshots: owDisplay.live.stats.snapshots})")
        assert live == {"seq": seq, "told": 1, "gaps": 0, "snapshots": 2}   # the first, then the one it was told to load
        assert page.evaluate("() => owDisplay.shown.map(s => s.number + '>' + s.window)") == [f"{called['number']}>1"]
        assert page.errors == []  # type: ignore[attr-defined]
