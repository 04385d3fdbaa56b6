"""The hall's calendar: which services and windows open on a date, and is a service issuing tickets right now.

Two sources, the later winning for its date:

1. the config: each service's hours per weekday (``weekday`` / ``weekend`` / a day name), public holidays
   (``schedule.holidays``: closed all day) and make-up working days (``schedule.workdays``, 调休: a weekend date
   worked on Monday–Friday hours);
2. the supervisor's entries for single dates (:class:`DayOverride`, kept in Redis by :mod:`shared.rota`, each change
   a ``schedule_changed`` event): ``holiday`` closes the hall that day, ``workday`` makes it a 调休 working day, and
   ``rota`` opens only the listed services at the listed windows — the weekend rota (周末轮岗), or holiday duty.

Issuing stops ``schedule.stop_issuing_minutes`` before each opening period ends. On a day without a rota the open
windows are those serving at least one open service.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from shared.config import Config, Period, Service, parse_period

# The kind of a day (what a hall's calendar calls it); rest days are 休息日, served by 周末延时服务.
WORKDAY = "workday"  # Monday–Friday
WEEKEND = "weekend"  # Saturday / Sunday
HOLIDAY = "holiday"  # 法定节假日
MAKEUP = "makeup"  # 调休: a weekend date worked as a working day
REST_KINDS = frozenset({WEEKEND, HOLIDAY})

# The kinds of a supervisor's entry for one date.
OVERRIDE_KINDS = ("rota", "holiday", "workday")


@dataclass(frozen=True)
class DayOverride:
    """A supervisor's entry for one date (see the module doc)."""

    kind: str  # rota | holiday | workday
    services: tuple[str, ...] = ()  # rota: the services open that day
    windows: tuple[int, ...] = ()  # rota: the windows staffed that day
    hours: tuple[Period, ...] = ()  # rota: opening periods for every listed service (empty: each service's own)
    note: str = ""
    by: str = ""
    at_ms: int = 0

    def to_dict(self) -> dict:
        return {"kind": self.kind, "services": list(self.services), "windows": list(self.windows),
                "hours": [str(p) for p in self.hours], "note": self.note, "by": self.by, "at_ms": self.at_ms}

    @classmethod
    def from_dict(cls, d: dict) -> DayOverride:
        return cls(kind=d["kind"], services=tuple(d.get("services", ())), windows=tuple(int(w) for w in d.get("windows", ())),
                   hours=tuple(_period(p) for p in d.get("hours", ())), note=d.get("note", ""), by=d.get("by", ""),
                   at_ms=int(d.get("at_ms", 0)))


@dataclass(frozen=True)
class DayPlan:
    """What the hall does on one date."""

    day: date
    kind: str  # workday | weekend | holiday | makeup
    services: dict[str, tuple[Period, ...]]  # open services → their periods (services closed that day are absent)
    windows: tuple[int, ...]  # windows open that day
    source: str = "config"  # config | rota | holiday | workday (a supervisor's entry decided the day)
    note: str = ""
    override: DayOverride | None = field(default=None, compare=False)

    @property
    def rest_day(self) -> bool:
        """休息日: a weekend day that is not a 调休 working day, or a public holiday."""
        return self.kind in REST_KINDS


@dataclass(frozen=True)
class Availability:
    """Whether a service issues now; if not, a reason code and the next opening (local time) if known."""

    open: bool
    reason: str | None = None  # holiday | closed_today | not_yet_open | closed_for_break | closed_for_day | quota_reached
    opens_at: datetime | None = None


Overrides = Mapping[date, DayOverride]


def day_kind(config: Config, day: date, overrides: Overrides | None = None) -> str:
    """workday | weekend | holiday | makeup, the supervisor's entry before the config."""
    weekend = day.weekday() >= 5
    o = (overrides or {}).get(day)
    if o is not None and o.kind == "holiday":
        return HOLIDAY
    if o is not None and o.kind == "workday":
        return MAKEUP if weekend else WORKDAY
    if day in config.schedule.holidays:
        return HOLIDAY
    if day in config.schedule.workdays and weekend:
        return MAKEUP
    return WEEKEND if weekend else WORKDAY


def is_working_day(config: Config, day: date, overrides: Overrides | None = None) -> bool:
    """工作日: Monday–Friday that is not a holiday, or a 调休 weekend date (config or the supervisor's entries).
    A weekend rota day (周末延时服务) is still a rest day."""
    return day_kind(config, day, overrides) not in REST_KINDS


#: the longest stretch of rest days a working-day count looks through (the Spring Festival is nine days)
MAX_REST_RUN_DAYS = 60


