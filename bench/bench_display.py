"""Events to screens under load: a burst of issues, and call → display with 500 screens while issues arrive.

Run: ``.venv/bin/python bench/bench_display.py`` (two minutes or so; loopback only; stops by itself, hard limit
``--deadline`` seconds). It starts an embedded Redis and one ``onewindow serve`` (``--worker``: gevent, the default,
or gthread) and runs, with cheap raw WebSocket screens (bench/raw_clients.py: every frame kept with its arrival time
and parsed after the run, so the load generator costs little):

  burst  ``--burst`` (700) public issues as fast as ``--issuers`` (8) connections go, ``--burst-screens`` (50)
         screens: how long after the last issue was answered the last screen had the last ``ticket_issued``;
         issue → screen and append → screen percentiles; missing, gaps and out-of-order per screen
         (target, issue 15: within 2 s, nothing missing). ``--burst-via engine`` issues through the core from this
         process instead of HTTP (the display path alone).
  load   ``--load-screens`` (500) screens, issues arriving open-loop at ``--rate`` (200/s) for ``--load-seconds``
         while window 1 calls every ``--interval`` s: call request → ``ticket_called`` on every screen, and event
         appended → on screen (target, issue 15: p99 < 100 ms)

Both print the CPU shares of the server and of the load generator, and server CPU per event delivered to a screen,
because the machine is shared and noisy: compare runs made back to back. ``--scenario calls`` is the older run:
``--clients`` python-socketio clients, one call at a time, next to the same clients' ``clock`` round trip.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import logging
import os
import signal
import statistics
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import socketio  # noqa: E402

try:
    import aiohttp  # noqa: E402,F401 - socketio.AsyncClient's transport
    HAVE_AIOHTTP = True
except ImportError:
    HAVE_AIOHTTP = False

from raw_clients import RawHTTP, RawScreen  # noqa: E402
from serving import ServeProcess  # noqa: E402
from shared.embedded import EmbeddedRedis  # noqa: E402

logger = logging.getLogger("bench.display")
HALL = ROOT / "tests" / "data" / "hall.toml"
KEYPAD_TOKEN = "demo-keypad-token-window-1"   # bound to window 1 in tests/data/hall.toml
NAMESPACE = "/display"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def stats(values: list[float]) -> dict:
    if not values:
        return {"n": 0, "p50": float("nan"), "p99": float("nan"), "max": float("nan")}
    return {"n": len(values), "p50": statistics.median(values), "p99": percentile(values, 99), "max": max(values)}


class ThreadScreens:
    """N python-socketio sync clients (two threads each); every method is awaitable (run in a thread pool)."""

    kind = "threads (socketio.Client)"

    def __init__(self, n: int) -> None:
        self.pool = ThreadPoolExecutor(max_workers=64)
        self.clients = [socketio.Client(reconnection=False, handle_sigint=False) for _ in range(n)]
        self.arrivals: list[dict[str, float]] = [{} for _ in range(n)]
        for client, arrivals in zip(self.clients, self.arrivals):
            client.on("ticket_called", _recorder(arrivals), namespace=NAMESPACE)

    async def _map(self, fn, items):
        loop = asyncio.get_running_loop()
        return await asyncio.gather(*(loop.run_in_executor(self.pool, fn, x) for x in items))

    async def connect_all(self, url: str) -> int:
        def connect(c):
            try:
                c.connect(url, transports=["websocket"], namespaces=[NAMESPACE], wait_timeout=10)
                return True
            except Exception as exc:  # noqa: BLE001 - counted and reported
                logger.debug("connect failed: %s", exc)
                return False
        ok = await self._map(connect, self.clients)
        self._keep(ok)
        return len(self.clients)

    def _keep(self, ok: list[bool]) -> None:
        self.clients = [c for c, good in zip(self.clients, ok) if good]
        self.arrivals = [a for a, good in zip(self.arrivals, ok) if good]

    async def ping(self, indexes) -> list[float]:
        def ping(i):
            t = time.monotonic()
            try:
                self.clients[i].call("clock", {}, namespace=NAMESPACE, timeout=10)
            except Exception:  # noqa: BLE001 - a lost ping is left out
                return None
            return (time.monotonic() - t) * 1000
        return [p for p in await self._map(ping, indexes) if p is not None]

    async def close_all(self) -> None:
        def close(c):
            try:
                c.disconnect()
            except Exception:  # noqa: BLE001
                pass
        try:
            await asyncio.wait_for(self._map(close, self.clients), 20)
        except asyncio.TimeoutError:
            pass
        self.pool.shutdown(wait=False, cancel_futures=True)


class AsyncScreens:
    """N python-socketio asyncio clients on this thread's event loop (needs aiohttp)."""

    kind = "asyncio (socketio.AsyncClient)"

    def __init__(self, n: int) -> None:
        self.clients = [socketio.AsyncClient(reconnection=False, handle_sigint=False) for _ in range(n)]
        self.arrivals: list[dict[str, float]] = [{} for _ in range(n)]
        for client, arrivals in zip(self.clients, self.arrivals):
            client.on("ticket_called", _recorder(arrivals), namespace=NAMESPACE)

    async def connect_all(self, url: str) -> int:
        gate = asyncio.Semaphore(50)

        async def connect(c):
            async with gate:
                try:
                    await c.connect(url, transports=["websocket"], namespaces=[NAMESPACE], wait_timeout=10)
                    return True
                except Exception as exc:  # noqa: BLE001 - counted and reported
                    logger.debug("connect failed: %s", exc)
                    return False
        ok = await asyncio.gather(*(connect(c) for c in self.clients))
        self.clients = [c for c, good in zip(self.clients, ok) if good]
        self.arrivals = [a for a, good in zip(self.arrivals, ok) if good]
        return len(self.clients)

    async def ping(self, indexes) -> list[float]:
        async def ping(i):
            t = time.monotonic()
            try:
                await self.clients[i].call("clock", {}, namespace=NAMESPACE, timeout=10)
            except Exception:  # noqa: BLE001 - a lost ping is left out
                return None
            return (time.monotonic() - t) * 1000
        return [p for p in await asyncio.gather(*(ping(i) for i in indexes)) if p is not None]

    async def close_all(self) -> None:
        try:
            await asyncio.wait_for(asyncio.gather(*(c.disconnect() for c in self.clients),
                                                  return_exceptions=True), 20)
        except asyncio.TimeoutError:
            pass


