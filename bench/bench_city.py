"""City figures over several halls' history: what summing N halls' reports costs beyond the N reports themselves.

Run: ``.venv/bin/python bench/bench_city.py`` (default: 5 halls × 90 days × 1,000 tickets a working day, generated
straight into each hall's archive with bench_stats.py's generator; ``--halls 20 --days 30`` for many small halls).
Loopback only; stops by itself.

For each grouping it times, in one run, the N halls' own reports one after the other and the city report of the same
range (shared/stats/city.py: the halls' rows as accumulators, added, the figures computed once from the union), and
prints the ratio city ÷ sum of halls — the price of adding the halls up instead of averaging their figures — and the
city report against the 1 s budget a hall's report has (docs/statistics.md). It also checks that the city's counts
are the halls' counts added.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_stats import BUDGET_MS, generate, timed  # noqa: E402

from shared.clock import FixedClock  # noqa: E402
from shared.config import load_config  # noqa: E402
from shared.embedded import EmbeddedRedis  # noqa: E402
from shared.engine import Engine  # noqa: E402
from shared.redis_client import connect  # noqa: E402
from shared.stats import Archive, Stats  # noqa: E402
from shared.stats.city import CityStats, city_report_csv  # noqa: E402

GROUPINGS = ("total", "hall", "day", "month", "daytype", "service", "window", "hour")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--halls", type=int, default=5)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--per-day", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    logging.basicConfig(level="WARNING", format="%(message)s")

    shipped = load_config(ROOT / "config.toml")
    first = date(2025, 1, 1)
    last = first + timedelta(days=args.days - 1)
    with tempfile.TemporaryDirectory(prefix="ow-bench-city-") as tmp:
        server = EmbeddedRedis(Path(tmp) / "redis").start()
        client = connect(server.url)
        try:
            clock = FixedClock(shipped.timezone, datetime(last.year, last.month, last.day, 18, 0, tzinfo=shipped.timezone))
            halls, tickets = [], 0
            for i in range(args.halls):
                config = dataclasses.replace(shipped, hall_id=f"hall{i + 1:02d}", hall_name=f"第{i + 1}政务服务中心")
                archive = Archive(Path(tmp) / f"hall{i + 1:02d}.sqlite3")
                tickets += generate(config, archive, first, args.days, args.per_day, seed=6 + i)
                halls.append(Stats(Engine(client, config, clock), archive))
            city = CityStats(halls, "测试市")
            print(f"history: {args.halls} halls × {args.days} days from {first}, {tickets:,} tickets in all")
            print(f"{'grouping':10s} {'halls one by one ms':>20s} {'city ms':>9s} {'city ÷ halls':>13s} {'city ÷ 1 s':>11s}")
            worst = 0.0
            for by in GROUPINGS:
                own = "total" if by == "hall" else by
                halls_ms, _ = timed(lambda own=own: [s.report(first, last, own) for s in halls], args.runs)
                city_ms, rep = timed(lambda by=by: city.report(first, last, by), args.runs)
                worst = max(worst, city_ms)
                print(f"{by:10s} {halls_ms:20.1f} {city_ms:9.1f} {city_ms / halls_ms:13.2f} {city_ms / BUDGET_MS:11.2f}")
            csv_ms, _ = timed(lambda: city_report_csv(city.report(first, last, "service")), args.runs)
            print(f"{'CSV':10s} {'':20s} {csv_ms:9.1f} {'':13s} {csv_ms / BUDGET_MS:11.2f}")
            total = city.report(first, last)["total"]["figures"]
            added = sum(s.report(first, last)["total"]["figures"]["issued"] for s in halls)
            assert total["issued"] == added == tickets, (total["issued"], added, tickets)
            print(f"check: city issued {total['issued']:,} = the halls' {added:,}; median wait {total['wait']['median_s']} s "
                  f"over {total['wait']['n']:,} waits; satisfaction {total['satisfaction_rate']}%")
            print(f"slowest city report: {worst:.0f} ms = {worst / BUDGET_MS:.2f} of the budget")
        finally:
            client.close()
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
