"""What "exactly once" costs: the memory of the remembered answers of a busy day, and the time of the runner's
epilogue next to the same script run bare.

Run: ``.venv/bin/python bench/bench_once.py`` (about half a minute; a private embedded Redis on loopback, stopped at
the end). Ratios are measured in one run, so a noisy shared machine still gives comparable figures.

The day: 2,000 tickets with a kiosk ``request_id`` (answers kept 24 h), each called and finished by a clerk page
that sends an ``Idempotency-Key`` (kept 24 h), one in ten recalled — the shipped hall, quotas raised to let the day
through. Memory is Redis's own ``MEMORY USAGE`` of each key.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared import idempotency  # noqa: E402
from shared.clock import FixedClock  # noqa: E402
from shared.config import load_config  # noqa: E402
from shared.embedded import EmbeddedRedis  # noqa: E402
from shared.engine import Engine  # noqa: E402
from shared.errors import ConflictError  # noqa: E402
from shared.redis_client import connect  # noqa: E402


def memory(r, pattern: str) -> tuple[int, int]:
    """(keys, bytes) of the keys matching ``pattern``."""
    keys = list(r.scan_iter(pattern, count=1000))
    return len(keys), sum(r.memory_usage(k) or 0 for k in keys)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3000, help="script runs per timing sample")
    args = parser.parse_args()

    config = load_config(ROOT / "config.toml")
    config = replace(config, services={c: replace(s, daily_quota=10_000) for c, s in config.services.items()})
    clock = FixedClock(config.timezone, datetime(2026, 11, 27, 10, 0, tzinfo=config.timezone))  # a Friday
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp)) as server:
        r = connect(server.url)
        engine = Engine(r, config, clock)
        codes = [c for c in config.services if c != "lingdao"]
        for i in range(args.tickets):
            engine.issue(codes[i % len(codes)], request_id=f"kiosk-tap-{i:06d}")
        windows = sorted(config.windows)
        served = 0
        for i in range(args.tickets * 2):
            w = windows[i % len(windows)]
            with idempotency.using(idempotency.keyed("bench", "clerk page", str(i))):
                try:
                    engine.call_next(w)
                except ConflictError:
                    continue
                if i % 10 == 0:
                    engine.recall(w)
                engine.finish(w, "handled")
            served += 1
            if served == args.tickets:
                break
        day = engine.today()
        ops, op_bytes = memory(r, f"{engine.keys.base}:op:*")
        _, ticket_bytes = memory(r, engine.keys.tickets(day))
        _, stream_bytes = memory(r, engine.keys.events)
        print(f"a day of {args.tickets} tickets, {served} served: {ops} remembered answers, "
              f"{op_bytes / 1e6:.2f} MB ({op_bytes / ops:.0f} bytes each, {op_bytes / args.tickets:.0f} per ticket)")
        print(f"  remembered answers / tickets hash: {op_bytes / ticket_bytes:.2f}x; / event stream: "
              f"{op_bytes / stream_bytes:.2f}x; all of them expire after 24 h (1 h without a client key)")

        # time: recall through the runner (epilogue, operation key) vs the same prelude+script registered bare
        engine.issue("renshe")
        engine.call_next(1)
        bare = r.register_script(_bare("recall"))
        keys = [engine.keys.seq, engine.keys.events, engine.keys.tickets(day), engine.keys.window(1),
                engine.keys.recent_calls]
        argv = [1, clock.now_ms(), "bench", config.display.recent_calls]
        samples = {"runner": [], "bare": []}
        for _round in range(5):
            for name in ("runner", "bare"):
                started = time.perf_counter()
                for _ in range(args.runs):
                    if name == "runner":
                        engine.runner.run("recall", keys[2:], argv)  # the runner puts seq and events first
                    else:
                        bare(keys=keys, args=argv)
                samples[name].append((time.perf_counter() - started) / args.runs * 1e6)
        runner, plain = statistics.median(samples["runner"]), statistics.median(samples["bare"])
        print(f"recall: {runner:.0f} µs through the runner, {plain:.0f} µs bare: {runner / plain:.2f}x "
              f"(the price of exactly once per state change)")
        r.close()


def _bare(name: str) -> str:
    lua = ROOT / "shared" / "lua"
    return (lua / "_prelude.lua").read_text(encoding="utf-8") + "\n" + (lua / f"{name}.lua").read_text(encoding="utf-8")


if __name__ == "__main__":
    main()
