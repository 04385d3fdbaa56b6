"""Statistics over a year of history: every report of a 2,000-ticket-a-day hall must answer in under one second.

Run: ``.venv/bin/python bench/bench_stats.py`` (generates the year into a temporary archive — about a minute —
then times each report a few times; add ``--days 30`` for a quick look). Loopback only; stops by itself.

The history is generated straight into the archive (the same writer and aggregation the archiver uses, with the
shipped hall's services, windows, clerks and calendar); the reports then go through :class:`shared.stats.Stats`,
exactly as the supervisor page asks for them. The time printed for each report is the median of the runs.
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared.clock import FixedClock  # noqa: E402
from shared.config import Config, load_config  # noqa: E402
from shared.embedded import EmbeddedRedis  # noqa: E402
from shared.engine import Engine  # noqa: E402
from shared.schedule import day_plan  # noqa: E402
from shared.stats import Archive, Stats, report_csv  # noqa: E402
from shared.stats.charts import CHARTS, trend_grouping  # noqa: E402
from shared.stats.facts import CaseFact, DayFacts, Resolution, TicketFact, TransferFact  # noqa: E402
from shared.stats.figures import aggregate  # noqa: E402
from shared.stats.transfers import transfer_report, transfers_csv  # noqa: E402
from shared.redis_client import connect  # noqa: E402

logger = logging.getLogger("bench.stats")
BUDGET_MS = 1000.0
# share of the day's tickets issued in each hour (a government hall: a morning peak, a smaller afternoon one)
HOUR_LOAD = {8: 6, 9: 16, 10: 15, 11: 9, 14: 14, 15: 13, 16: 10, 17: 3}
SERVICE_WEIGHT = {"renshe": 30, "shichang": 22, "gongan": 20, "sifa": 6, "sheqi": 12, "bubancheng": 3, "lingdao": 2}
LEVELS = (5,) * 80 + (4,) * 14 + (3,) * 4 + (2,) + (1,)  # 好差评: mostly 非常满意


def _ms(tz, day: date, minute: float) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=tz).timestamp() * 1000 + minute * 60000)


def generate_day(config: Config, day: date, per_day: int, rng: random.Random, case_seq: list[int]) -> DayFacts | None:
    """One day of plausible facts, following the hall's calendar (weekends: the weekend services, fewer people)."""
    plan = day_plan(config, day)
    if not plan.services:
        return None
    tz = config.timezone
    facts = DayFacts(day.isoformat())
    volume = per_day if not plan.rest_day else per_day // 6
    codes = [c for c in plan.services if c in SERVICE_WEIGHT]
    weights = [SERVICE_WEIGHT[c] for c in codes]
    numbers = {c: 0 for c in codes}
    hours = [h for h in HOUR_LOAD if any(p.start_min <= h * 60 + 30 < p.end_min for ps in plan.services.values() for p in ps)]
    serving = {c: [n for n in plan.windows if c in config.windows[n].services] for c in codes}
    compact = day.strftime("%Y%m%d")
    for _ in range(volume):
        code = rng.choices(codes, weights)[0]
        numbers[code] += 1
        svc = config.services[code]
        number = f"{svc.prefix}{numbers[code]:03d}"
        issued_min = rng.choice(hours) * 60 + rng.random() * 60 if hours else 9 * 60
        t = TicketFact(id=f"{compact}-{number}", day=facts.day, number=number, service_issued=code, service=code,
                       priority=rng.random() < 0.04, issued_ms=_ms(tz, day, issued_min))
        facts.tickets[t.id] = t
        r = rng.random()
        if r < 0.03:
            t.status, t.end_ms = "cancelled", t.issued_ms + int(rng.expovariate(1 / 600) * 1000)
            continue
        if r < 0.035:
            continue  # still waiting at closing time
        window = rng.choice(serving[code] or list(plan.windows) or [1])
        clerk = f"clerk{window}"
        wait_ms = int(rng.expovariate(1 / (svc.avg_service_minutes * 60 * 1.4)) * 1000)
        t.first_call_ms = t.last_call_ms = t.issued_ms + wait_ms
        t.first_window, t.first_clerk, t.window, t.clerk = window, clerk, window, clerk
        if r < 0.08:
            t.status, t.end_ms = "no_show", t.first_call_ms + 60000
            continue
        if r < 0.10 and code != "bubancheng" and "bubancheng" in plan.services:
            target = (serving.get("bubancheng") or [window])[0]
            moved = t.first_call_ms + int(rng.uniform(60, 300) * 1000)
            facts.transfers.append(TransferFact(facts.day, t.id, moved, code, window, clerk, "bubancheng", None))
            t.transfers, t.service = 1, "bubancheng"
            t.last_call_ms = moved + int(rng.expovariate(1 / 300) * 1000)
            t.window, t.clerk = target, f"clerk{target}"
        t.service_ms = int(max(30, rng.gauss(svc.avg_service_minutes * 60, svc.avg_service_minutes * 20)) * 1000)
        t.end_ms = t.last_call_ms + t.service_ms
        t.status = "handled" if rng.random() < 0.58 else "consulted"
        if rng.random() < 0.62:
            t.rating, t.rated_ms = rng.choice(LEVELS), t.end_ms + 8000
            t.rating_window, t.rating_clerk = t.window, t.clerk
            if t.rating <= 2 and rng.random() < 0.97:
                facts.resolutions[("rating", t.id)] = Resolution("rating", t.id, facts.day, "supervisor", "已回访", t.end_ms + 86400000)
        if t.service == "bubancheng":
            case_seq[0] += 1
            cid = f"C{case_seq[0]:06d}"
            resolved = rng.random() < 0.9
            facts.cases[cid] = CaseFact(cid, facts.day, t.id, t.number, "bubancheng", t.window, t.clerk, "区市场监管局",
                                        "材料不齐，需部门协调", "已联系承办部门", resolved, t.end_ms)
            if not resolved and rng.random() < 0.95:
                facts.resolutions[("case", cid)] = Resolution("case", cid, facts.day, "supervisor", "已协调办结", t.end_ms + 3600000)
    facts.last_seq = len(facts.tickets) * 5
    facts.events = facts.last_seq
    return facts


