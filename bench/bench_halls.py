"""Several halls on one process: issue and call → display figures per hall, and that no screen hears another hall.

Run: ``.venv/bin/python bench/bench_halls.py`` (a few minutes; loopback only; hard limit ``--deadline`` seconds).
It writes a config directory of ``--halls`` halls (the test hall, tests/data/hall.toml, under ids ``h01`` …), starts an
embedded Redis and one ``onewindow serve --config <dir>`` process (gevent), connects ``--screens`` asyncio Socket.IO
clients to each hall's ``/h/<id>/display`` namespace, then, round by round, issues one ticket in every hall and calls
it at window 1 (a keypad's token), recording when each screen got its ``ticket_called``.

  call → display = time the event reached a screen − time the call request was sent (per hall: p50, p99)
  issue          = the issue request's round trip (per hall)
  ping           = a ``clock`` acknowledgement's round trip from the same screens (the baseline of the machine)
  foreign        = ``ticket_called`` events a screen received from another hall (must be 0)

Printed as ratios measured in one run (the machine is shared and noisy): each hall's call → display p99 against the
ping p99, and the spread between halls (worst hall p99 / best hall p99).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import socketio  # noqa: E402

from serving import ServeProcess  # noqa: E402
from shared.embedded import EmbeddedRedis  # noqa: E402

logger = logging.getLogger("bench.halls")
HALL = ROOT / "tests" / "data" / "hall.toml"
KEYPAD_TOKEN = "demo-keypad-token-window-1"  # window 1 of the test hall (every hall here has its own copy)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def summary(values: list[float]) -> dict:
    if not values:
        return {"n": 0, "p50": float("nan"), "p99": float("nan"), "max": float("nan")}
    return {"n": len(values), "p50": round(statistics.median(values), 1), "p99": round(percentile(values, 99), 1),
            "max": round(max(values), 1)}


def write_city(directory: Path, halls: int) -> list[str]:
    """A config directory of ``halls`` copies of the test hall; returns their ids."""
    directory.mkdir(parents=True)
    (directory / "city.toml").write_text(f'[city]\nid = "bench"\nname = "基准市"\n\n[storage]\nvar_dir = '
                                         f'"{directory / "var"}"\n', encoding="utf-8")
    blocks = [b for b in re.split(r"\n\s*\n", HALL.read_text(encoding="utf-8"))
              if not any(line in ("[redis]", "[storage]") for line in b.splitlines())]
    ids = [f"h{n:02d}" for n in range(1, halls + 1)]
    for hall_id in ids:
        text = "\n\n".join(blocks).replace('id = "testhall"', f'id = "{hall_id}"', 1) + "\n"
        (directory / f"{hall_id}.toml").write_text(text, encoding="utf-8")
    return ids


class Screens:
    """``n`` asyncio Socket.IO clients on one hall's display namespace."""

    def __init__(self, hall: str, n: int) -> None:
        self.hall = hall
        self.namespace = f"/h/{hall}/display"
        self.clients = [socketio.AsyncClient(reconnection=False, handle_sigint=False) for _ in range(n)]
        self.arrivals: list[dict[str, float]] = [{} for _ in range(n)]
        for client, arrivals in zip(self.clients, self.arrivals):
            client.on("ticket_called", self._recorder(arrivals), namespace=self.namespace)

    @staticmethod
    def _recorder(arrivals: dict[str, float]):
        def on_called(data) -> None:
            arrivals[data["ticket"]["id"]] = time.monotonic()
        return on_called

    async def connect(self, url: str, gate: asyncio.Semaphore) -> int:
        async def one(c):
            async with gate:
                try:
                    await c.connect(url, transports=["websocket"], namespaces=[self.namespace], wait_timeout=20)
                    return True
                except Exception as exc:  # noqa: BLE001 - counted and reported
                    logger.debug("connect failed: %s", exc)
                    return False
        ok = await asyncio.gather(*(one(c) for c in self.clients))
        self.clients = [c for c, good in zip(self.clients, ok) if good]
        self.arrivals = [a for a, good in zip(self.arrivals, ok) if good]
        return len(self.clients)

    async def ping(self) -> float | None:
        t = time.monotonic()
        try:
            await self.clients[0].call("clock", {}, namespace=self.namespace, timeout=10)
        except Exception:  # noqa: BLE001 - a lost ping is left out
            return None
        return (time.monotonic() - t) * 1000

    async def close(self) -> None:
        await asyncio.gather(*(c.disconnect() for c in self.clients), return_exceptions=True)


_http = requests.Session()
_http.headers["Authorization"] = f"Bearer {KEYPAD_TOKEN}"


_public = requests.Session()  # tickets are taken as the public does (the test hall's public limits are high)


def _post(url: str, body: dict, *, public: bool = False) -> tuple[dict, float, float]:
    t0 = time.monotonic()
    r = (_public if public else _http).post(url, json=body, timeout=15)
    ms = (time.monotonic() - t0) * 1000
    r.raise_for_status()
    return r.json(), t0, ms


