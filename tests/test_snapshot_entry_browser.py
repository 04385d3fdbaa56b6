"""Pages other than the hall display back after a failover that lost what they showed, in a real browser: the
phone tracking page and the counter started from their snapshot (no event since), then had no socket while the
store went back to before the last call and the hall went on (the next event reuses the lost one's ``seq``). Their
snapshot named the stream entry at its seq, so the ``catch_up`` they send on reconnecting names it too: the server
answers ``resync`` and the page loads its state — instead of "nothing missed" by seq, keeping a call that no
longer exists."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from browser_support import BROWSER_MARKS
from counter_support import _login
from display_support import Api
from hall_support import LiveServer
from shared.clock import Clock
from shared.config import load_config
from shared.engine import Engine
from shared.redis_client import connect

pytestmark = BROWSER_MARKS

WAIT_MS = 20_000


def _store_as_it_is(url: str) -> dict[str, tuple[bytes, int]]:
    """Every key of the store, dumped (with its time to live): the state a replica has, to go back to."""
    raw = connect(url, decode_responses=False)
    try:
        return {k: (raw.dump(k), max(raw.pttl(k), 0)) for k in raw.scan_iter("*")}
    finally:
        raw.close()


def _go_back_to(url: str, kept: dict[str, tuple[bytes, int]]) -> None:
    """What a failover without WAIT leaves: the store as the replica had it (everything written since is lost)."""
    raw = connect(url, decode_responses=False)
    try:
        raw.flushall()
        for key, (value, ttl) in kept.items():
            raw.restore(key, ttl, value)
    finally:
        raw.close()


PAGES = {  # how the page signs in (before the call: the session is not lost), how it opens, its live client
    "tracking": (lambda page, base: None,
                 lambda page, base, mine: page.goto(f"{base}/t/{mine['token']}"), "owTrack.live"),
    "counter": (lambda page, base: _login(page, base, "clerk1", 1),
                lambda page, base, mine: page.reload(), "owCounter.live()"),
}


def _called(page, kind: str) -> bool:
    if kind == "tracking":
        return page.is_visible("#called") and page.text_content("#called-window") == "1 号窗口"
    return page.text_content("#cur-number") == "A001" and page.is_hidden("#cur-idle")


def _waiting(page, kind: str) -> bool:
    if kind == "tracking":
        return page.is_hidden("#called") and page.text_content("#status") == "等候中"
    return page.is_visible("#cur-idle")


@pytest.mark.parametrize("kind", ["tracking", "counter"])
def test_a_page_away_while_a_failover_lost_its_call_loads_its_state_when_it_comes_back(
        kind, redis_server, redis_client, live_config, new_page):
    server = LiveServer(live_config, redis_server.url).start(timeout=60)
    page = new_page((1280, 900))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        api = Api(server.url)
        sign_in, open_page, live = PAGES[kind]
        api.clerk(1)
        sign_in(page, server.url)
        mine = api.issue()
        kept = _store_as_it_is(redis_server.url)        # what the replica has: A001 waiting
        assert api.call_next(1)["number"] == "A001"     # then the call, which the failover will lose
        open_page(page, server.url, mine)               # the page starts from its snapshot, after the call
        page.wait_for_function(f"() => {live} && {live}.status === 'live'", timeout=WAIT_MS)
        seen = int(redis_client.get("ow:{testhall}:seq"))
        assert page.evaluate(f"() => {live}.seq") == seen and _called(page, kind)   # from its snapshot, no event
        assert page.evaluate(f"() => {live}.stats.snapshots") == 1

        server.stop()                                   # no socket while the store goes back and the hall goes on
        page.wait_for_function(f"() => !{live}.connected", timeout=WAIT_MS)
        _go_back_to(redis_server.url, kept)
        config = load_config(live_config)
        engine = Engine(redis_client, config, Clock(config.timezone))
        assert engine.last_seq() == seen - 1
        engine.issue("shichang")                        # the lost seq again, another event
        assert engine.last_seq() == seen

        connects = page.evaluate(f"() => {live}.stats.connects")  # read while no server is up: the page may
        server.start(timeout=60)                        # reconnect (catch_up {after: seen, entry}) before start() returns
        page.wait_for_function(f"(n) => {live}.stats.connects > n && {live}.status === 'live'", arg=connects,
                               timeout=WAIT_MS)
        expect(page.locator("#cur-idle" if kind == "counter" else "#status")).to_be_visible()
        assert page.evaluate(f"() => {live}.stats.snapshots") == 2            # resync: its state loaded again
        assert _waiting(page, kind) and not _called(page, kind)
        assert page.evaluate(f"() => {live}.entry") == redis_client.xrevrange("ow:{testhall}:events",
                                                                              count=1)[0][0]
        assert errors == []
    finally:
        server.stop()
