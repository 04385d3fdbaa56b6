"""What real-name service costs at the kiosk, engine level: a check-in that issues the appointment's ticket (the card
read checked and hashed, the booking found by the card, check_in.lua) and a real-name walk-in (hashed, the per-ID
rules in issue.lua), each next to a plain issue — as ratios measured in one run.

Run: ``.venv/bin/python bench/bench_checkin.py`` (about half a minute; a private embedded Redis on loopback, stopped
at the end). The batches of the three kinds take turns, so a noisy shared machine slows them alike; the ratio of
the medians is what to read. (The HTTP path comes with the kiosk's wiring.)

The hall: the shipped config, quotas raised, 人社综合 taking appointments all day (capacity enough for the run),
the per-ID rules on (one open ticket per person, a daily cap, the no-show ban, 绿色通道 from 70). Every check-in is
a different person with a confirmed booking for the current slot.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared import bookings  # noqa: E402
from shared.cardreader_sim import make_number  # noqa: E402
from shared.checkin import check_in  # noqa: E402
from shared.clock import FixedClock  # noqa: E402
from shared.config import AppointmentSettings, IdRules, Period, load_config  # noqa: E402
from shared.embedded import EmbeddedRedis  # noqa: E402
from shared.engine import Engine  # noqa: E402
from shared.identity import identify  # noqa: E402
from shared.redis_client import connect  # noqa: E402

ALL_DAY = (Period(0, 24 * 60),)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1500, help="check-ins (and tickets of each other kind)")
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()

    config = load_config(ROOT / "config.toml")
    rules = IdRules(max_open=1, daily_cap=3, noshow_limit=3, noshow_days=30, ban_days=30, green_age=70)
    appointments = AppointmentSettings(slot_minutes=60, capacity=args.people, hours={d: ALL_DAY for d in range(7)},
                                       early_minutes=60, late_minutes=60)
    services = {c: replace(s, daily_quota=9999, hours={d: ALL_DAY for d in range(7)}, id_rules=rules,
                           appointments=appointments if c == "renshe" else None)
                for c, s in config.services.items()}
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp) / "redis") as server:
        config = replace(config, services=services, var_dir=Path(tmp) / "var")
        clock = FixedClock(config.timezone, datetime(2026, 11, 26, 16, 0, tzinfo=config.timezone))
        engine = Engine(connect(server.url), config, clock)
        today = date(2026, 11, 27)
        people = [make_number("340404", date(1960 + i % 40, 1 + i % 12, 1 + i % 28), i % 1000) for i in
                  range(args.people)]
        walkers = [make_number("340421", date(1960 + i % 40, 1 + i % 12, 1 + i % 28), i % 1000) for i in
                   range(args.people)]
        people = [p for p in dict.fromkeys(people)]
        for number in people:  # the day before: everyone books 10:00
            held = bookings.hold(engine, "renshe", "2026-11-27T10:00", identify(config, number, today=today))
            bookings.confirm(engine, held["code"])
        clock.set(datetime(2026, 11, 27, 10, 0, tzinfo=config.timezone))

        def plain() -> None:
            engine.issue("shichang")

        def realname(number: str) -> None:
            engine.issue("sheqi", identity=identify(config, number, today=today))

        def checkin(number: str) -> None:
            check_in(engine, identity=identify(config, number, today=today))

        samples: dict[str, list[float]] = {"plain issue": [], "real-name issue": [], "check-in + issue": []}
        n = min(len(people), len(walkers))
        for start in range(0, n - args.batch + 1, args.batch):
            for name in samples:
                began = time.perf_counter()
                for i in range(start, start + args.batch):
                    if name == "plain issue":
                        plain()
                    elif name == "real-name issue":
                        realname(walkers[i])
                    else:
                        checkin(people[i])
                samples[name].append((time.perf_counter() - began) / args.batch * 1e6)
        base = statistics.median(samples["plain issue"])
        for name, values in samples.items():
            m = statistics.median(values)
            print(f"{name:18} {m:7.0f} µs per ticket (median of {len(values)} batches of {args.batch}): "
                  f"{m / base:.2f}x a plain issue")
        waiting = engine.redis.zcard(engine.keys.queue("20261127", "renshe"))
        print(f"(check-ins issued {waiting} appointment tickets; every one in the appointment band)")


if __name__ == "__main__":
    main()