async def measure(args: argparse.Namespace, server: ServeProcess, ids: list[str]) -> dict:
    screens = {hall: Screens(hall, args.screens) for hall in ids}
    started = time.monotonic()
    gate = asyncio.Semaphore(50)
    try:
        connected = dict(zip(ids, await asyncio.gather(*(s.connect(server.url, gate) for s in screens.values()))))
        connect_s = time.monotonic() - started
        logger.info("%d/%d screens connected in %.1f s", sum(connected.values()), len(ids) * args.screens, connect_s)
        await asyncio.sleep(1.0)
        pings = []
        for _ in range(args.ping_rounds):
            for s in screens.values():
                p = await s.ping()
                if p is not None:
                    pings.append(p)

        sent: dict[str, dict[str, float]] = {hall: {} for hall in ids}
        issue_ms: dict[str, list[float]] = {hall: [] for hall in ids}
        for _ in range(args.calls):
            if time.monotonic() - started > args.deadline * 0.7:
                logger.warning("stopping calls early: deadline")
                break
            for hall in ids:
                base = f"{server.url}/h/{hall}/api/v1"
                _, _, ms = await asyncio.to_thread(lambda: _post(base + "/tickets", {"service": "renshe"}, public=True))
                issue_ms[hall].append(ms)
                await asyncio.sleep(args.interval)
                body, t0, _ = await asyncio.to_thread(_post, base + "/windows/1/call-next", {})
                sent[hall][body["ticket"]["id"]] = t0
                await asyncio.sleep(args.interval)
                await asyncio.to_thread(_post, base + "/windows/1/finish", {"outcome": "handled"})
        settle = time.monotonic() + 20
        while time.monotonic() < settle and any(len(a) < len(sent[h]) for h, s in screens.items() for a in s.arrivals):
            await asyncio.sleep(0.2)

        per_hall, foreign, missing = {}, 0, 0
        for hall, s in screens.items():
            latency = []
            for arrivals in s.arrivals:
                foreign += sum(1 for ticket_id in arrivals if ticket_id not in sent[hall])
                for ticket_id, t0 in sent[hall].items():
                    at = arrivals.get(ticket_id)
                    if at is None:
                        missing += 1
                    else:
                        latency.append((at - t0) * 1000)
            per_hall[hall] = {"screens": connected[hall], "call_display_ms": summary(latency),
                              "issue_ms": summary(issue_ms[hall])}
        return {"halls": len(ids), "screens_per_hall": args.screens, "connected": sum(connected.values()),
                "connect_s": round(connect_s, 1), "calls_per_hall": args.calls, "missing": missing,
                "foreign": foreign, "ping_ms": summary(pings), "per_hall": per_hall}
    finally:
        await asyncio.gather(*(s.close() for s in screens.values()), return_exceptions=True)


def run(args: argparse.Namespace) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="ow-bench-halls-"))
    redis_server = EmbeddedRedis(tmp / "redis").start()
    server = None
    try:
        ids = write_city(tmp / "city", args.halls)
        threads = str(max(1000, args.halls * args.screens + 200))
        server = ServeProcess(tmp / "city", redis_server.url, "--worker", "gevent", "--threads", threads)
        return asyncio.run(measure(args, server, ids))
    finally:
        if server is not None:
            server.stop()
        redis_server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def report(r: dict) -> None:
    ping = r["ping_ms"]
    print(f"\n{r['halls']} halls × {r['screens_per_hall']} screens on one `onewindow serve --worker gevent` process: "
          f"{r['connected']} connected in {r['connect_s']} s; {r['calls_per_hall']} calls per hall")
    print(f"  {'hall':6} {'screens':>7} {'call→display p50':>17} {'p99':>8} {'issue p50':>10} {'p99':>8}  p99/ping p99")
    p99s = []
    for hall, h in r["per_hall"].items():
        lat, iss = h["call_display_ms"], h["issue_ms"]
        p99s.append(lat["p99"])
        ratio = lat["p99"] / ping["p99"] if ping["n"] else float("nan")
        print(f"  {hall:6} {h['screens']:7d} {lat['p50']:17.1f} {lat['p99']:8.1f} {iss['p50']:10.1f} {iss['p99']:8.1f}"
              f"  {ratio:.1f}")
    spread = max(p99s) / min(p99s) if p99s and min(p99s) > 0 else float("nan")
    print(f"  ping (clock ack) p50 {ping['p50']} ms, p99 {ping['p99']} ms; worst hall p99 / best hall p99: {spread:.2f}")
    print(f"  missing deliveries {r['missing']}; events heard by another hall's screen: {r['foreign']} (must be 0)")
    print(json.dumps(r, ensure_ascii=False))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--halls", type=int, default=20)
    parser.add_argument("--screens", type=int, default=50, help="screens per hall")
    parser.add_argument("--calls", type=int, default=5, help="calls per hall")
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between one request and the next")
    parser.add_argument("--ping-rounds", type=int, default=3)
    parser.add_argument("--deadline", type=float, default=420, help="hard limit for the whole run, seconds")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("socketio").setLevel(logging.ERROR)
    logging.getLogger("engineio").setLevel(logging.ERROR)

    def _timeout(*_):
        raise TimeoutError(f"bench exceeded {args.deadline:.0f} s")

    signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(int(args.deadline))
    try:
        report(run(args))
    finally:
        signal.alarm(0)
    return 0


if __name__ == "__main__":
    os._exit(main())
