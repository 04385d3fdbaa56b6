"""The numbering and calling invariants on a Redis Cluster at load: 16 clients × 2,000 issues while every window
calls and finishes, next to the same run on one server — rates printed as a ratio measured in one run.

Run: ``.venv/bin/python bench/bench_cluster.py [--clients 16] [--issues 2000]`` (a few minutes; loopback only).
The cluster is three primaries with one replica each (tests/cluster_support.py), the single server one more
process of the same binary, both without persistence (the embedded server fsyncs every write: not comparable); each client and each window has its
own client object (like separate processes) in this one Python process, so the rates are this process's, not the
store's. After each run: no number twice, every issued ticket stored, and the invariants of tests/invariants.py
(every ticket where its status says, ``seq`` without gap, the stream replays to the stored state).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections import Counter
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from cluster_support import LocalCluster  # noqa: E402
from invariants import check_all  # noqa: E402
from shared.clock import FixedClock  # noqa: E402
from shared.config import parse_config  # noqa: E402
from shared.embedded import free_port, server_binary  # noqa: E402
from shared.engine import Engine  # noqa: E402
from shared.errors import OneWindowError  # noqa: E402
from shared.redis_client import connect  # noqa: E402

HALL_TOML = ROOT / "tests" / "data" / "hall.toml"


SERVICES = ("renshe", "shichang", "bench3", "bench4")  # 16 × 2,000 numbers need four services (9,999 each)


def load_config(tmp: Path):
    """The test hall with two more all-day services (every window serves them) and the largest quota."""
    raw = tomllib.loads(HALL_TOML.read_text(encoding="utf-8"))
    raw["storage"]["var_dir"] = str(tmp)
    base = next(s for s in raw["services"] if s["code"] == "renshe")
    for code, prefix in (("bench3", "X"), ("bench4", "Y")):
        raw["services"].append({**base, "code": code, "prefix": prefix, "name": code, "name_en": code})
    for svc in raw["services"]:
        svc["daily_quota"] = 9999
    for window in raw["windows"]:
        window["services"] = list(window["services"]) + ["bench3", "bench4"]
    return parse_config(raw, base_dir=HALL_TOML.parent, source=HALL_TOML)


class PlainServer:
    """One server from the same binary with the cluster nodes' persistence (none), for the comparison."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir, self.port, self.process = data_dir, free_port(), None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "PlainServer":
        self.data_dir.mkdir(parents=True)
        self.process = subprocess.Popen(
            [server_binary(), "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.data_dir),
             "--appendonly", "no", "--save", "", "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                if connect(self.url).ping():
                    return self
            except Exception:  # noqa: BLE001 - not up yet
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def run(url: str, config, clock, clients: int, issues: int) -> dict:
    admin = connect(url)
    admin.flushall()
    numbers: list[list[str]] = [[] for _ in range(clients)]
    called: list[str] = []
    lock = threading.Lock()
    issuing_done = threading.Event()
    barrier = threading.Barrier(clients + len(config.windows))

    def issuer(i: int) -> None:
        engine = Engine(connect(url), config, clock)
        barrier.wait()
        for k in range(issues):
            numbers[i].append(engine.issue(SERVICES[(i + k) % len(SERVICES)]).ticket["number"])

    def window(n: int) -> None:
        engine = Engine(connect(url), config, clock)
        barrier.wait()
        while True:
            try:
                t = engine.call_next(n, f"clerk{n}")
            except OneWindowError:  # queue empty (or the window serves nothing open)
                if issuing_done.is_set():
                    return
                time.sleep(0.005)
                continue
            with lock:
                called.append(t["id"])
            engine.finish(n, "handled", f"clerk{n}")

    threads = [threading.Thread(target=issuer, args=(i,)) for i in range(clients)]
    windows = [threading.Thread(target=window, args=(n,)) for n in config.windows]
    t0 = time.monotonic()
    for t in threads + windows:
        t.start()
    for t in threads:
        t.join()
    issuing_s = time.monotonic() - t0
    issuing_done.set()
    for t in windows:
        t.join()
    every = [n for per in numbers for n in per]
    doubled = sum(c - 1 for c in Counter(every).values() if c > 1)
    doubled_calls = sum(c - 1 for c in Counter(called).values() if c > 1)
    _events, _tickets, problems = check_all(admin, config)
    admin.close()
    return {"issued": len(every), "rate": len(every) / issuing_s, "doubled": doubled, "called": len(called),
            "called_twice": doubled_calls, "problems": problems}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--issues", type=int, default=2000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ow-bench-cluster-"))
    config = load_config(tmp)
    clock = FixedClock(config.timezone, datetime(2026, 11, 27, 10, 0, tzinfo=config.timezone))
    single = PlainServer(tmp / "single").start()  # persisted like the cluster's nodes (not at all): a fair ratio
    cluster = LocalCluster().start()
    try:
        rows = {"one server": run(single.url, config, clock, args.clients, args.issues),
                "cluster 3+3": run(cluster.url, config, clock, args.clients, args.issues)}
    finally:
        cluster.close()
        single.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    for name, r in rows.items():
        print(f"{name}: {r['issued']} issued at {r['rate']:.0f}/s by {args.clients} clients while "
              f"{len(config.windows)} windows called {r['called']}; numbers given twice {r['doubled']}, tickets called "
              f"twice {r['called_twice']}, invariant problems {len(r['problems'])}"
              + (f" (first: {r['problems'][0]})" if r["problems"] else ""))
    print(f"cluster / one server issue rate: {rows['cluster 3+3']['rate'] / rows['one server']['rate']:.2f}")


if __name__ == "__main__":
    main()
