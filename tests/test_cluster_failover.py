"""Failover of the hall's primary on a real cluster (three primaries with one replica each), under load.

* A replica takes over (``CLUSTER FAILOVER``) while four clients issue: the app finds the new primary by itself
  (requests after the switch succeed), no number is given twice, every acknowledged ticket is there, and the relay
  emits every event once, in ``seq`` order, across the switch.
* The primary is killed (SIGKILL) while clients issue with ``[redis] wait_replicas = 1``: the replica takes over
  by itself (cluster-node-timeout), and once the killed node is back as its replica, issuing succeeds again — and no
  acknowledged ticket is lost, no number is given twice.
* What asynchronous replication loses, and what the setting changes: with the replica's link down (the replica
  stopped, its connection cut), a ticket the primary acknowledged is gone after the primary dies and the replica takes over; with the setting, the
  same issue is refused (503) instead of acknowledged; and a ticket acknowledged with the setting survives killing
  its primary right after the answer.
* Screens across a failover that lost events they saw (no setting): the relay tells them the stream went back
  (``stream_rewound``) before the next event, which reuses a lost event's ``seq``.

The cluster is this module's own: the tests break it (and put it together again).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from dataclasses import replace

import pytest

from cluster_support import LocalCluster
from faults import wait_for
from invariants import check_all
from shared.config import RedisSettings
from shared.engine import Engine
from shared.redis_client import connect
from shared.runner import ReplicationTimeoutError, source

HALL = "ow:{testhall}"
DAY = "20261127"


@pytest.fixture(scope="module")
def cluster():
    c = LocalCluster(node_timeout_ms=2000).start()
    yield c
    c.close()


@pytest.fixture
def fresh(cluster):
    """The cluster whole again (a node killed by the previous test restarted as a replica), and emptied."""
    for node in cluster.nodes:
        cluster.continue_node(node)
        if not node.alive():
            cluster.restart(node)
    cluster.wait_healthy(60)
    client = connect(cluster.url)
    client.flushall()
    yield client
    client.close()


class Load:
    """``n`` threads issuing (each its own cluster client, like separate processes) until stopped."""

    def __init__(self, url: str, config, clock, n: int = 4) -> None:
        self.url, self.config, self.clock = url, config, clock
        self.acked: list[tuple[float, str, str]] = []  # (when, ticket id, number) of each acknowledged issue
        self.failed: list[tuple[float, str]] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._work, args=(i,), daemon=True) for i in range(n)]

    def _work(self, i: int) -> None:
        engine = Engine(connect(self.url), self.config, self.clock)
        while not self.stop.is_set():
            try:
                t = engine.issue("renshe" if i % 2 else "shichang").ticket
            except Exception as exc:  # noqa: BLE001 - a failed request is allowed during the failover
                with self.lock:
                    self.failed.append((time.monotonic(), type(exc).__name__))
                time.sleep(0.02)
                continue
            with self.lock:
                self.acked.append((time.monotonic(), t["id"], t["number"]))

    def start(self) -> "Load":
        for t in self.threads:
            t.start()
        return self

    def acked_since(self, when: float) -> int:
        with self.lock:
            return sum(1 for t, _id, _n in self.acked if t > when)

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(60)
        assert not any(t.is_alive() for t in self.threads), "an issuing client hung"


def _check_nothing_lost_nothing_doubled(client, config, load: Load) -> None:
    numbers = Counter(n for _t, _id, n in load.acked)
    assert numbers.most_common(1)[0][1] == 1, f"a number was given twice: {numbers.most_common(3)}"
    stored = client.hgetall(f"{HALL}:tickets:{DAY}")
    lost = [tid for _t, tid, _n in load.acked if tid not in stored]  # (ids are per number: none was given twice)
    assert not lost, f"{len(lost)} acknowledged tickets lost: {lost[:5]}"
    _events, _tickets, problems = check_all(client, config)
    assert not problems, problems[:10]


def test_a_replica_takes_over_under_load(cluster, fresh, hall_config, clock):
    from display.relay import Relay

    class Quiet:
        def emit(self, *_a, **_k) -> None:
            pass

    seen: list[int] = []
    relay = Relay(Quiet(), cluster.url, f"{HALL}:events", windows=hall_config.windows,
                  on_emitted=lambda e: seen.append(e.seq))
    relay.follower.last_id = "0-0"
    relay.start()
    old = cluster.primary_of(f"{HALL}:seq")
    replica = cluster.replica_of(old)
    load = Load(cluster.url, hall_config, clock).start()
    issue_sha = hashlib.sha1(source("issue").text.encode()).hexdigest()
    try:
        wait_for(lambda: len(load.acked) >= 100, 60, "issuing to get going")
        # the script cache is not replicated: the new primary will answer NOSCRIPT and the runner load it there
        assert old.call("SCRIPT", "EXISTS", issue_sha) == [1] and replica.call("SCRIPT", "EXISTS", issue_sha) == [0]
        replica.call("CLUSTER", "FAILOVER")
        wait_for(lambda: cluster.serves(replica, f"{HALL}:seq"), 60, "the replica to take over")
        switched = time.monotonic()
        wait_for(lambda: load.acked_since(switched) >= 100, 60, "issuing to go on on the new primary")
    finally:
        load.finish()
    client = connect(cluster.url)
    try:
        _check_nothing_lost_nothing_doubled(client, hall_config, load)
        last = int(client.get(f"{HALL}:seq"))
        wait_for(lambda: len(seen) >= last, 30, "the relay to emit every event")
    finally:
        relay.stop()
        client.close()
    assert seen == list(range(1, last + 1))  # every event once, in seq order, across the switch
    assert replica.call("SCRIPT", "EXISTS", issue_sha) == [1]


def test_the_primary_dies_under_load_with_wait_replicas(cluster, fresh, hall_config, clock):
    config = replace(hall_config, redis=RedisSettings(wait_replicas=1, wait_timeout_ms=300))
    old = cluster.primary_of(f"{HALL}:seq")
    replica = cluster.replica_of(old)
    load = Load(cluster.url, config, clock).start()
    try:
        wait_for(lambda: len(load.acked) >= 100, 60, "issuing to get going")
        cluster.kill(old)
        killed = time.monotonic()
        wait_for(lambda: cluster.serves(replica, f"{HALL}:seq"), 60, "the replica to take over by itself")
        # alone, the new primary has no replica to acknowledge: issuing waits for the old node to come back
        cluster.restart(old)
        wait_for(lambda: load.acked_since(killed) >= 100, 90, "issuing to succeed again")
    finally:
        load.finish()
    client = connect(cluster.url)
    try:
        _check_nothing_lost_nothing_doubled(client, config, load)
    finally:
        client.close()


def _replica_hlen(replica, key: str) -> int:
    c = replica.client()
    try:
        c.execute_command("READONLY")  # a replica answers reads of its slots on this connection
        return c.hlen(key)
    finally:
        c.close()


def _take_over_from_dead_primary(cluster, primary, replica) -> None:
    cluster.kill(primary)
    cluster.continue_node(replica)
    replica.call("CLUSTER", "FAILOVER", "TAKEOVER")
    wait_for(lambda: cluster.serves(replica, f"{HALL}:seq"), 60, "the replica to take over")


def test_what_asynchronous_replication_loses_and_what_waiting_keeps(cluster, fresh, hall_config, clock):
    plain = Engine(fresh, hall_config, clock)
    waiting = Engine(fresh, replace(hall_config, redis=RedisSettings(wait_replicas=1, wait_timeout_ms=300)), clock)
    plain.issue("renshe")
    first = cluster.primary_of(f"{HALL}:seq")
    replica = cluster.replica_of(first)
    wait_for(lambda: _replica_hlen(replica, f"{HALL}:tickets:{DAY}") == 1, 30, "the replica to have the first ticket")

    # the replica's link is down (stopped, its connection cut by the primary: a partition, a lagging replica):
    # the primary still acknowledges — and that ticket dies with it
    cluster.stop_node(replica)
    first.call("CLIENT", "KILL", "TYPE", "replica")
    lost = plain.issue("renshe").ticket
    with pytest.raises(ReplicationTimeoutError):  # with the setting: refused, not acknowledged
        waiting.issue("renshe")
    _take_over_from_dead_primary(cluster, first, replica)
    survivors = fresh.hgetall(f"{HALL}:tickets:{DAY}")
    assert lost["id"] not in survivors and len(survivors) == 1  # an acknowledged ticket lost at failover
    again = plain.issue("renshe").ticket
    assert again["number"] == lost["number"]  # … and its number given again

    # with the setting, a ticket acknowledged just before its primary dies is on the replica that takes over
    cluster.restart(first)
    cluster.wait_healthy(60)
    primary = cluster.primary_of(f"{HALL}:seq")
    replica = cluster.replica_of(primary)
    kept = waiting.issue("renshe").ticket
    _take_over_from_dead_primary(cluster, primary, replica)
    assert fresh.hget(f"{HALL}:tickets:{DAY}", kept["id"]) is not None


def test_screens_load_their_state_again_when_a_failover_lost_events_they_saw(cluster, fresh, hall_config, clock,
                                                                             tmp_path):
    """Without ``wait_replicas``, events the relay emitted can be lost at a failover, and the next event reuses their
    ``seq``: a screen at that seq would ignore it (and keep showing tickets that no longer exist). The relay notices
    that the stream went back and tells every screen (``stream_rewound`` with the seq it is back at) before the next
    event; live.js then loads its state again (tests/test_live_client.py)."""
    import socketio

    from chaos_support import chaos_config
    from hall_support import LiveServer

    server = LiveServer(chaos_config(tmp_path), cluster.url).start(timeout=60)
    got: list[tuple[str, int, str | None]] = []  # (message, seq, ticket number) as a screen received them
    sio = socketio.Client(reconnection=False)

    @sio.on("*", namespace="/display")
    def on_any(name, data):
        got.append((name, data["seq"], (data.get("ticket") or {}).get("number")))

    engine = Engine(fresh, hall_config, clock)
    try:
        sio.connect(server.url, namespaces=["/display"], transports=["websocket"], wait_timeout=10)
        # the relay follows from the stream's newest entry once it has connected: issue until the screen hears one
        wait_for(lambda: got or engine.issue("renshe") and None, 30, "the relay to follow", step=0.5)
        for _ in range(2):
            engine.issue("renshe")
        kept = int(fresh.get(f"{HALL}:seq"))
        wait_for(lambda: got[-1][1] == kept, 10, "the screen to receive every ticket")
        primary = cluster.primary_of(f"{HALL}:seq")
        replica = cluster.replica_of(primary)
        wait_for(lambda: _replica_hlen(replica, f"{HALL}:tickets:{DAY}") == kept, 30, "the replica to catch up")

        # the replica's link is down: two more tickets reach the screen, not the replica
        cluster.stop_node(replica)
        primary.call("CLIENT", "KILL", "TYPE", "replica")
        lost = [engine.issue("renshe").ticket["number"] for _ in range(2)]
        wait_for(lambda: got[-1][1] == kept + 2, 10, "the screen to show the tickets the replica lacks")
        assert [n for _m, _s, n in got[-2:]] == lost
        _take_over_from_dead_primary(cluster, primary, replica)

        # the relay finds the stream back at `kept` and says so; the next event reuses seq kept + 1
        wait_for(lambda: any(m == "stream_rewound" for m, _s, _n in got), 30, "the relay to notice the loss")
        again = engine.issue("renshe").ticket
        wait_for(lambda: got[-1][0] == "ticket_issued" and got[-1][1] == kept + 1, 30, "the next event")
    finally:
        sio.disconnect()
        server.stop()
    tail = got[-4:]
    assert tail == [("ticket_issued", kept + 1, lost[0]), ("ticket_issued", kept + 2, lost[1]),
                    ("stream_rewound", kept, None), ("ticket_issued", kept + 1, again["number"])], got
    assert again["number"] == lost[0]  # the lost number given again: the screen shows the new ticket under it
