"""The hall display in a real browser across a failover that lost a call it showed (a cluster of this module's own,
no ``wait_replicas``): the relay's ``stream_rewound`` makes the page load the hall's state again, so the lost call
leaves the screen, and the next call — which reuses the lost event's ``seq`` — shows (it would be ignored as already
seen otherwise, the screen showing a call that no longer exists)."""

from __future__ import annotations

import pytest

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


@pytest.fixture(scope="module")
def cluster():
    c = LocalCluster(node_timeout_ms=2000).start()
    yield c
    c.close()


def _window(page, number: int) -> str | None:
    """The ticket number the page's state shows at window ``number`` (None: nobody)."""
    return page.evaluate("(n) => { const w = owDisplay.state().windows.find((w) => w.window === n);"
                         " return w && w.ticket ? w.ticket.number : null; }", number)


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
        primary = cluster.primary_of(SEQ_KEY)
        replica = cluster.replica_of(primary)
        r = replica.client()
        try:  # the replica has everything so far
            r.execute_command("READONLY")
            wait_for(lambda: r.get(SEQ_KEY) == str(kept), 30, "the replica to catch up")
        finally:
            r.close()

        # the replica's link is down: a call the display shows, then the primary dies and the replica takes over
        cluster.stop_node(replica)
        primary.call("CLIENT", "KILL", "TYPE", "replica")
        assert api.call_next(2)["number"] == "A002"                       # lost with the primary
        display.wait_for_function("(s) => owDisplay.live.seq === s", arg=kept + 1, timeout=WAIT_MS)
        assert _window(display, 2) == "A002"
        cluster.kill(primary)
        cluster.continue_node(replica)
        replica.call("CLUSTER", "FAILOVER", "TAKEOVER")
        wait_for(lambda: cluster.serves(replica, SEQ_KEY), 60, "the replica to take over")

        # the relay notices the stream went back; the page reloads: nobody at window 2 any more
        display.wait_for_function("(s) => owDisplay.live.stats.rewinds >= 1 && owDisplay.live.seq === s", arg=kept,
                                  timeout=WAIT_MS)
        assert _window(display, 2) is None and _window(display, 1) == "A001"
        # the next call (A002 again, at window 5) reuses the lost event's seq: shown
        assert int(store.get(SEQ_KEY)) == kept
        assert api.call_next(5)["number"] == "A002"
        display.wait_for_function("(s) => owDisplay.live.seq === s", arg=kept + 1, timeout=WAIT_MS)
        assert _window(display, 5) == "A002" and _window(display, 2) is None and _window(display, 1) == "A001"
        assert display.errors == []  # type: ignore[attr-defined]
    finally:
        store.close()
        server.stop()
