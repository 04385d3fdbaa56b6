"""The demo hall: the configured hall, open round the clock in its own var directory, with simulated traffic.

``onewindow serve --demo`` (``make demo``) serves :func:`demo_config` of the real config — every service open
00:00–24:00 every day, no holidays, no early stop, data in ``<var_dir>/demo`` with its own embedded Redis — and runs
a :class:`HallSimulator` beside the server (a config directory: every hall so, :func:`demo_deployment`, one simulator
per hall): citizens take tickets, clerks call, finish (办件 or 咨询) or mark
no-shows, and citizens rate, through the same engine operations the web edge uses. Within seconds the display
calls numbers, the phone page moves and the supervisor's figures are non-zero.

Where the hall's config turns them on, the simulated citizens also come with ID cards (made-up numbers:
:func:`shared.cardreader_sim.make_number`; some of them 70 or older) for services with per-ID rules, book the next
slot of a service that takes appointments and check in at once (their ticket waits for its slot), and take remote
tickets — most check in a little later, some never do and lapse when their turn comes.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass, replace

import redis

from datetime import date

from shared import bookings, ratings, remote
from shared.cardreader_sim import make_number
from shared.checkin import check_in
from shared.config import Config, Deployment, Period, Schedule, hall_key_file, with_hall_files
from shared.engine import Engine
from shared.errors import OneWindowError
from shared.window_view import window_state
from shared.identity import identify

logger = logging.getLogger(__name__)

ALL_DAY = (Period(0, 24 * 60),)
DEMO_DIR = "demo"


def demo_config(config: Config) -> Config:
    """``config`` open all day every day, its data under ``<var_dir>/demo`` and no external Redis."""
    services = {code: replace(svc, hours={d: ALL_DAY for d in range(7)}, daily_quota=9999)
                for code, svc in config.services.items()}
    var_dir = config.var_dir / DEMO_DIR
    printer = dict(config.printer)
    printer.pop("preview_dir", None)
    if printer.get("backend", "preview") != "preview":  # never print demo tickets on the hall's real printer
        printer = {"backend": "preview"}
    return replace(config, services=services, schedule=Schedule(), redis_url="", var_dir=var_dir, printer=printer,
                   statistics=replace(config.statistics, archive_path=None, start_date=None),
                   notice="演示模式：全天开放，模拟的取号、叫号与评价。" + (config.notice or ""),
                   notice_en="Demo mode: open all day, with simulated tickets, calls and ratings. " +
                             (config.notice_en or ""))


def demo_deployment(deployment: Deployment) -> Deployment:
    """Every hall of ``deployment`` as :func:`demo_config` makes it: open all day, simulated traffic. A config
    directory (a city) keeps one var directory for the process, ``<var_dir>/demo`` (its embedded Redis, its session
    key), and each hall its own files under ``<var_dir>/demo/halls/<hall id>/`` (statistics archive, ticket previews
    and, unless the hall's file names one, its real-name key): the demo never touches a hall's real data."""
    if deployment.city is None:
        return Deployment(city=None, halls=[demo_config(config) for config in deployment.halls])
    halls = []
    for config in deployment.halls:
        demo = demo_config(config)  # no archive, no preview folder: with_hall_files gives the demo's own
        if config.realname.secret_file == hall_key_file(config):  # the hall's own default key: the demo's own too
            demo = replace(demo, realname=replace(demo.realname, secret_file=None))
        halls.append(with_hall_files(demo))
    return Deployment(city=deployment.city, halls=halls)


@dataclass
class _Desk:
    """What the simulated clerk at one window is doing."""

    busy_until: float = 0.0  # monotonic time the current citizen is done
    rated: str = ""  # ticket to rate once finished


class HallSimulator:
    """Simulated hall traffic in a background thread; ``stop()`` ends it. Seeded for repeatable runs."""

    def __init__(self, engine: Engine, *, pace: float = 1.0, seed: int | None = None, max_waiting: int = 40) -> None:
        self.engine = engine
        self.pace = pace  # 1.0: a ticket every ~1.5 s, service 4–15 s
        self.rng = random.Random(seed)
        self.max_waiting = max_waiting
        self.desks = {n: _Desk() for n in engine.config.windows}
        self.counts = {"issued": 0, "called": 0, "finished": 0, "no_show": 0, "rated": 0, "booked": 0, "remote": 0}
        self._arrivals: list[tuple[float, str]] = []  # (when, tracking token) of remote tickets still to check in
        self._person = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_issue = 0.0

    def start(self) -> HallSimulator:
        self._thread = threading.Thread(target=self._run, name="onewindow-demo", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        for _ in range(min(8, 2 * len(self.desks))):  # a queue to start from, so the first calls come at once
            self._issue()
        while not self._stop.is_set():
            try:
                self.step(time.monotonic())
            except redis.RedisError as exc:
                logger.warning("demo: Redis unavailable (%s)", exc)
                self._stop.wait(1.0)
            except Exception:  # keep the hall alive whatever one step did
                logger.exception("demo step failed")
            self._stop.wait(0.25 / self.pace)

    def step(self, now: float) -> None:
        """One round: maybe a new ticket; every window finishes, rates and calls when its time has come."""
        if now >= self._next_issue:
            self._next_issue = now + self.rng.uniform(0.6, 2.4) / self.pace
            waiting = sum(s["waiting"] for s in self.engine.services_overview())
            if waiting < self.max_waiting:
                roll = self.rng.random()
                if not ((roll < 0.12 and self._book()) or (0.12 <= roll < 0.22 and self._remote(now))):
                    self._issue()
        for when, token in [a for a in self._arrivals if a[0] <= now]:
            self._arrivals.remove((when, token))
            try:
                check_in(self.engine, code=token, kiosk="demo")
            except OneWindowError as exc:  # lapsed meanwhile: its turn came first
                logger.debug("demo remote check-in: %s", exc)
        for number, desk in self.desks.items():
            if now < desk.busy_until:
                continue
            self._serve(number, desk, now)

    def _someone(self):
        """A made-up citizen's card (one in eight is 70 or older)."""
        self._person += 1
        today = self.engine.clock.business_date()
        born = date(self.rng.randint(1946, 1955) if self.rng.random() < 0.125 else self.rng.randint(1960, 2006),
                    self.rng.randint(1, 12), self.rng.randint(1, 28))
        return identify(self.engine.config, make_number("340404", born, self._person % 1000), today=today,
                        source="card")

    def _issue(self) -> None:
        codes = list(self.engine.config.services)
        weights = [3 if i < 3 else 1 for i in range(len(codes))]  # the first departments are the busy ones
        code = self.rng.choices(codes, weights)[0]
        svc = self.engine.config.services[code]
        rules = svc.id_rules
        carded = rules.required or (bool(rules.max_open or rules.daily_cap or rules.green_age)
                                    and self.rng.random() < 0.7)  # most tap their card where it matters
        try:
            self.engine.issue(code, priority=self.rng.random() < 0.05, lang="zh",
                              identity=self._someone() if carded else None)
            self.counts["issued"] += 1
        except OneWindowError as exc:
            logger.debug("demo issue %s: %s", code, exc)

    def _book(self) -> bool:
        """Book the next slot of a service that takes appointments, and check in at once."""
        codes = [c for c, s in self.engine.config.services.items() if s.appointments]
        if not codes:
            return False
        code = self.rng.choice(codes)
        try:
            free = [s for s in bookings.slots(self.engine, code, self.engine.clock.business_date()) if s["bookable"]]
            if not free:
                return False
            who = self._someone()
            held = bookings.hold(self.engine, code, free[0]["start"], who, channel="phone")
            bookings.confirm(self.engine, held["code"])
            check_in(self.engine, identity=who, kiosk="demo")
            self.counts["booked"] += 1
            return True
        except OneWindowError as exc:  # too early for its window, full, …: an ordinary ticket instead
            logger.debug("demo booking %s: %s", code, exc)
            return False

    def _remote(self, now: float) -> bool:
        """A remote ticket; most holders check in within seconds, one in four never comes."""
        codes = [c for c, s in self.engine.config.services.items() if s.remote.enabled]
        if not codes:
            return False
        try:
            t = remote.take(self.engine, self.rng.choice(codes), self._someone()).ticket
        except OneWindowError as exc:
            logger.debug("demo remote: %s", exc)
            return False
        self.counts["remote"] += 1
        if self.rng.random() < 0.75:
            self._arrivals.append((now + self.rng.uniform(0, 1) / self.pace, t["token"]))
        return True

    def _serve(self, number: int, desk: _Desk, now: float) -> None:
        clerk = f"demo-clerk{number}"
        state = window_state(self.engine, number)
        if state["paused"]:
            return
        try:
            if state["current"] is not None:
                roll = self.rng.random()
                if roll < 0.06:
                    self.engine.no_show(number, clerk)
                    self.counts["no_show"] += 1
                else:
                    self.engine.finish(number, "consulted" if roll < 0.3 else "handled", clerk)
                    self.counts["finished"] += 1
                    if self.rng.random() < 0.8:
                        level = self.rng.choices([5, 4, 3, 2, 1], [70, 18, 7, 3, 2])[0]
                        ratings.rate(self.engine, number, state["current"]["id"], level)
                        self.counts["rated"] += 1
            self.engine.call_next(number, clerk)
            self.counts["called"] += 1
            desk.busy_until = now + self.rng.uniform(4, 15) / self.pace
        except OneWindowError as exc:  # nothing waiting for this window: look again in a moment
            logger.debug("demo window %s: %s", number, exc)
            desk.busy_until = now + self.rng.uniform(1, 3) / self.pace
