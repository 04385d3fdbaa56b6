"""Failover of the hall's primary on a Redis Cluster under load: what an acknowledged issue can lose, how long
issuing is unavailable, and what ``[redis] wait_replicas = 1`` costs — measured in one run on this machine.

Run: ``.venv/bin/python bench/bench_failover.py [--trials 3] [--clients 8]`` (a few minutes; loopback only). Starts
a cluster of three primaries with one replica each (tests/cluster_support.py, cluster-node-timeout 2 s) and, per
trial and setting: clients issue through the engine (each its own cluster client, like separate processes), the
hall's primary is killed (SIGKILL) mid-load, its replica takes over by itself, the killed node is started again
(it rejoins as the new primary's replica), issuing goes on for a while. Then it counts the acknowledged tickets
missing from the new primary and the numbers acknowledged twice. Two loss scenarios:

* ``kill``: the replica is in sync, as normally — what is lost is what was still in flight to the replica;
* ``lagging``: the replica's link is down when the primary dies (a partition, a replica that cannot keep up) —
  every ticket acknowledged since is lost; with ``wait_replicas = 1`` those issues are refused (503) instead.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import threading
import time
import tomllib
from collections import Counter
from dataclasses import replace
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from cluster_support import LocalCluster  # noqa: E402
from shared.clock import FixedClock  # noqa: E402
from shared.config import RedisSettings, parse_config  # noqa: E402
from shared.engine import Engine  # noqa: E402
from shared.redis_client import connect  # noqa: E402

HALL_TOML = ROOT / "tests" / "data" / "hall.toml"
TICKETS = "ow:{testhall}:tickets:20261127"
SEQ = "ow:{testhall}:seq"


def load_config(tmp: Path):
    raw = tomllib.loads(HALL_TOML.read_text(encoding="utf-8"))
    raw["storage"]["var_dir"] = str(tmp)
    for svc in raw["services"]:
        svc["daily_quota"] = 9999
    return parse_config(raw, base_dir=HALL_TOML.parent, source=HALL_TOML)


def wait(cond, timeout: float) -> float:
    start = time.monotonic()
    while not cond():
        if time.monotonic() - start > timeout:
            raise RuntimeError("timed out")
        time.sleep(0.02)
    return time.monotonic() - start


def trial(cluster: LocalCluster, config, clock, clients: int, wait_replicas: int, lagging: bool) -> dict:
    for node in cluster.nodes:
        cluster.continue_node(node)
        if not node.alive():
            cluster.restart(node)
    cluster.wait_healthy(60)
    admin = connect(cluster.url)
    admin.flushall()
    cfg = replace(config, redis=RedisSettings(wait_replicas=wait_replicas, wait_timeout_ms=300))
    acked: list[tuple[float, float, str, str]] = []  # (sent, answered, ticket id, number)
    tokens: dict[str, list[str]] = {}  # ticket id → the tracking tokens acknowledged under it (unique per ticket)
    failed: list[float] = []
    lock = threading.Lock()
    stop = threading.Event()

    def work(i: int) -> None:
        engine = Engine(connect(cluster.url), cfg, clock)
        while not stop.is_set():
            sent = time.monotonic()
            try:
                t = engine.issue("renshe" if i % 2 else "shichang").ticket
            except Exception:  # noqa: BLE001 - counted
                with lock:
                    failed.append(time.monotonic())
                time.sleep(0.01)
                continue
            with lock:
                acked.append((sent, time.monotonic(), t["id"], t["number"]))
                tokens.setdefault(t["id"], []).append(t["token"])

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    wait(lambda: len(acked) >= 300, 60)
    primary = cluster.primary_of(SEQ)
    replica = cluster.replica_of(primary)
    if lagging:
        cluster.stop_node(replica)
        primary.call("CLIENT", "KILL", "TYPE", "replica")
        time.sleep(0.3)  # the primary keeps answering with its replica cut off
        cluster.kill(primary)
        cluster.continue_node(replica)
        replica.call("CLUSTER", "FAILOVER", "TAKEOVER")
    else:
        cluster.kill(primary)
    killed = time.monotonic()  # lagging: the takeover is done by now; in sync: the replica takes over by itself
    before_kill = sum(1 for _s, t, _i, _n in acked if t < killed)
    wait(lambda: cluster.serves(replica, SEQ), 60)
    cluster.restart(primary)  # back as the new primary's replica (wait_replicas = 1 needs one)
    # unavailable until an issue sent after the kill is answered (an answer the dead primary sent before it died
    # may be taken off the socket after `killed`: it does not count)
    wait(lambda: any(s > killed for s, _t, _i, _n in acked), 90)
    first_after = min(t for s, t, _i, _n in acked if s > killed)
    time.sleep(1.0)  # a second of issuing on the new primary
    stop.set()
    for t in threads:
        t.join(60)
    elapsed = time.monotonic() - t0
    stored = admin.hgetall(TICKETS)
    # lost: acknowledged, and not what the store holds under its id now (a number given again reuses the id)
    kept = {json.loads(raw)["token"] for raw in stored.values()}
    lost = [tok for toks in tokens.values() for tok in toks if tok not in kept]
    doubled = sum(c - 1 for c in Counter(n for _s, _t, _i, n in acked).values() if c > 1)
    admin.close()
    return {"acked": len(acked), "before_kill": before_kill, "lost": len(lost), "doubled": doubled,
            "unavailable_s": first_after - killed, "failed": len(failed), "rate": len(acked) / elapsed}


def steady_rate(cluster: LocalCluster, config, clock, clients: int, wait_replicas: int, seconds: float = 3) -> float:
    cluster.wait_healthy(60)
    admin = connect(cluster.url)
    admin.flushall()
    cfg = replace(config, redis=RedisSettings(wait_replicas=wait_replicas, wait_timeout_ms=300))
    counts = [0] * clients
    stop = threading.Event()

    def work(i: int) -> None:
        engine = Engine(connect(cluster.url), cfg, clock)
        while not stop.is_set():
            engine.issue("renshe" if i % 2 else "shichang")
            counts[i] += 1

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(30)
    admin.close()
    return sum(counts) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    logging.getLogger("shared.runner").setLevel(logging.ERROR)  # a refused wait is counted, not logged each time
    import tempfile

    config = load_config(Path(tempfile.mkdtemp(prefix="ow-bench-failover-")))
    clock = FixedClock(config.timezone, datetime(2026, 11, 27, 10, 0, tzinfo=config.timezone))
    cluster = LocalCluster(node_timeout_ms=2000).start()
    try:
        plain, waiting = steady_rate(cluster, config, clock, args.clients, 0), steady_rate(cluster, config, clock, args.clients, 1)
        print(f"steady issuing, {args.clients} clients in this process: {plain:.0f}/s plain, {waiting:.0f}/s with "
              f"wait_replicas = 1 (ratio {waiting / plain:.2f})")
        for lagging in (False, True):
            for wait_replicas in (0, 1):
                rows = [trial(cluster, config, clock, args.clients, wait_replicas, lagging) for _ in range(args.trials)]
                print(f"{'lagging replica' if lagging else 'replica in sync'}, wait_replicas = {wait_replicas}: "
                      f"lost {[r['lost'] for r in rows]} acknowledged tickets, numbers given twice "
                      f"{[r['doubled'] for r in rows]}, issuing unavailable "
                      f"{statistics.median(r['unavailable_s'] for r in rows):.1f} s (median), "
                      f"failed requests {[r['failed'] for r in rows]}, acknowledged {[r['acked'] for r in rows]}")
    finally:
        cluster.close()


if __name__ == "__main__":
    main()
