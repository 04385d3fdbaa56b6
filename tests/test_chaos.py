"""Chaos: steady load on a real `onewindow serve` while its Redis is stalled, killed and restarted and the app itself
is killed and restarted — then nothing acknowledged is lost and nothing happened twice.

Load, for about a minute: issuing clients send ~50 tickets/s (half with a kiosk ``request_id``, half with an
``Idempotency-Key`` only), and three windows call next, sometimes recall, and finish through the HTTP API with clerk
sessions. Every client sends a request until it gets an answer (2xx or 4xx), sending it again with the same
``request_id`` / ``Idempotency-Key`` after a network error or a 5xx, and logs every acknowledged action.

Faults, in turns, each one waiting on what it needs rather than on time: Redis stopped (SIGSTOP) until redis-py has
given up on a command (which will still run) and continued (SIGCONT); Redis killed (SIGKILL) until a client got a
503, then restarted (its AOF holds everything it acknowledged: the embedded server fsyncs before it answers, see
``shared/embedded.py``); the app killed (SIGKILL, master and worker) until a
client found it gone, then restarted. Between faults, the clients must make progress.

Afterwards: every acknowledged ticket exists exactly once and was issued once; no ticket was called twice or sits
at two windows; every acknowledged action is exactly one event in the stream and every event is an acknowledged
action; the stream's ``seq`` is contiguous (see ``tests/invariants.py``).

With ``ONEWINDOW_TEST_STORE=cluster`` (``make test-cluster``) the same load runs against a Redis Cluster of the test's
own (three primaries with a replica each, ``[redis] wait_replicas = 1``), and the faults are a cluster's, each on the
hall's slot: its primary stalled (SIGSTOP) until redis-py gave up on a command there; a manual ``CLUSTER FAILOVER``;
the replica's link down (stopped, its connection cut) until a change was refused; the primary killed and the replica
forced to take over (``CLUSTER FAILOVER FORCE``), then the node restarted; the primary killed and the replica taking
over by itself (cluster-node-timeout), then the node restarted; the app killed and restarted. The verdict is the same
(``tests/chaos_support.py``), and no number was given twice. tests/test_cluster_chaos.py is its short form in
``make test``.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter

import pytest

from chaos_support import ChaosLoad, chaos_config, check_outcome
from cluster_support import LocalCluster
from faults import StallableRedis, abandoned_commands, wait_for
from hall_support import LiveServer
from shared.config import load_config
from shared.redis_client import connect

pytestmark = pytest.mark.chaos

# ONEWINDOW_TEST_STORE=cluster (``make test-cluster``): the same load against a Redis Cluster, with a cluster's faults
ON_CLUSTER = os.environ.get("ONEWINDOW_TEST_STORE", "") == "cluster"
MIN_SECONDS = 60
MIN_ROUNDS = 2  # each fault at least this often
STEADY_ISSUES, STEADY_ACTIONS = 150, 30  # progress between faults (about 3 s of steady load)


def _persistence(url: str) -> str:
    """The server's AOF state just before it is killed (a failure's report): a non-empty buffer while a background
    fsync is pending is acknowledged writes that a kill -9 loses (``appendfsync everysec``)."""
    try:
        r = connect(url)
        try:
            fsync = r.config_get("appendfsync").get("appendfsync")
            info = r.info("persistence")
        finally:
            r.close()
    except Exception as exc:  # noqa: BLE001 - only a report
        return f"(INFO failed: {exc!r})"
    return f"appendfsync={fsync} " + " ".join(f"{k}={info.get(k)}" for k in (
        "aof_buffer_length", "aof_pending_bio_fsync", "aof_delayed_fsync", "aof_last_write_status",
        "aof_rewrite_in_progress"))


def test_chaos_nothing_lost_nothing_twice(tmp_path):
    seed = int(os.environ.get("ONEWINDOW_SEED", random.randrange(2**32)))
    print(f"chaos seed {seed}{' (on a cluster)' if ON_CLUSTER else ''}")
    if ON_CLUSTER:
        _chaos_on_a_cluster(tmp_path, seed)
    else:
        _chaos_on_one_server(tmp_path, seed)


def _rounds(faults: Counter, started: float) -> bool:
    """Another round of faults: until MIN_SECONDS have passed and every fault struck MIN_ROUNDS times."""
    return time.monotonic() - started < MIN_SECONDS or min(faults.values(), default=0) < MIN_ROUNDS


def _kill_app(server: LiveServer, load: ChaosLoad) -> None:
    """The app killed (master and worker); restarted once a client found it gone."""
    before = load.journal.seen("network_errors")
    load.journal.fault("app SIGKILL")
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait()
    wait_for(lambda: load.journal.seen("network_errors") > before, 60, "a client to find the app gone")
    load.journal.fault("app restarting")
    server.start(timeout=60)
    load.journal.fault("app restarted")


def _chaos_on_one_server(tmp_path, seed: int) -> None:
    config_path = chaos_config(tmp_path)
    config = load_config(config_path)
    redis = StallableRedis(tmp_path / "redis").start()
    server = LiveServer(config_path, redis.url).start(timeout=60)
    load = ChaosLoad(server.url, seed)
    journal = load.journal
    faults: Counter = Counter()
    try:
        load.start()
        while _rounds(faults, load.started):
            load.progress(STEADY_ISSUES, STEADY_ACTIONS)
            # 1. Redis stalls past the socket timeout: redis-py gives up on commands that will still run
            journal.fault("redis SIGSTOP")
            redis.stop_process()
            wait_for(lambda: abandoned_commands(redis.port) >= 1, 60, "redis-py to time out on the stalled server")
            redis.continue_process()
            journal.fault("redis SIGCONT")
            faults["stall"] += 1
            load.progress(STEADY_ISSUES, STEADY_ACTIONS)
            # 2. Redis is killed; restarted once a client was told 503
            before = journal.seen("unavailable")
            journal.fault("redis SIGKILL " + _persistence(redis.url))
            redis.kill()
            wait_for(lambda: journal.seen("unavailable") > before, 60, "a 503 while Redis is down")
            journal.fault("redis restarting")
            redis.restart()
            journal.fault("redis restarted")
            faults["redis_kill"] += 1
            load.progress(STEADY_ISSUES, STEADY_ACTIONS)
            # 3. the app is killed (master and worker); restarted once a client found it gone
            _kill_app(server, load)
            faults["app_kill"] += 1
        load.progress(STEADY_ISSUES, STEADY_ACTIONS)
    finally:
        redis.continue_process()
        load.finish()
        server.stop()
    try:
        r = connect(redis.url)
        summary = check_outcome(r, config, load, seed, lambda: _aof_log(redis))
        print(f"chaos: {summary}, faults {dict(faults)}; AOF at each Redis kill: "
              f"{[w.split(' ', 2)[2] for _t, w in journal.faults if w.startswith('redis SIGKILL')]}")
        assert len(journal.issued) >= STEADY_ISSUES * 3 * MIN_ROUNDS and journal.replays + journal.unavailable > 0
        r.close()
    finally:
        redis.close()


def _aof_log(redis: StallableRedis) -> str:
    """The server log's AOF lines (a failure's report: what a kill may have cut off)."""
    try:
        log = (redis.server.data_dir / "server.log").read_text(errors="replace").splitlines()
    except OSError as exc:
        return f"server.log: {exc}"
    return "server.log (AOF lines): " + "\n  ".join(line for line in log if "AOF" in line or "fsync" in line
                                                     or "Truncat" in line or "truncat" in line)[-3000:]


# ------------------------------------------------------------------------------------------------ on a cluster
SEQ_KEY = "ow:{testhall}:seq"  # any key of the hall: its slot's primary is the hall's primary
CLUSTER_REDIS = "wait_replicas = 1\nwait_timeout_ms = 500"  # zero loss at failover (docs/deploy.md)


def _cluster_round(cluster: LocalCluster, server: LiveServer, load: ChaosLoad, faults: Counter) -> None:
    """One turn of every cluster fault, the clients making progress after each (the cluster whole again first)."""
    journal = load.journal

    def healed(what: str) -> None:
        cluster.wait_healthy(90)
        faults[what] += 1
        load.progress(STEADY_ISSUES, STEADY_ACTIONS)

    # 1. the hall's primary stalls (SIGSTOP) until redis-py gave up on a command there (which may still run when it
    #    continues — as a primary, or after its replica took over: cluster-node-timeout is shorter than the stall)
    primary = cluster.primary_of(SEQ_KEY)
    journal.fault(f"primary {primary.port} SIGSTOP")
    cluster.stop_node(primary)
    wait_for(lambda: abandoned_commands(primary.port) >= 1, 60, "redis-py to time out on the stalled primary")
    cluster.continue_node(primary)
    journal.fault(f"primary {primary.port} SIGCONT")
    healed("stall")
    # 2. a manual failover (maintenance): the replica takes the slot over in agreement with its primary
    primary = cluster.primary_of(SEQ_KEY)
    replica = cluster.replica_of(primary)
    journal.fault(f"CLUSTER FAILOVER on {replica.port}")
    replica.call("CLUSTER", "FAILOVER")
    wait_for(lambda: cluster.serves(replica, SEQ_KEY), 60, "the replica to take over")
    healed("failover")
    # 3. the replica's link is down (stopped, its connection cut): changes are refused (503) until it is back
    primary = cluster.primary_of(SEQ_KEY)
    replica = cluster.replica_of(primary)
    before = journal.seen("unavailable")
    journal.fault(f"replica {replica.port} SIGSTOP, link cut")
    cluster.stop_node(replica)
    primary.call("CLIENT", "KILL", "TYPE", "replica")
    wait_for(lambda: journal.seen("unavailable") > before, 60, "a 503 while no replica acknowledges")
    cluster.continue_node(replica)
    journal.fault(f"replica {replica.port} SIGCONT")
    healed("replica_link")
    # 4. the primary is killed and its replica forced to take over at once; the dead node restarted (a replica now)
    primary = cluster.primary_of(SEQ_KEY)
    replica = cluster.replica_of(primary)
    journal.fault(f"primary {primary.port} SIGKILL, CLUSTER FAILOVER FORCE on {replica.port}")
    cluster.kill(primary)
    replica.call("CLUSTER", "FAILOVER", "FORCE")
    wait_for(lambda: cluster.serves(replica, SEQ_KEY), 60, "the forced replica to take over")
    cluster.restart(primary)
    journal.fault(f"node {primary.port} restarted")
    healed("forced_failover")
    # 5. the primary is killed; its replica takes over by itself (cluster-node-timeout); the node restarted
    primary = cluster.primary_of(SEQ_KEY)
    replica = cluster.replica_of(primary)
    journal.fault(f"primary {primary.port} SIGKILL")
    cluster.kill(primary)
    wait_for(lambda: cluster.serves(replica, SEQ_KEY), 60, "the replica to take over by itself")
    journal.fault(f"replica {replica.port} took over")
    cluster.restart(primary)
    journal.fault(f"node {primary.port} restarted")
    healed("primary_kill")
    # 6. the app is killed and restarted
    _kill_app(server, load)
    faults["app_kill"] += 1
    load.progress(STEADY_ISSUES, STEADY_ACTIONS)


def _chaos_on_a_cluster(tmp_path, seed: int) -> None:
    """The same load on a cluster of its own (3 primaries with a replica each; the test breaks it), with
    ``wait_replicas = 1``: the faults are the hall's primary stalled, a manual and a forced failover, the replica's
    link down, the primary killed (its replica taking over by itself) and restarted, the app killed."""
    config_path = chaos_config(tmp_path, CLUSTER_REDIS)
    config = load_config(config_path)
    cluster = LocalCluster(node_timeout_ms=2000).start()
    try:
        server = LiveServer(config_path, cluster.url).start(timeout=60)
        load = ChaosLoad(server.url, seed)
        faults: Counter = Counter()
        try:
            load.start()
            while _rounds(faults, load.started):
                load.progress(STEADY_ISSUES, STEADY_ACTIONS)
                _cluster_round(cluster, server, load, faults)
        finally:
            for node in cluster.nodes:
                cluster.continue_node(node)
            load.finish()
            server.stop()
        r = connect(cluster.url)
        try:
            summary = check_outcome(r, config, load, seed)
        finally:
            r.close()
        print(f"chaos on a cluster: {summary}, faults {dict(faults)}")
        assert len(load.journal.issued) >= STEADY_ISSUES * 6 * MIN_ROUNDS and load.journal.unavailable > 0
    finally:
        cluster.close()
