"""Appointment slots (预约时段): which times of a service can be booked on a date, cut from the hall's calendar.

A service with ``appointments`` in its config offers slots of ``slot_minutes`` from the start of each bookable
period (its own opening periods that day — holidays, 调休 working days and the supervisor's rota applied, as for
issuing — or, when ``appointments.hours`` is set, those hours within the opening periods), each taking
``capacity`` bookings (``capacity_by_day`` per weekday; a 调休 working day counts as Monday). A slot that does not
fit before its period ends is not offered. Bookable: today's later slots (``same_day``) and the next
``days_ahead`` days, up to ``cutoff_minutes`` before the slot starts.

Pure functions of the config and the calendar: the booking scripts check that the calendar entry of the slot's
date is still the one the slot was cut from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from shared.config import AppointmentSettings, Config, Period, Service
from shared.errors import RuleRefusedError, UnprocessableError, ValidationError
from shared.keys import day_key
from shared.schedule import MAKEUP, Overrides, day_plan


@dataclass(frozen=True)
class Slot:
    """One bookable time of one service."""

    service: str
    start: datetime  # local, aware
    end: datetime
    capacity: int

    @property
    def day(self) -> str:
        """YYYYMMDD"""
        return day_key(self.start.date())

    @property
    def hhmm(self) -> str:
        return f"{self.start:%H%M}"

    @property
    def start_ms(self) -> int:
        return int(self.start.timestamp() * 1000)

    @property
    def end_ms(self) -> int:
        return int(self.end.timestamp() * 1000)


def settings_of(service: Service) -> AppointmentSettings:
    if service.appointments is None:
        raise RuleRefusedError(f"{service.code} takes no appointments", code="appointments_disabled")
    return service.appointments


def _intersect(a: tuple[Period, ...], b: tuple[Period, ...]) -> list[Period]:
    out = []
    for p in a:
        for q in b:
            start, end = max(p.start_min, q.start_min), min(p.end_min, q.end_min)
            if start < end:
                out.append(Period(start, end))
    return sorted(out, key=lambda p: p.start_min)


def slots_on(config: Config, service: Service, day: date, overrides: Overrides | None = None) -> list[Slot]:
    """Every slot of ``service`` on ``day`` (empty when the service takes no appointments or is closed)."""
    a = service.appointments
    if a is None:
        return []
    plan = day_plan(config, day, overrides)
    periods = plan.services.get(service.code, ())
    if not periods:
        return []
    weekday = 0 if plan.kind == MAKEUP else day.weekday()
    capacity = a.capacity_on(weekday)
    if capacity <= 0:
        return []
    bookable = _intersect(periods, a.hours.get(weekday, ())) if a.hours is not None else list(periods)
    tz = config.timezone
    out = []
    for p in bookable:
        minute = p.start_min
        while minute + a.slot_minutes <= p.end_min:
            start = datetime(day.year, day.month, day.day, tzinfo=tz) + timedelta(minutes=minute)
            out.append(Slot(service.code, start, start + timedelta(minutes=a.slot_minutes), capacity))
            minute += a.slot_minutes
    return out


def bookable_days(service: Service, today: date) -> list[date]:
    """The dates a booking may be made for (whether the service opens on them or not)."""
    a = settings_of(service)
    first = 0 if a.same_day else 1
    return [today + timedelta(days=i) for i in range(first, a.days_ahead + 1)]


def is_bookable(service: Service, slot: Slot, now: datetime) -> bool:
    """May ``slot`` be booked (or moved to) at ``now``?"""
    a = settings_of(service)
    return slot.start.date() in bookable_days(service, now.date()) and \
        slot.start - timedelta(minutes=a.cutoff_minutes) > now


def parse_start(config: Config, value: str | datetime) -> datetime:
    """A slot's start as the API gives it: ``2026-11-30T09:30`` (hall time; an offset is accepted) or a datetime."""
    if isinstance(value, datetime):
        at = value
    elif isinstance(value, str) and 16 <= len(value) <= 32:
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError("'start' must be a time like 2026-11-30T09:30", code="invalid_value",
                                  field="start") from None
    else:
        raise ValidationError("'start' must be a time like 2026-11-30T09:30", code="invalid_value", field="start")
    return at.replace(tzinfo=config.timezone) if at.tzinfo is None else at.astimezone(config.timezone)


def find_slot(config: Config, service: Service, start: str | datetime, now: datetime,
              overrides: Overrides | None = None) -> Slot:
    """The bookable slot starting at ``start``; RuleRefusedError ``slot_unavailable`` when there is none."""
    settings_of(service)
    at = parse_start(config, start)
    for slot in slots_on(config, service, at.date(), overrides):
        if slot.start == at:
            if not is_bookable(service, slot, now):
                break
            return slot
    raise RuleRefusedError(f"{service.code} has no bookable slot at {at:%Y-%m-%d %H:%M}", code="slot_unavailable")


def service_with_appointments(config: Config, code: str) -> Service:
    svc = config.services.get(code) if isinstance(code, str) else None
    if svc is None:
        raise UnprocessableError(f"unknown service '{code}'", code="unknown_service")
    settings_of(svc)
    return svc