def _recorder(arrivals: dict[str, float]):
    def on_called(data) -> None:
        arrivals[data["ticket"]["id"]] = time.monotonic()
    return on_called


def bench_config(tmp: Path) -> Path:
    text = HALL.read_text(encoding="utf-8").replace('var_dir = "../../var/test"', f'var_dir = "{tmp / "var"}"')
    text = text.replace("daily_quota = 2000", "daily_quota = 9999")  # the burst and the load issue thousands
    path = tmp / "bench.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _post(url: str, body: dict) -> tuple[dict, float, float]:
    """POST with the keypad's token; returns (json, monotonic send time, ms)."""
    t0 = time.monotonic()
    r = _http.post(url, json=body, timeout=10)
    ms = (time.monotonic() - t0) * 1000
    r.raise_for_status()
    return r.json(), t0, ms


_http = requests.Session()
_http.headers["Authorization"] = f"Bearer {KEYPAD_TOKEN}"


async def measure(args: argparse.Namespace, server: ServeProcess) -> dict:
    screens = AsyncScreens(args.clients) if args.client == "asyncio" else ThreadScreens(args.clients)
    try:
        # --- connect the screens
        started = time.monotonic()
        connected = await screens.connect_all(server.url)
        connect_s = time.monotonic() - started
        logger.info("%d/%d %s clients connected in %.1f s", connected, args.clients, screens.kind, connect_s)
        await asyncio.sleep(1.0)

        # --- ping round trips from the same clients, one at a time (each ``clock`` the server receives is handled
        #     in a thread of its own in threading mode: 500 at once would measure a thread storm, not a link)
        idle: list[float] = []
        for _ in range(args.ping_rounds):
            for i in range(connected):
                idle += await screens.ping([i])

        # --- calls through the HTTP API: issue (untimed), call-next (timed from the request), finish (untimed)
        cpu_server0, cpu_bench0 = server.cpu_seconds(), time.process_time()
        sent: dict[str, float] = {}
        http_ms: list[float] = []
        for _ in range(args.calls):
            if time.monotonic() - started > args.deadline * 0.7:
                logger.warning("stopping calls early: deadline")
                break
            await asyncio.to_thread(_post, server.url + "/api/v1/tickets", {"service": "renshe"})
            await asyncio.sleep(args.interval)   # let the ticket_issued fan-out finish: time the call alone
            body, t0, ms = await asyncio.to_thread(_post, server.url + "/api/v1/windows/1/call-next", {})
            sent[body["ticket"]["id"]] = t0
            http_ms.append(ms)
            await asyncio.sleep(args.interval)
            await asyncio.to_thread(_post, server.url + "/api/v1/windows/1/finish", {"outcome": "handled"})
        settle = time.monotonic() + 20   # let the last events land (late ones count as late, not missing)
        while time.monotonic() < settle and any(len(a) < len(sent) for a in screens.arrivals):
            await asyncio.sleep(0.2)
        cpu_server = server.cpu_seconds() - cpu_server0
        cpu_bench = time.process_time() - cpu_bench0

        latency, missing = [], 0
        for arrivals in screens.arrivals:
            for ticket_id, t0 in sent.items():
                at = arrivals.get(ticket_id)
                if at is None:
                    missing += 1
                else:
                    latency.append((at - t0) * 1000)
        return {
            "clients": args.clients, "connected": connected, "client_kind": screens.kind,
            "connect_s": round(connect_s, 1), "threads": args.threads, "worker": args.worker, "calls": len(sent),
            "deliveries": len(latency), "missing": missing,
            "latency_ms": stats(latency), "ping_ms": stats(idle),
            "call_http_ms": stats(http_ms),
            # CPU per call cycle (3 events: issued, called, finished, each sent to every client)
            "server_cpu_ms_per_cycle": round(cpu_server / max(1, len(sent)) * 1000, 1),
            "bench_cpu_ms_per_cycle": round(cpu_bench / max(1, len(sent)) * 1000, 1),
        }
    finally:
        await screens.close_all()


