"""Several processes (issue 15): a worker of `onewindow serve --workers 2` killed with SIGKILL while tickets keep
coming — how long its screens are without the hall, and whether every screen ends with every event once, in order.

    .venv/bin/python bench/bench_processes.py [--screens 60] [--rate 20] [--seconds 12] [--worker gevent]

Screens are python-socketio clients that keep the live client's contract (shared/static/js/live.js): events in seq
order, and on reconnect ``catch_up {after: seq}`` for what they missed. Printed, measured in one run: for the screens
of the killed worker, kill → back at the hall's newest seq (p50 / p99 / max), next to the same screens' reconnect
delay (Socket.IO's first backoff step, 0.5 s here) — the ratio says what the catch-up adds to a reconnect; for every
screen: events missing, duplicated or out of order (must be 0); and call → display p50 / p99 on both processes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import requests  # noqa: E402

import procs_support  # noqa: E402
from serving import ServeProcess  # noqa: E402
from shared.embedded import EmbeddedRedis  # noqa: E402

HALL = ROOT / "tests" / "data" / "hall.toml"
RECONNECT_DELAY = 0.5


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def summary(values: list[float]) -> dict:
    return {"n": len(values), "p50": statistics.median(values) if values else float("nan"),
            "p99": percentile(values, 99), "max": max(values) if values else float("nan")}


class Screen(procs_support.Screen):
    """The tests' screen (live.js's contract: seq order, catch-up on reconnect), timing each ticket_issued applied."""

    def __init__(self, url: str) -> None:
        super().__init__(url, reconnect_delay=RECONNECT_DELAY)
        self.arrived: dict[str, float] = {}  # ticket id → when its ticket_issued arrived

    def _on_event(self, name: str, payload: dict) -> None:
        payload["_at"] = time.monotonic()
        super()._on_event(name, payload)

    def on_applied(self, event: dict) -> None:
        if event.get("type") == "ticket_issued":
            self.arrived[event["ticket"]["id"]] = event.get("_at", time.monotonic())


def run(args: argparse.Namespace) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="ow-bench-procs-"))
    redis = EmbeddedRedis(tmp / "redis").start()
    config = tmp / "bench.toml"
    config.write_text(HALL.read_text(encoding="utf-8").replace('var_dir = "../../var/test"',
                                                               f'var_dir = "{tmp / "var"}"'), encoding="utf-8")
    server = ServeProcess(config, redis.url, "--workers", "2", "--worker", args.worker)
    screens: list[Screen] = []
    try:
        http = requests.Session()
        screens = [Screen(server.url) for _ in range(args.screens)]
        for s in screens:
            s.connect(0)
        deadline = time.monotonic() + 60
        while not all(s.processes for s in screens) and time.monotonic() < deadline:
            time.sleep(0.05)
        by_process: dict[int, int] = {}
        for s in screens:
            by_process[s.processes[-1]] = by_process.get(s.processes[-1], 0) + 1
        victim = max(by_process, key=by_process.get)
        sent: dict[str, float] = {}  # ticket id → when the issue was sent
        stop = threading.Event()

        def issue() -> None:
            while not stop.is_set():
                t0 = time.monotonic()
                r = http.post(server.url + "/api/v1/tickets", json={"service": "renshe"}, timeout=10)
                if r.status_code == 201:
                    sent[r.json()["ticket"]["id"]] = t0
                stop.wait(max(0.0, 1 / args.rate - (time.monotonic() - t0)))

        issuer = threading.Thread(target=issue, daemon=True)
        issuer.start()
        time.sleep(args.seconds / 2)  # a bench paces its load: not a test
        killed_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        time.sleep(args.seconds / 2)
        stop.set()
        issuer.join()
        import redis as redis_py

        last = int(redis_py.Redis.from_url(redis.url).get("ow:{testhall}:seq") or 0)
        deadline = time.monotonic() + 60
        while any(s.seq < last for s in screens) and time.monotonic() < deadline:
            time.sleep(0.05)
        victims = [s for s in screens if s.processes[0] == victim]
        # kill → reconnected (to either process) and caught up with what was missed
        recovery = [(s.caught_up_at[1] - killed_at) * 1000 for s in victims if len(s.caught_up_at) > 1]
        reconnect = [(s.connected_at[1] - killed_at) * 1000 for s in victims if len(s.connected_at) > 1]
        gaps = sum(1 for s in screens if s.applied != list(range(1, last + 1)))
        live = [(s.arrived[t] - sent[t]) * 1000 for s in screens if s not in victims for t in sent if t in s.arrived]
        return {
            "screens": args.screens, "by_process": list(by_process.values()), "victims": len(victims),
            "events": last, "screens_incomplete": gaps, "duplicates_skipped": sum(s.duplicates for s in screens),
            "reconnected_to": sorted({s.processes[-1] != victim for s in victims}),
            "recovery_ms": summary(recovery), "reconnect_ms": summary(reconnect), "reconnect_delay_ms": RECONNECT_DELAY * 1000,
            "issue_to_display_ms": summary(live), "worker": args.worker, "rate": args.rate,
        }
    finally:
        for s in screens:
            s.sio.disconnect()
        server.stop()
        redis.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screens", type=int, default=60)
    parser.add_argument("--rate", type=float, default=20, help="issues per second")
    parser.add_argument("--seconds", type=float, default=12, help="the run; the kill comes half-way")
    parser.add_argument("--worker", choices=("gevent", "gthread"), default="gevent")
    r = run(parser.parse_args(argv))
    rec, live = r["recovery_ms"], r["issue_to_display_ms"]
    print(f"\n`onewindow serve --workers 2 --worker {r['worker']}`: {r['screens']} screens ({r['by_process']} per "
          f"process), {r['rate']:.0f} issues/s, one worker SIGKILLed half-way ({r['victims']} screens on it)")
    print(f"  events {r['events']}; screens without every event exactly once in order: {r['screens_incomplete']}; "
          f"copies skipped (live + caught up): {r['duplicates_skipped']}")
    print(f"  killed worker's screens, kill -> caught up: p50 {rec['p50']:.0f} ms, p99 {rec['p99']:.0f} ms, max "
          f"{rec['max']:.0f} ms (reconnect delay {r['reconnect_delay_ms']:.0f} ms; ratio p99/delay "
          f"{rec['p99'] / r['reconnect_delay_ms']:.1f})")
    rc = r["reconnect_ms"]
    print(f"  of which kill -> connected again: p50 {rc['p50']:.0f} ms, p99 {rc['p99']:.0f} ms")
    print(f"  other screens, issue -> display: p50 {live['p50']:.1f} ms, p99 {live['p99']:.1f} ms")
    print(json.dumps(r))
    return 0 if r["screens_incomplete"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
