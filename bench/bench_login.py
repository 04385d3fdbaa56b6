"""/livez while a flood of bad logins arrives, next to /livez at rest — one `onewindow serve` (gevent worker).

Run: ``.venv/bin/python bench/bench_login.py`` (about 20 s; loopback only; stops by itself).
Issue 9: scrypt (~100–200 ms of CPU) ran on the single gevent worker, so 25 logins with invented usernames sent at
once blocked /livez — and every kiosk, screen and counter — for 3.7 s. The hash now runs on a bounded thread pool
(shared/passwords.py). Target: a flood of logins delays /livez by at most a few tens of milliseconds.

Both figures are measured in one run against the same server and printed with their ratio (the machine is shared).
Rest: sequential /livez requests on one keep-alive connection. Flood: 25 logins with invented usernames, sent at
once from 25 threads, while the same probe runs; the flood's window is from the first login sent to the last answer.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_api import bench_config, percentile  # noqa: E402
from serving import ServeProcess  # noqa: E402
from shared.embedded import EmbeddedRedis  # noqa: E402

logger = logging.getLogger("bench.login")


def probe(port: int, stop: threading.Event, out: list[float], limit: int | None = None) -> None:
    """/livez back to back on one connection until ``stop`` (or ``limit`` requests); latencies in ms."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while not stop.is_set() and (limit is None or len(out) < limit):
        t0 = time.perf_counter()
        conn.request("GET", "/livez")
        r = conn.getresponse()
        r.read()
        out.append((time.perf_counter() - t0) * 1000)
        assert r.status == 200
    conn.close()


def flood(port: int, logins: int) -> tuple[list[int], float]:
    """``logins`` bad logins with invented usernames, released together; returns their statuses and the seconds
    from the release to the last answer."""
    barrier = threading.Barrier(logins + 1)
    statuses: list[int] = []

    def one(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        body = json.dumps({"username": f"nobody{i}", "password": "guess", "window": 1})
        barrier.wait()
        conn.request("POST", "/api/v1/login", body, {"Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        statuses.append(r.status)
        conn.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(logins)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return statuses, time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--logins", type=int, default=25)
    parser.add_argument("--rest", type=int, default=400, help="/livez requests measured at rest")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp) / "redis") as store:
        config, _tokens = bench_config(Path(tmp), 2)
        server = ServeProcess(config, store.url)  # the default: gevent worker
        try:
            warm: list[float] = []
            probe(server.port, threading.Event(), warm, limit=100)
            rest: list[float] = []
            probe(server.port, threading.Event(), rest, limit=args.rest)

            during: list[float] = []
            stop = threading.Event()
            prober = threading.Thread(target=probe, args=(server.port, stop, during))
            prober.start()
            statuses, seconds = flood(server.port, args.logins)
            stop.set()
            prober.join()
        finally:
            server.stop()
    rest_p99, flood_p99 = percentile(rest, 99), percentile(during, 99)
    counts = {s: statuses.count(s) for s in sorted(set(statuses))}
    logger.info("%d bad logins at once: answered %s in %.2f s", args.logins, counts, seconds)
    logger.info("/livez at rest:        n=%d p50 %.1f ms  p99 %.1f ms", len(rest), percentile(rest, 50), rest_p99)
    logger.info("/livez during flood:   n=%d p50 %.1f ms  p99 %.1f ms  max %.1f ms", len(during),
                percentile(during, 50), flood_p99, max(during))
    logger.info("/livez p99 during %d bad logins / at rest: %.1fx (%.1f ms vs %.1f ms)", args.logins,
                flood_p99 / rest_p99, flood_p99, rest_p99)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