def generate(config: Config, archive: Archive, start: date, days: int, per_day: int, seed: int = 6) -> int:
    """Write ``days`` days of history from ``start`` into ``archive``; returns the number of tickets."""
    rng = random.Random(seed)
    case_seq = [0]
    total = 0
    for i in range(days):
        day = start + timedelta(days=i)
        facts = generate_day(config, day, per_day, rng, case_seq)
        if facts is None:
            continue
        plan = day_plan(config, day)
        archive.write_day(facts, aggregate(facts, plan.kind, plan.rest_day, config.timezone), 0, update_month=False)
        total += len(facts.tickets)
    months = sorted({(start + timedelta(days=i)).isoformat()[:7] for i in range(days)})
    for month in months:  # once per month rather than after every day
        archive.rebuild_month(month)
    return total


def timed(fn, runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--per-day", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--archive", help="keep the generated archive at this path (default: a temporary file)")
    parser.add_argument("--reuse", action="store_true", help="time an archive made by an earlier --archive run")
    args = parser.parse_args(argv)
    logging.basicConfig(level="INFO", format="%(message)s")

    config = load_config(ROOT / "config.toml")
    first = date(2025, 1, 1)
    last = first + timedelta(days=args.days - 1)
    with tempfile.TemporaryDirectory(prefix="ow-bench-stats-") as tmp:
        path = Path(args.archive) if args.archive else Path(tmp) / "stats.sqlite3"
        if args.reuse and not path.exists():
            parser.error(f"--reuse: no archive at {path}")
        if path.exists() and not args.reuse:
            parser.error(f"{path} exists: remove it, or time it with --reuse")
        archive = Archive(path)
        t0 = time.perf_counter()
        tickets = archive.days() and sum(d["tickets"] for d in archive.days().values()) if args.reuse else \
            generate(config, archive, first, args.days, args.per_day)
        gen_s = time.perf_counter() - t0
        size_mb = path.stat().st_size / 1e6
        print(f"history: {args.days} days from {first} ({tickets:,} tickets, {args.per_day:,}/working day) "
              f"{'reused' if args.reuse else 'generated and archived'} in {gen_s:.1f} s; archive {size_mb:.0f} MB")

        server = EmbeddedRedis(Path(tmp) / "redis").start()
        client = connect(server.url)
        try:
            clock = FixedClock(config.timezone, datetime(last.year, last.month, last.day, 18, 0, tzinfo=config.timezone))
            stats = Stats(Engine(client, config, clock), archive)
            cases = [(f"report by={by}", (lambda by=by: stats.report(first, last, by)))
                     for by in ("total", "day", "week", "month", "daytype", "service", "window", "clerk", "hour")]
            cases += [
                ("cumulative (daytype + service)", stats.cumulative),
                ("CSV by=service", lambda: report_csv(stats.report(first, last, "service"))),
                ("follow-up list", lambda: stats.followups("open")),
                ("transfers by=window (转办分析)", lambda: transfer_report(stats, first, last, "window")),
                ("transfers CSV by=month", lambda: transfers_csv(transfer_report(stats, first, last, "month"))),
            ]
            for name, (by, draw) in CHARTS.items():
                grouping = by or trend_grouping(args.days)
                cases.append((f"chart {name}.svg", lambda g=grouping, d=draw: d(stats.report(first, last, g)["rows"])))
            print(f"{'query over the whole range':34s} {'median ms':>10s} {'÷ 1 s budget':>13s}")
            worst = 0.0
            for name, fn in cases:
                ms, _ = timed(fn, args.runs)
                worst = max(worst, ms)
                print(f"{name:34s} {ms:10.1f} {ms / BUDGET_MS:13.2f}")
            one = stats.report(first, last, "total")["total"]["figures"]
            print(f"check: issued {one['issued']:,}, handled {one['handled']:,}, consulted {one['consulted']:,}, "
                  f"satisfaction {one['satisfaction_rate']}% of {one['ratings']:,} ratings, "
                  f"median wait {one['wait']['median_s']} s")
            print(f"slowest: {worst:.0f} ms = {worst / BUDGET_MS:.2f} of the budget -> "
                  f"{'OK' if worst < BUDGET_MS else 'TOO SLOW'}")
        finally:
            client.close()
            server.stop()
    return 0 if worst < BUDGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
