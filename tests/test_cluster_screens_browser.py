"""The hall display in a real browser across a failover that lost a call it showed (a cluster of this module's own,
no ``wait_replicas``): the relay's ``stream_rewound`` makes the page load the hall's state again, so the lost call
leaves the screen, and the next call — which reuses the lost event's ``seq`` — shows (it would be ignored as already
seen otherwise, the screen showing a call that no longer exists)."""

from __future__ import annotations

import pytest
import redis
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from browser_support import BROWSER_MARKS
from chaos_support import chaos_config
from cluster_support import LocalCluster
from display_support import Api, open_page
from faults import wait_for
from hall_support import LiveServer
from shared.redis_client import connect

pytestmark = BROWSER_MARKS

SEQ_KEY = "ow:{testhall}:seq"
WAIT_MS = 30_000
# after a failover: the relay's reconnects back off to 5 s, the page's snapshot retries to 15 s (shared/static/js/live.js)
FAILOVER_WAIT_MS = 60_000
LIVE_STATE = ("() => ({seq: owDisplay.live.seq, status: owDisplay.live.status, connected: owDisplay.live.connected, "
              "stats: owDisplay.live.stats})")


@pytest.fixture(scope="module")
def cluster():
    c = LocalCluster(node_timeout_ms=2000).start()
    yield c
    c.close()


def _window(page, number: int) -> str | None:
    """The ticket number the page's state shows at window ``number`` (None: nobody)."""
    return page.evaluate("(n) => { const w = owDisplay.state().windows.find((w) => w.window === n);"
                         " return w && w.ticket ? w.ticket.number : null; }", number)


def _call_a002_unreplicated(cluster, api, display, kept: int):
    """Once the replica of the hall's primary has everything up to seq ``kept``, stop it and cut its link; then
    window 2 calls A002 — the display shows it, no replica has it (lost if the primary dies now). Returns
    ``(primary, replica)``."""
    primary = cluster.primary_of(SEQ_KEY)
    replica = cluster.replica_of(primary)
    r = replica.client()
    try:  # the replica has everything so far
        r.execute_command("READONLY")
        wait_for(lambda: r.get(SEQ_KEY) == str(kept), 30, "the replica to catch up")
    finally:
        r.close()
    cluster.stop_node(replica)
    primary.call("CLIENT", "KILL", "TYPE", "replica")
    assert api.call_next(2)["number"] == "A002"                       # lost with the primary
    display.wait_for_function("(s) => owDisplay.live.seq === s", arg=kept + 1, timeout=WAIT_MS)
    assert _window(display, 2) == "A002"
    return primary, replica


def _seq_once_found(store) -> int:
    """The hall's seq through the test's own cluster client, once that client has found the new primary (its first
    commands after a takeover may still go to the dead node and fail: the client refreshes its map from them)."""
    found: list[int] = []

    def read() -> bool:
        try:
            found.append(int(store.get(SEQ_KEY)))
            return True
        except (redis.RedisError, redis.exceptions.RedisClusterException):
            return False

    wait_for(read, 60, "the test's cluster client to find the new primary")
    return found[-1]


def _wait_after_failover(display, server: LiveServer, condition: str, arg, what: str) -> None:
    """Wait for ``condition`` on the page; failing, say what the page's live client and the server saw."""
    try:
        display.wait_for_function(condition, arg=arg, timeout=FAILOVER_WAIT_MS)
    except PlaywrightTimeoutError:
        live = display.evaluate(LIVE_STATE)
        pytest.fail(f"{what}: not within {FAILOVER_WAIT_MS / 1000:g} s. The page: {live}. "
                    f"The server's log:\n{server.stop_for_log()}")


