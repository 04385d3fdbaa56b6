"""Issue and call-next through the HTTP API, next to the same server's trivial endpoint and raw Redis round trips.

Run: ``.venv/bin/python bench/bench_api.py`` (about a minute; loopback only; stops by itself).
Everything is measured in one run on this machine and printed as ratios, because the machine is shared and noisy.
Targets (issue #2): issuing costs at most 3x a trivial endpoint on the same server; p99 under 20 ms at 200 issues/s.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from serving import ServeProcess  # noqa: E402
from shared.embedded import EmbeddedRedis  # noqa: E402

logger = logging.getLogger("bench.api")
HALL = ROOT / "tests" / "data" / "hall.toml"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(name: str, lat_ms: list[float], seconds: float) -> dict:
    return {"name": name, "n": len(lat_ms), "per_s": len(lat_ms) / seconds, "p50": statistics.median(lat_ms),
            "p99": percentile(lat_ms, 99)}


def bench_config(tmp: Path, windows: int) -> tuple[Path, dict[int, str]]:
    """The test hall (open around the clock) with one machine token per window."""
    tokens = {n: f"bench-token-{n}-{os.getpid()}" for n in range(1, windows + 1)}
    text = HALL.read_text(encoding="utf-8").replace('var_dir = "../../var/test"', f'var_dir = "{tmp / "var"}"')
    head, _, rest = text.partition("[[tokens]]")
    public = "[public]" + rest.split("[public]", 1)[1].split("[redis]", 1)[0]  # the test hall's generous limits
    rest = rest.split("[redis]", 1)[1]
    blocks = "".join(f'[[tokens]]\nname = "bench-{n}"\nwindow = {n}\ntoken_sha256 = "{hashlib.sha256(t.encode()).hexdigest()}"\n\n'
                     for n, t in tokens.items())
    path = tmp / "bench.toml"
    path.write_text(head + blocks + public + "[redis]" + rest, encoding="utf-8")
    return path, tokens


def closed_loop(port: int, threads: int, per_thread: int, request_fn) -> tuple[list[float], float]:
    """``threads`` clients, each sending ``per_thread`` requests back to back on one keep-alive connection."""
    lat: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads + 1)

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine = []
        barrier.wait()
        for k in range(per_thread):
            t0 = time.perf_counter()
            request_fn(conn, i, k)
            mine.append((time.perf_counter() - t0) * 1000)
        conn.close()
        with lock:
            lat.extend(mine)

    pool = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in pool:
        t.join()
    return lat, time.perf_counter() - t0


def do(conn: http.client.HTTPConnection, method: str, path: str, body: dict | None = None,
       headers: dict | None = None, expect: tuple[int, ...] = (200, 201)) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
    r = conn.getresponse()
    payload = r.read()
    if r.status not in expect:
        raise RuntimeError(f"{method} {path} → {r.status} {payload[:200]!r}")
    return json.loads(payload) if payload else {}


def paced(port: int, rate: float, seconds: float, threads: int = 8) -> list[float]:
    """Open loop: issue at ``rate`` per second for ``seconds``; latency from each request's scheduled start."""
    total = int(rate * seconds)
    start = time.perf_counter() + 0.2
    lat: list[float] = []
    lock = threading.Lock()
    counter = iter(range(total))
    counter_lock = threading.Lock()

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while True:
            with counter_lock:
                k = next(counter, None)
            if k is None:
                break
            due = start + k / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            do(conn, "POST", "/api/v1/tickets", {"service": "renshe" if k % 2 else "shichang"})
            with lock:
                lat.append((time.perf_counter() - due) * 1000)
        conn.close()

    pool = [threading.Thread(target=client) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return lat


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000, help="requests per closed-loop measurement")
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    logging.basicConfig(level="INFO", format="%(message)s")
    per_thread = max(1, args.requests // args.threads)
    windows = 6
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp) / "redis") as store:
        config, tokens = bench_config(Path(tmp), windows)
        server = ServeProcess(config, store.url, "--threads", "64")
        try:
            client = redis.Redis.from_url(store.url)
            raw = []
            for _ in range(args.requests):
                t0 = time.perf_counter()
                client.ping()
                raw.append((time.perf_counter() - t0) * 1000)
            raw_s = summary("raw Redis PING (1 client)", raw, sum(raw) / 1000)

            trivial = summary("GET /livez (trivial)", *closed_loop(
                server.port, args.threads, per_thread, lambda c, i, k: do(c, "GET", "/livez")))
            issue = summary("POST /api/v1/tickets", *closed_loop(
                server.port, args.threads, per_thread,
                lambda c, i, k: do(c, "POST", "/api/v1/tickets", {"service": "renshe" if (i + k) % 2 else "shichang"})))

            calls_per_window = max(1, min(per_thread, (issue["n"] - 10) // windows))

            def call_and_finish(c, i, k):
                auth = {"Authorization": f"Bearer {tokens[i + 1]}"}
                do(c, "POST", f"/api/v1/windows/{i + 1}/call-next", headers=auth)
                do(c, "POST", f"/api/v1/windows/{i + 1}/finish", {"outcome": "handled"}, headers=auth)

            lat, secs = closed_loop(server.port, windows, calls_per_window, call_and_finish)
            call = summary("call-next + finish (6 windows)", lat, secs)

            client.flushall()
            rate_lat = paced(server.port, 200, 5.0)
            paced_s = {"name": "POST /api/v1/tickets at 200/s (open loop)", "n": len(rate_lat), "per_s": 200.0,
                       "p50": statistics.median(rate_lat), "p99": percentile(rate_lat, 99)}
        finally:
            server.stop()

    rows = [raw_s, trivial, issue, call, paced_s]
    logger.info("%-44s %7s %9s %9s %9s", "measurement", "n", "per s", "p50 ms", "p99 ms")
    for r in rows:
        logger.info("%-44s %7d %9.0f %9.2f %9.2f", r["name"], r["n"], r["per_s"], r["p50"], r["p99"])
    ratio = issue["p50"] / trivial["p50"]
    logger.info("")
    logger.info("issue / trivial endpoint, p50 latency:      %.2fx  (target <= 3x)  %s", ratio, "OK" if ratio <= 3 else "MISSED")
    logger.info("issue / trivial endpoint, throughput:       %.2fx", trivial["per_s"] / issue["per_s"])
    logger.info("issue / raw Redis round trip, p50:          %.1fx", issue["p50"] / raw_s["p50"])
    logger.info("call-next+finish / trivial, p50 (2 requests): %.2fx", call["p50"] / trivial["p50"])
    logger.info("p99 at 200 issues/s:                        %.2f ms (target < 20 ms)  %s", paced_s["p99"],
                "OK" if paced_s["p99"] < 20 else "MISSED")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
