"""Opening hours: is a service issuing tickets at a given moment, and if not, why and until when.

Rules, in order: a holiday closes every service all day; a make-up working day (调休) on a weekend uses the
Monday–Friday hours; otherwise the service's hours for that weekday apply. Issuing stops
``schedule.stop_issuing_minutes`` before each period ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from shared.config import Config, Period, Service


@dataclass(frozen=True)
class Availability:
    """Whether a service issues now; if not, a reason code and the next opening (local time) if known."""

    open: bool
    reason: str | None = None  # holiday | closed_today | not_yet_open | closed_for_break | closed_for_day | quota_reached
    opens_at: datetime | None = None


def periods_on(config: Config, service: Service, day: date) -> tuple[Period, ...]:
    """The service's opening periods on a calendar date, holidays and 调休 applied."""
    if day in config.schedule.holidays:
        return ()
    weekday = day.weekday()
    if day in config.schedule.workdays and weekday >= 5:
        weekday = 0  # a make-up working day runs on weekday hours
    return service.hours[weekday]


def availability(config: Config, service: Service, now: datetime) -> Availability:
    """Opening-hours availability of ``service`` at local time ``now`` (the quota is checked by the engine)."""
    day = now.date()
    minute = now.hour * 60 + now.minute
    stop = config.schedule.stop_issuing_minutes
    periods = periods_on(config, service, day)
    for p in periods:
        if p.start_min <= minute < p.end_min - stop:
            return Availability(True)
    later = [p for p in periods if p.start_min > minute]
    if later:
        reason = "not_yet_open" if all(p.start_min > minute for p in periods) else "closed_for_break"
        return Availability(False, reason, _at(now, day, later[0].start_min))
    if day in config.schedule.holidays:
        reason = "holiday"
    elif not periods:
        reason = "closed_today"
    else:
        reason = "closed_for_day"
    return Availability(False, reason, next_opening(config, service, day + timedelta(days=1), now))


def next_opening(config: Config, service: Service, start: date, now: datetime, horizon_days: int = 60) -> datetime | None:
    """The first period start on or after ``start`` within ``horizon_days``."""
    for i in range(horizon_days):
        day = start + timedelta(days=i)
        periods = periods_on(config, service, day)
        if periods:
            return _at(now, day, periods[0].start_min)
    return None


def _at(now: datetime, day: date, minute: int) -> datetime:
    return datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=now.tzinfo)
