"""Chaos on a cluster, bounded (the full run is tests/test_chaos.py under ``make test-cluster``): a real
`onewindow serve` on a cluster of its own (three primaries with a replica each, ``[redis] wait_replicas = 1``), HTTP
clients issuing, calling, recalling and finishing through it (tests/chaos_support.py), and the hall's primary killed
(SIGKILL) mid-load.

Its replica takes over by itself (cluster-node-timeout); with the setting, changes are refused (503) until the dead
node is back as the new primary's replica, then the same app process — never restarted — serves again. Afterwards
every acknowledged ticket and window action is in the stream exactly once, no number was given twice, ``seq`` has no
gap and the stream replays to the stored state (tests/invariants.py).
"""

from __future__ import annotations

import os
import random
import time

from chaos_support import ChaosLoad, chaos_config, check_outcome
from cluster_support import LocalCluster
from faults import wait_for
from hall_support import LiveServer
from shared.config import load_config
from shared.redis_client import connect

SEQ_KEY = "ow:{testhall}:seq"
STEADY_ISSUES, STEADY_ACTIONS = 60, 12


def test_the_halls_primary_killed_under_load_loses_nothing_and_the_app_recovers(tmp_path):
    seed = int(os.environ.get("ONEWINDOW_SEED", random.randrange(2**32)))
    print(f"cluster chaos seed {seed}")
    config_path = chaos_config(tmp_path, "wait_replicas = 1\nwait_timeout_ms = 500")
    config = load_config(config_path)
    assert config.redis.wait_replicas == 1
    cluster = LocalCluster(node_timeout_ms=2000).start()
    try:
        server = LiveServer(config_path, cluster.url).start(timeout=60)
        pid = server.process.pid
        load = ChaosLoad(server.url, seed, issuers=4, rate=30.0)
        journal = load.journal
        try:
            load.start()
            load.progress(STEADY_ISSUES, STEADY_ACTIONS)
            primary = cluster.primary_of(SEQ_KEY)
            replica = cluster.replica_of(primary)
            before = journal.seen("unavailable")
            journal.fault(f"primary {primary.port} SIGKILL")
            cluster.kill(primary)
            wait_for(lambda: cluster.serves(replica, SEQ_KEY), 60, "the replica to take over by itself")
            journal.fault(f"replica {replica.port} took over")
            # alone, the new primary has no replica to acknowledge: changes wait for the dead node to come back
            wait_for(lambda: journal.seen("unavailable") > before, 60, "a 503 while the hall's slot has no replica")
            cluster.restart(primary)
            cluster.wait_healthy(90)
            journal.fault(f"node {primary.port} back as a replica")
            back = time.monotonic()
            load.progress(STEADY_ISSUES, STEADY_ACTIONS)
            recovered = time.monotonic() - back
        finally:
            load.finish()
            alive = server.process is not None and server.process.poll() is None and server.process.pid == pid
            server.stop()
        assert alive, "the app had to be restarted"
        assert cluster.primary_of(SEQ_KEY) is replica
        r = connect(cluster.url)
        try:
            summary = check_outcome(r, config, load, seed)
        finally:
            r.close()
        print(f"cluster chaos: {summary}; {STEADY_ISSUES} issues after the node came back in {recovered:.1f} s")
        assert len(journal.issued) >= 2 * STEADY_ISSUES and journal.unavailable > 0
    finally:
        cluster.close()