def test_the_hall_display_drops_a_call_a_failover_lost_and_shows_the_next(cluster, browser, tmp_path):
    server = LiveServer(chaos_config(tmp_path), cluster.url).start(timeout=60)
    store = connect(cluster.url)
    try:
        api = Api(server.url)
        api.clerk(1), api.clerk(2), api.clerk(5)  # signed in (an event each) before the failover
        display = open_page(browser, server.url + "/display?voice=0", "owDisplay")
        for _ in range(3):
            api.issue()
        assert api.call_next(1)["number"] == "A001"
        kept = int(store.get(SEQ_KEY))
        display.wait_for_function("(s) => owDisplay.live.seq === s", arg=kept, timeout=WAIT_MS)

        # the replica's link is down: a call the display shows, then the primary dies and the replica takes over
        primary, replica = _call_a002_unreplicated(cluster, api, display, kept)
        cluster.kill(primary)
        cluster.continue_node(replica)
        replica.call("CLUSTER", "FAILOVER", "TAKEOVER")
        wait_for(lambda: cluster.serves(replica, SEQ_KEY), 60, "the replica to take over")

        # the relay notices the stream went back; the page reloads: nobody at window 2 any more
        _wait_after_failover(display, server, "(s) => owDisplay.live.stats.rewinds >= 1 && owDisplay.live.seq === s",
                             kept, "the page to hear stream_rewound and load the state at the kept seq")
        assert _window(display, 2) is None and _window(display, 1) == "A001"
        # the next call (A002 again, at window 5) reuses the lost event's seq: shown
        assert _seq_once_found(store) == kept
        assert api.call_next(5)["number"] == "A002"
        display.wait_for_function("(s) => owDisplay.live.seq === s", arg=kept + 1, timeout=WAIT_MS)
        assert _window(display, 5) == "A002" and _window(display, 2) is None and _window(display, 1) == "A001"
        assert display.errors == []  # type: ignore[attr-defined]
    finally:
        store.close()
        server.stop()


def test_a_display_away_while_a_failover_lost_its_call_loads_the_state_when_it_comes_back(browser, tmp_path):
    """The same lost call, but the display had no socket when it happened: its server was down (a process death
    with the failover), so nobody told it ``stream_rewound`` — the server that comes back follows the stream from
    where it is then. Meanwhile the next call reused the lost event's seq, so the stream is back at exactly the
    seq the page saw last. The page's ``catch_up`` names the stream entry of that event: it is not in the stream
    any more, the server answers ``resync`` and the page loads the state (window 2 empty, the new A002 at window 5)
    instead of being told "nothing missed" and showing a call that no longer exists."""
    from shared.clock import Clock
    from shared.config import load_config
    from shared.engine import Engine

    cluster = LocalCluster(node_timeout_ms=2000).start()  # its own: the other test leaves its hall's slot unreplicated
    path = chaos_config(tmp_path)
    server = LiveServer(path, cluster.url).start(timeout=60)
    store = connect(cluster.url)
    try:
        api = Api(server.url)
        api.clerk(1), api.clerk(2)
        display = open_page(browser, server.url + "/display?voice=0", "owDisplay")
        for _ in range(3):
            api.issue()
        assert api.call_next(1)["number"] == "A001"
        kept = int(store.get(SEQ_KEY))
        primary, replica = _call_a002_unreplicated(cluster, api, display, kept)
        seen = display.evaluate("() => owDisplay.live.entry")
        assert seen == store.xrevrange("ow:{testhall}:events", count=1)[0][0]   # the page knows that event's entry

        server.stop()                                                     # the display has no socket now …
        display.wait_for_function("() => !owDisplay.live.connected", timeout=WAIT_MS)
        cluster.kill(primary)                                             # … while the failover loses A002's call
        cluster.continue_node(replica)
        replica.call("CLUSTER", "FAILOVER", "TAKEOVER")
        wait_for(lambda: cluster.serves(replica, SEQ_KEY), 60, "the replica to take over")
        config = load_config(path)
        engine = Engine(store, config, Clock(config.timezone))            # the hall goes on meanwhile
        assert _seq_once_found(store) == kept
        assert engine.call_next(5, "clerk5")["number"] == "A002"           # the lost seq again, another event
        assert int(store.get(SEQ_KEY)) == kept + 1

        connects = display.evaluate("() => owDisplay.live.stats.connects")  # read while no server is up: the page
        server.start(timeout=60)                                          # may reconnect before start() returns
        _wait_after_failover(display, server,                             # (syncing until it has caught up)
                             "(n) => owDisplay.live.stats.connects > n && owDisplay.live.status === 'live'",
                             connects, "the page to reconnect and catch up")
        assert _window(display, 2) is None and _window(display, 5) == "A002" and _window(display, 1) == "A001"
        assert display.evaluate("() => owDisplay.live.stats.snapshots") == 2    # the first one, and this one
        assert display.evaluate("() => owDisplay.live.stats.rewinds") == 0   # it never heard stream_rewound
        assert display.evaluate("() => owDisplay.live.entry") == store.xrevrange("ow:{testhall}:events",
                                                                                  count=1)[0][0]
        assert display.errors == []  # type: ignore[attr-defined]
    finally:
        store.close()
        server.stop()
        cluster.close()