def run(args: argparse.Namespace) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="ow-bench-display-"))
    redis_server = EmbeddedRedis(tmp / "redis").start()
    server = None
    try:
        server = ServeProcess(bench_config(tmp), redis_server.url, "--threads", str(args.threads), "--worker", args.worker)
        return asyncio.run(measure(args, server))
    finally:
        if server is not None:
            server.stop()
        redis_server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def _server_name(r: dict) -> str:
    return f"`onewindow serve --worker {r['worker']}` (--threads {r['threads']})"


def report(r: dict) -> None:
    lat, ping = r["latency_ms"], r["ping_ms"]
    print(f"\ncall -> display latency, {r['connected']}/{r['clients']} Socket.IO clients ({r['client_kind']}) on one "
          f"server process ({_server_name(r)}); connected in {r['connect_s']} s")
    print(f"  calls {r['calls']}, deliveries {r['deliveries']}, missing {r['missing']}; CPU per call cycle "
          f"(3 events to every client): server {r['server_cpu_ms_per_cycle']} ms, clients {r['bench_cpu_ms_per_cycle']} ms")
    print(f"  {'':28} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name, s in (("call -> display", lat), ("ping round trip (clock ack)", ping), ("call HTTP request", r["call_http_ms"])):
        print(f"  {name:28} {s['p50']:8.1f} {s['p99']:8.1f} {s['max']:8.1f}")
    ratio = {
        "p50_vs_ping_p50": lat["p50"] / ping["p50"] if ping["n"] else float("nan"),
        "p99_vs_ping_p99": lat["p99"] / ping["p99"] if ping["n"] else float("nan"),
    }
    print("  ratios: " + ", ".join(f"{k} {v:.1f}" for k, v in ratio.items()))
    verdict = "MET" if lat["p99"] < 100 and r["missing"] == 0 and r["connected"] == r["clients"] else "NOT MET"
    print(f"  target p99 < 100 ms with {r['clients']} clients and nothing missing: {verdict}")
    print(json.dumps({**r, "ratios": ratio}, ensure_ascii=False))


# ------------------------------------------------------------------------------------ burst and load (raw clients)
# Issues are public (no device token, as a phone's): a kiosk's issue also renders its printed ticket (the issue
# path's cost, bench/bench_api.py's business), which would throttle the burst below what the screens must absorb.
# Each issuing connection comes from an address of its own (127.0.0.2, .3 …): the public limits are per address.
ISSUER_HEADERS: dict[str, str] = {}
SOURCES = (f"127.0.0.{2 + i % 250}" for i in itertools.count())
SERVICES = ("renshe", "shichang")


async def open_screens(server: ServeProcess, n: int, deflate: bool) -> tuple[list[RawScreen], float]:
    """``n`` raw screens on ``/display`` (50 handshakes at a time); returns them and the seconds it took."""
    gate = asyncio.Semaphore(50)
    started = time.time()

    async def one():
        async with gate:
            try:
                return await RawScreen.open("127.0.0.1", server.port, NAMESPACE, deflate=deflate)
            except (OSError, ConnectionError, asyncio.TimeoutError) as exc:
                logger.debug("screen failed to connect: %s", exc)
                return None
    screens = [s for s in await asyncio.gather(*(one() for _ in range(n))) if s is not None]
    return screens, time.time() - started


def close_screens(screens: list[RawScreen]) -> None:
    for s in screens:
        s.close()


def screen_order(screen: RawScreen) -> tuple[int, int, int]:
    """(events, gaps, out-of-order or duplicate) of the ``seq`` numbers one screen received."""
    gaps = bad = 0
    last = None
    events = screen.events()
    for _, _, payload in events:
        seq = payload.get("seq")
        if last is not None:
            if seq <= last:
                bad += 1
            elif seq != last + 1:
                gaps += 1
        last = seq if last is None or seq > last else last
    return len(events), gaps, bad


class CPU:
    """CPU seconds of the server's processes and of this load generator over a span of wall time."""

    def __init__(self, server: ServeProcess) -> None:
        self.server = server
        self.t0, self.s0, self.g0 = time.time(), server.cpu_seconds(), time.process_time()

    def shares(self) -> dict:
        wall = time.time() - self.t0
        server, gen = self.server.cpu_seconds() - self.s0, time.process_time() - self.g0
        return {"wall_s": round(wall, 2), "server_cpu_s": round(server, 2), "generator_cpu_s": round(gen, 2),
                "server_cpu_share": round(server / wall, 2), "generator_cpu_share": round(gen / wall, 2)}


async def burst(args: argparse.Namespace, server: ServeProcess) -> dict:
    """``--burst`` issues as fast as ``--issuers`` connections can, with ``--burst-screens`` screens connected: how long
    after the last issue was answered did the last screen have the last ``ticket_issued``?"""
    screens, connect_s = await open_screens(server, args.burst_screens, args.deflate)
    logger.info("burst: %d/%d screens connected in %.1f s", len(screens), args.burst_screens, connect_s)
    await asyncio.sleep(1.0)
    cpu = CPU(server)
    answered: dict[str, float] = {}
    errors = 0
    todo = iter(range(args.burst))

    async def issuer():
        nonlocal errors
        http = RawHTTP("127.0.0.1", server.port, ISSUER_HEADERS, source=next(SOURCES))
        for i in todo:
            try:
                status, body = await http.post("/api/v1/tickets", {"service": SERVICES[i % len(SERVICES)]})
            except (OSError, asyncio.IncompleteReadError, ConnectionError):
                errors += 1
                continue
            if status != 201 and status != 200:
                errors += 1
                continue
            answered[body["ticket"]["id"]] = time.time()
        http.close()

    def engine_issuer(n: int) -> None:   # --burst-via engine: the hall's core, in this process, no HTTP
        from shared.config import load_config
        from shared.engine import Engine
        from shared.redis_client import connect
        engine = Engine(connect(args.redis_url), load_config(args.config_path))
        for i in range(n):
            ticket = engine.issue(SERVICES[i % len(SERVICES)]).ticket
            answered[ticket["id"]] = time.time()

    t0 = time.time()
    if args.burst_via == "engine":
        await asyncio.to_thread(engine_issuer, args.burst)
    else:
        await asyncio.gather(*(issuer() for _ in range(args.issuers)))
    last_issue = time.time()
    issue_s = last_issue - t0
    wanted = set(answered)

    def complete(s: RawScreen) -> bool:
        return len(s.frames) >= len(wanted) and wanted <= {p.get("ticket", {}).get("id") for _, n, p in s.events()
                                                            if n == "ticket_issued"}
    deadline = time.time() + args.settle
    while time.time() < deadline and sum(len(s.frames) for s in screens) < len(wanted) * len(screens):
        await asyncio.sleep(0.05)
    shares = cpu.shares()
    after_last, per_event, appended, missing, gaps, bad = [], [], [], 0, 0, 0
    for s in screens:
        got = {}
        for t, name, payload in s.events():
            if name == "ticket_issued":
                got[payload["ticket"]["id"]] = t
        missing += len(wanted - set(got))
        if got:
            after_last.append((max(got.values()) - last_issue) * 1000)
        per_event += [(got[i] - answered[i]) * 1000 for i in wanted if i in got]
        appended += [(t - p["ts"] / 1000) * 1000 for t, n, p in s.events() if n == "ticket_issued"]
        _, g, b = screen_order(s)
        gaps, bad = gaps + g, bad + b
    close_screens(screens)
    return {"via": args.burst_via, "screens": args.burst_screens, "connected": len(screens), "issued": len(wanted),
            "issue_errors": errors,
            "issue_s": round(issue_s, 2), "issues_per_s": round(len(wanted) / issue_s, 1),
            "last_screen_after_last_issue_ms": round(max(after_last), 1) if after_last else float("nan"),
            "median_screen_after_last_issue_ms": (round(statistics.median(after_last), 1) if after_last
                                                  else float("nan")),
            "issue_to_screen_ms": stats(per_event), "appended_to_screen_ms": stats(appended), "missing": missing,
            "server_cpu_ms_per_issue": round(shares["server_cpu_s"] * 1000 / max(1, len(wanted)), 2),
            "server_cpu_us_per_delivery": round(shares["server_cpu_s"] * 1e6 / max(1, len(wanted) * len(screens)), 1),
            "gaps": gaps, "out_of_order": bad,
            "cpu": shares, "complete": all(complete(s) for s in screens)}


async def load(args: argparse.Namespace, server: ServeProcess) -> dict:
    """``--load-screens`` screens; ``--rate`` issues/s arrive (open loop) for ``--load-seconds``; meanwhile window 1
    calls every ``--interval`` s: call → display per screen."""
    screens, connect_s = await open_screens(server, args.load_screens, args.deflate)
    logger.info("load: %d/%d screens connected in %.1f s", len(screens), args.load_screens, connect_s)
    await asyncio.sleep(1.0)
    pings = []
    for s in screens[:: max(1, len(screens) // 50)]:   # 50 clock round trips, one at a time, before the load
        t = time.time()
        try:
            await s.call("clock")
            pings.append((time.time() - t) * 1000)
        except asyncio.TimeoutError:
            pass
    for s in screens:   # from now on each screen reads its frames after the run (bench/raw_clients.py)
        s.defer()
    gc.collect()        # and this process does not stop the world to collect while it measures (its full
    gc.disable()        # collections took 100-400 ms, twice a second, with 500 screens' frames kept)
    cpu = CPU(server)
    stop = time.time() + args.load_seconds
    issued, late, errors = 0, [], 0
    pool: asyncio.Queue[RawHTTP] = asyncio.Queue()
    for _ in range(args.issuers * 4):
        pool.put_nowait(RawHTTP("127.0.0.1", server.port, ISSUER_HEADERS, source=next(SOURCES)))

    async def issue_one(i: int):
        nonlocal issued, errors
        http = await pool.get()
        try:
            status, _ = await http.post("/api/v1/tickets", {"service": SERVICES[i % len(SERVICES)]})
            issued += status in (200, 201)
            errors += status not in (200, 201)
        except (OSError, asyncio.IncompleteReadError, ConnectionError):
            errors += 1
        finally:
            pool.put_nowait(http)

    async def issuing():
        t0, i, tasks = time.time(), 0, set()
        while time.time() < stop:
            due = t0 + i / args.rate
            now = time.time()
            if due > now:
                await asyncio.sleep(due - now)
            else:
                late.append((now - due) * 1000)
            task = asyncio.create_task(issue_one(i))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            i += 1
        await asyncio.gather(*tasks)

    keypad = RawHTTP("127.0.0.1", server.port, {"Authorization": f"Bearer {KEYPAD_TOKEN}"})
    sent: dict[str, float] = {}
    http_ms: list[float] = []

    async def calling():
        while time.time() < stop:
            t0 = time.time()
            status, body = await keypad.post("/api/v1/windows/1/call-next", {})
            if status == 200 and body.get("ticket"):
                sent[body["ticket"]["id"]] = t0
                http_ms.append((time.time() - t0) * 1000)
                await keypad.post("/api/v1/windows/1/finish", {"outcome": "handled"})
            await asyncio.sleep(args.interval)

    issue_t0 = time.time()
    await asyncio.gather(issuing(), calling())
    issue_s = time.time() - issue_t0
    keypad.close()
    while not pool.empty():
        pool.get_nowait().close()
    deadline = time.time() + args.settle
    wanted = set(sent)

    def called(s):
        return {p["ticket"]["id"] for _, n, p in s.events() if n == "ticket_called"}
    while time.time() < deadline and any(len(wanted - called(s)) for s in screens[:: max(1, len(screens) // 20)]):
        await asyncio.sleep(0.2)
    shares = cpu.shares()
    latency, appended, missing, gaps, bad, frames = [], [], 0, 0, 0, 0
    for s in screens:
        got = {p["ticket"]["id"]: t for t, n, p in s.events() if n == "ticket_called"}
        missing += len(wanted - set(got))
        latency += [(got[i] - sent[i]) * 1000 for i in wanted if i in got]
        appended += [(t - p["ts"] / 1000) * 1000 for t, n, p in s.events() if n == "ticket_called"]
        n, g, b = screen_order(s)
        frames, gaps, bad = frames + n, gaps + g, bad + b
    close_screens(screens)
    gc.enable()   # (reading 500 screens' events makes millions of dicts: full collections would take minutes)
    return {"screens": args.load_screens, "connected": len(screens), "rate": args.rate,
            "issued": issued, "issued_per_s": round(issued / issue_s, 1), "issue_errors": errors,
            "issue_start_late_ms": stats(late), "calls": len(sent), "missing": missing, "gaps": gaps,
            "out_of_order": bad, "events_per_screen": round(frames / max(1, len(screens)), 1),
            "latency_ms": stats(latency), "appended_ms": stats(appended), "ping_ms": stats(pings),
            "server_cpu_us_per_delivery": round(shares["server_cpu_s"] * 1e6 / max(1, frames), 1),
            "call_http_ms": stats(http_ms), "cpu": shares}


def report_burst(r: dict) -> None:
    c = r["cpu"]
    print(f"\nburst ({r['via']}): {r['issued']} issues in {r['issue_s']} s ({r['issues_per_s']}/s, "
          f"{r['issue_errors']} errors) with "
          f"{r['connected']}/{r['screens']} screens connected")
    print(f"  last screen complete {r['last_screen_after_last_issue_ms']:.0f} ms after the last issue was answered "
          f"(median screen {r['median_screen_after_last_issue_ms']:.0f} ms); missing {r['missing']}, gaps {r['gaps']}, "
          f"out of order {r['out_of_order']}")
    e = r["issue_to_screen_ms"]
    print(f"  issue answered -> on a screen: p50 {e['p50']:.0f} ms, p99 {e['p99']:.0f} ms, max {e['max']:.0f} ms")
    e = r["appended_to_screen_ms"]
    print(f"  event appended -> on a screen: p50 {e['p50']:.0f} ms, p99 {e['p99']:.0f} ms, max {e['max']:.0f} ms")
    print(f"  server CPU: {r['server_cpu_ms_per_issue']} ms per issue, {r['server_cpu_us_per_delivery']} us per event "
          f"delivered to a screen (issue included)")
    print(f"  CPU over {c['wall_s']} s: server {c['server_cpu_share']:.2f} cores, load generator "
          f"{c['generator_cpu_share']:.2f} cores")
    ok = r["last_screen_after_last_issue_ms"] < 2000 and r["missing"] == 0 and not r["gaps"] and not r["out_of_order"]
    print("  target: every screen has every event, in order, within 2 s of the last issue: "
          + ("MET" if ok else "NOT MET"))
    print(json.dumps({"burst": r}, ensure_ascii=False))


def report_load(r: dict) -> None:
    lat, ping, c = r["latency_ms"], r["ping_ms"], r["cpu"]
    print(f"\nload: {r['connected']}/{r['screens']} screens, {r['issued_per_s']} issues/s arriving (asked "
          f"{r['rate']}/s, {r['issue_errors']} errors), {r['calls']} calls; {r['events_per_screen']} events per screen")
    print(f"  {'':28} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name, s in (("call -> display", lat), ("called appended -> display", r["appended_ms"]),
                    ("ping round trip (idle)", ping), ("call HTTP request", r["call_http_ms"]),
                    ("issue sent late (generator)", r["issue_start_late_ms"])):
        print(f"  {name:28} {s['p50']:8.1f} {s['p99']:8.1f} {s['max']:8.1f}")
    print(f"  missing {r['missing']}, gaps {r['gaps']}, out of order {r['out_of_order']}; server CPU "
          f"{r['server_cpu_us_per_delivery']} us per event delivered to a screen (issuing included)")
    print(f"  CPU over {c['wall_s']} s: server {c['server_cpu_share']:.2f} cores, load generator "
          f"{c['generator_cpu_share']:.2f} cores")
    ok = lat["p99"] < 100 and r["missing"] == 0 and not r["gaps"] and not r["out_of_order"]
    print(f"  target: call -> display p99 < 100 ms with {r['screens']} screens at {r['rate']} issues/s: "
          f"{'MET' if ok else 'NOT MET'}")
    print(json.dumps({"load": r}, ensure_ascii=False))


def run_raw(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="ow-bench-display-"))
    redis_server = EmbeddedRedis(tmp / "redis").start()
    server = None
    try:
        args.config_path, args.redis_url = bench_config(tmp), redis_server.url
        server = ServeProcess(args.config_path, redis_server.url, "--threads", str(args.threads),
                              "--worker", args.worker)

        async def both():
            if args.scenario in ("burst", "all"):
                report_burst(await burst(args, server))
            if args.scenario in ("load", "all"):
                report_load(await load(args, server))
        asyncio.run(both())
    finally:
        if server is not None:
            server.stop()
        redis_server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=("all", "burst", "load", "calls"), default="all",
                        help="burst and load: raw WebSocket screens (bench/raw_clients.py); calls: python-socketio "
                             "clients, one call at a time; all: burst then load")
    parser.add_argument("--burst", type=int, default=700, help="issues in the burst")
    parser.add_argument("--burst-screens", type=int, default=50)
    parser.add_argument("--burst-via", choices=("http", "engine"), default="http",
                        help="http: POST /api/v1/tickets (the issue path included); engine: the core's issue() from "
                             "this process, straight to Redis (the display path alone, at the core's pace)")
    parser.add_argument("--issuers", type=int, default=8, help="HTTP connections issuing in the burst")
    parser.add_argument("--load-screens", type=int, default=500)
    parser.add_argument("--rate", type=float, default=200, help="issues per second during the load")
    parser.add_argument("--load-seconds", type=float, default=15)
    parser.add_argument("--settle", type=float, default=30, help="seconds to wait for the screens to catch up")
    parser.add_argument("--deflate", action="store_true",
                        help="screens offer permessage-deflate, as browsers do (default: no, as python-socketio)")
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--client", choices=("asyncio", "threads"), default="asyncio" if HAVE_AIOHTTP else "threads",
                        help="asyncio: socketio.AsyncClient (needs aiohttp); threads: socketio.Client")
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--interval", type=float, default=0.3, help="seconds between one event and the next")
    parser.add_argument("--ping-rounds", type=int, default=2, help="pings per client (one client at a time)")
    parser.add_argument("--threads", type=int, default=1000,
                        help="sockets the server holds (onewindow serve --threads)")
    parser.add_argument("--worker", choices=("gthread", "gevent"), default="gevent",
                        help="onewindow serve --worker: gthread (default) or gevent (needs the gevent extra)")
    parser.add_argument("--deadline", type=float, default=240, help="hard limit for the whole run, seconds")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("socketio").setLevel(logging.ERROR)
    logging.getLogger("engineio").setLevel(logging.ERROR)

    # The whole run is bounded: past the deadline the process ends (the server is in its own session group
    # and is stopped by run()'s finally on the way out; SIGALRM interrupts a stuck main thread).
    def _timeout(*_):
        raise TimeoutError(f"bench exceeded {args.deadline:.0f} s")

    signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(int(args.deadline))
    try:
        if args.scenario == "calls":
            report(run(args))
        else:
            run_raw(args)
    finally:
        signal.alarm(0)
    return 0


if __name__ == "__main__":
    os._exit(main())  # do not wait for client threads that are still closing