def add_working_days(config: Config, start: date, n: int, overrides: Overrides | None = None) -> date:
    """The ``n``-th working day after ``start`` on the hall's calendar (``start`` itself is not counted, whatever
    its kind; ``n`` = 0 is ``start``). A deadline of "5 working days" from a Friday rating is the Friday after,
    later by every holiday in between, earlier by every 调休 Saturday."""
    if n < 0:
        raise ValueError("n must not be negative")
    day, left, rest_run = start, n, 0
    while left > 0:
        day += timedelta(days=1)
        if is_working_day(config, day, overrides):
            left -= 1
            rest_run = 0
        else:
            rest_run += 1
            if rest_run > MAX_REST_RUN_DAYS:
                raise ValueError(f"no working day within {MAX_REST_RUN_DAYS} days after {day - timedelta(days=rest_run)}")
    return day


def _weekday_hours(service: Service) -> tuple[Period, ...]:
    """The service's Monday–Friday hours (the first weekday that has any)."""
    for d in range(5):
        if service.hours[d]:
            return service.hours[d]
    return ()


def day_plan(config: Config, day: date, overrides: Overrides | None = None) -> DayPlan:
    """The services (with periods) and windows open on ``day``."""
    kind = day_kind(config, day, overrides)
    o = (overrides or {}).get(day)
    if o is not None and o.kind == "rota":
        services = {}
        for code in o.services:
            svc = config.services.get(code)
            if svc is None:
                continue
            periods = o.hours or svc.hours[day.weekday()] or _weekday_hours(svc)
            if periods:
                services[code] = periods
        windows = tuple(sorted(n for n in o.windows if n in config.windows))
        return DayPlan(day, kind, services, windows, "rota", o.note, o)
    if kind == HOLIDAY:
        services = {}
    elif kind == MAKEUP:
        services = {c: _weekday_hours(s) for c, s in config.services.items() if _weekday_hours(s)}
    else:
        services = {c: s.hours[day.weekday()] for c, s in config.services.items() if s.hours[day.weekday()]}
    windows = tuple(n for n, w in sorted(config.windows.items()) if any(s in services for s in w.services))
    source = o.kind if o is not None else "config"
    return DayPlan(day, kind, services, windows, source, o.note if o else "", o)


def periods_on(config: Config, service: Service, day: date, overrides: Overrides | None = None) -> tuple[Period, ...]:
    """The service's opening periods on a calendar date, holidays, 调休 and the rota applied."""
    return day_plan(config, day, overrides).services.get(service.code, ())


def availability(config: Config, service: Service, now: datetime, overrides: Overrides | None = None, *,
                 plan: DayPlan | None = None) -> Availability:
    """Opening-hours availability of ``service`` at local time ``now`` (the quota is checked by the engine).
    ``plan``: today's :func:`day_plan` with ``overrides``, when the caller has it already."""
    day = now.date()
    minute = now.hour * 60 + now.minute
    stop = config.schedule.stop_issuing_minutes
    if plan is None:
        plan = day_plan(config, day, overrides)
    periods = plan.services.get(service.code, ())
    for p in periods:
        if p.start_min <= minute < p.end_min - stop:
            return Availability(True)
    later = [p for p in periods if p.start_min > minute]
    if later:
        reason = "not_yet_open" if all(p.start_min > minute for p in periods) else "closed_for_break"
        return Availability(False, reason, _at(now, day, later[0].start_min))
    if plan.kind == HOLIDAY and not plan.services:
        reason = "holiday"
    elif not periods:
        reason = "closed_today"
    else:
        reason = "closed_for_day"
    return Availability(False, reason, next_opening(config, service, day + timedelta(days=1), now, overrides=overrides))


def next_opening(config: Config, service: Service, start: date, now: datetime, horizon_days: int = 60,
                 overrides: Overrides | None = None) -> datetime | None:
    """The first period start on or after ``start`` within ``horizon_days``."""
    for i in range(horizon_days):
        day = start + timedelta(days=i)
        periods = periods_on(config, service, day, overrides)
        if periods:
            return _at(now, day, periods[0].start_min)
    return None


def _at(now: datetime, day: date, minute: int) -> datetime:
    return datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=now.tzinfo)


def _period(text: str) -> Period:
    return parse_period(text, "hours")


def weekly_hours(service: Service) -> list[tuple[tuple[int, ...], tuple[str, ...]]]:
    """The service's usual week (the config, no holidays): runs of consecutive days (0 = Monday) with the same
    periods, e.g. ``[((0, 1, 2, 3, 4), ("08:30-12:00", "14:00-17:30")), ((5, 6), ("09:00-12:00",))]``."""
    out: list[tuple[tuple[int, ...], tuple[str, ...]]] = []
    for d in range(7):
        periods = tuple(str(p) for p in service.hours.get(d, ()))
        if not periods:
            continue
        if out and out[-1][1] == periods and out[-1][0][-1] == d - 1:
            out[-1] = (out[-1][0] + (d,), periods)
        else:
            out.append(((d,), periods))
    return out
