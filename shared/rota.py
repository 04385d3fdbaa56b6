"""The supervisor's calendar entries (weekend rota, extra holidays, 调休 working days), kept in Redis.

One hash (``HallKeys.schedule``): date → :class:`shared.schedule.DayOverride` as JSON. Every change is one Lua step
(``change_schedule.lua``) that writes the hash and appends ``schedule_changed`` {day, before, after, by}, so the
calendar's history is in the event stream like everything else. The engine reads the entries on every availability
check; the parsed entries are kept for ``CACHE_SECONDS`` (dropped at once by a change made through this process), so
the issuing hot path pays no extra round trip — and the issuing script compares today's entry with the one the
decision was made from (:meth:`Calendar.stored_entry`), so a change made by another process in that time is never
missed: the script answers ``retry`` and the engine reads the calendar again.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import pairwise

import redis

from shared.config import Config, Period, parse_period
from shared.errors import ConfigError, NotFoundError, UnprocessableError, ValidationError
from shared.keys import HallKeys
from shared.schedule import HOLIDAY, OVERRIDE_KINDS, WEEKEND, DayOverride, DayPlan, day_kind, day_plan
from shared.runner import ScriptRunner

logger = logging.getLogger(__name__)

CACHE_SECONDS = 2.0
MAX_DAYS_AHEAD = 400
NOTE_MAX = 200


@dataclass(frozen=True)
class Calendar:
    """The supervisor's entries as read at one moment: parsed by date, and as stored (date text → JSON)."""

    overrides: dict[date, DayOverride]
    stored: dict[str, str]
    _plans: dict[tuple[str, date], DayPlan] = field(default_factory=dict, compare=False, repr=False)

    def plan(self, config: Config, day: date) -> DayPlan:
        """:func:`shared.schedule.day_plan` of ``day`` with these entries, worked out once per calendar read (the
        config is immutable, the entries are this read's)."""
        found = self._plans.get((config.hall_id, day))
        if found is None:
            found = self._plans[(config.hall_id, day)] = day_plan(config, day, self.overrides)
        return found

    def stored_entry(self, day: date) -> str:
        """The entry for ``day`` exactly as stored ('' = none): a script compares it with what it finds, so a
        decision made from this calendar is taken only while the entry is unchanged."""
        return self.stored.get(day.isoformat(), "")


class Rota:
    """Read and change the calendar entries of one hall."""

    def __init__(self, client: redis.Redis, keys: HallKeys, runner: ScriptRunner | None = None) -> None:
        self.redis = client
        self.keys = keys
        self.runner = runner or ScriptRunner(client, keys)
        self._cache: tuple[float, Calendar] | None = None
        self._lock = threading.Lock()

    def overrides(self) -> dict[date, DayOverride]:
        """Every entry, by date (an unreadable entry is logged and ignored: the config then decides that day).
        Read from Redis at most every ``CACHE_SECONDS``; treat the result as read-only."""
        return self.calendar().overrides

    def calendar(self) -> Calendar:
        """The entries as last read (at most ``CACHE_SECONDS`` ago), parsed and as stored."""
        cached = self._cache
        if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        with self._lock:
            fresh = self._read()
            self._cache = (time.monotonic(), fresh)
        return fresh

    def invalidate(self) -> None:
        """Forget the cached entries (after a change)."""
        self._cache = None

    def _read(self) -> Calendar:
        out: dict[date, DayOverride] = {}
        stored = self.redis.hgetall(self.keys.schedule)
        for day, raw in stored.items():
            try:
                out[date.fromisoformat(day)] = DayOverride.from_dict(json.loads(raw))
            except (ValueError, KeyError, TypeError, ConfigError):
                logger.warning("ignoring an unreadable schedule entry for %s: %r", day, raw)
        return Calendar(out, stored)

    def plans(self, config: Config, start: date, days: int) -> list[DayPlan]:
        """The plan of each date from ``start`` for ``days`` days."""
        overrides = self.overrides()
        return [day_plan(config, start + timedelta(days=i), overrides) for i in range(days)]

    def set(self, config: Config, day: date, entry: DayOverride, *, today: date, now_ms: int) -> dict:
        """Validate and store the entry for ``day``; returns {"before", "after", "seq"}."""
        validate_entry(config, day, entry, today=today, overrides=self.overrides())
        body = json.dumps({**entry.to_dict(), "at_ms": now_ms}, ensure_ascii=False)
        r = self.runner.run("change_schedule", [self.keys.schedule],
                             [day.isoformat(), now_ms, body, entry.by])
        self.invalidate()
        logger.info("schedule entry for %s set by %s: %s", day, entry.by, entry.kind)
        return {"before": r.get("before"), "after": r.get("after"), "seq": r["seq"]}

    def clear(self, day: date, *, by: str, today: date, now_ms: int) -> dict:
        """Remove the entry for ``day`` (the config decides that day again)."""
        if day < today:
            raise UnprocessableError("a past day cannot be changed", code="day_in_past")
        r = self.runner.run("change_schedule", [self.keys.schedule],
                             [day.isoformat(), now_ms, "", by], {"no_entry": NotFoundError})
        self.invalidate()
        logger.info("schedule entry for %s removed by %s", day, by)
        return {"before": r.get("before"), "after": None, "seq": r["seq"]}


def parse_entry(body: dict, *, by: str) -> DayOverride:
    """A validated-shape entry from a request body {kind, services?, windows?, hours?, note?}."""
    kind = body.get("kind")
    if kind not in OVERRIDE_KINDS:
        raise ValidationError(f"'kind' must be one of: {', '.join(OVERRIDE_KINDS)}", code="invalid_value", field="kind")
    services = body.get("services", [])
    windows = body.get("windows", [])
    hours = body.get("hours", [])
    if not isinstance(services, list) or not all(isinstance(s, str) for s in services):
        raise ValidationError("'services' must be a list of service codes", code="wrong_type", field="services")
    if not isinstance(windows, list) or not all(isinstance(w, int) and not isinstance(w, bool) for w in windows):
        raise ValidationError("'windows' must be a list of window numbers", code="wrong_type", field="windows")
    if not isinstance(hours, list) or not all(isinstance(h, str) for h in hours):
        raise ValidationError("'hours' must be a list like [\"09:00-12:00\"]", code="wrong_type", field="hours")
    periods: list[Period] = []
    for i, text in enumerate(hours):
        try:
            periods.append(parse_period(text, f"hours[{i}]"))
        except ConfigError as exc:
            raise ValidationError(str(exc), code="invalid_value", field="hours") from None
    periods.sort(key=lambda p: p.start_min)
    for a, b in pairwise(periods):
        if b.start_min < a.end_min:
            raise ValidationError(f"periods {a} and {b} overlap", code="invalid_value", field="hours")
    note = body.get("note", "")
    if not isinstance(note, str) or len(note) > NOTE_MAX:
        raise ValidationError(f"'note' must be text of at most {NOTE_MAX} characters", code="invalid_value", field="note")
    if kind != "rota" and (services or windows or hours):
        raise ValidationError(f"a '{kind}' entry takes no services, windows or hours", code="invalid_value", field="kind")
    if len(set(services)) != len(services) or len(set(windows)) != len(windows):
        raise ValidationError("a service or window is listed twice", code="invalid_value")
    return DayOverride(kind=kind, services=tuple(services), windows=tuple(sorted(windows)), hours=tuple(periods),
                       note=note.strip(), by=by)


def validate_entry(config: Config, day: date, entry: DayOverride, *, today: date, overrides: dict) -> None:
    """Refuse entries that cannot be meant: past days, unknown names, a rota whose services no listed window serves."""
    if day < today:
        raise UnprocessableError("a past day cannot be changed", code="day_in_past")
    if day > today + timedelta(days=MAX_DAYS_AHEAD):
        raise UnprocessableError(f"plan at most {MAX_DAYS_AHEAD} days ahead", code="day_too_far")
    if entry.kind == "workday":
        others = {d: o for d, o in overrides.items() if d != day}
        if day_kind(config, day, others) not in (WEEKEND, HOLIDAY):
            raise UnprocessableError(f"{day} is already a working day", code="already_workday")
    if entry.kind != "rota":
        return
    if not entry.services or not entry.windows:
        raise UnprocessableError("a rota names at least one service and one window", code="empty_rota")
    for code in entry.services:
        if code not in config.services:
            raise UnprocessableError(f"unknown service '{code}'", code="unknown_service")
    for n in entry.windows:
        if n not in config.windows:
            raise UnprocessableError(f"unknown window {n}", code="unknown_window")
    for code in entry.services:
        if not any(code in config.windows[n].services for n in entry.windows):
            raise UnprocessableError(f"no listed window serves '{code}'", code="service_without_window", service=code)
    for n in entry.windows:
        if not any(code in entry.services for code in config.windows[n].services):
            raise UnprocessableError(f"window {n} serves none of the listed services", code="window_without_service",
                                     window=n)
    plan = day_plan(config, day, {**overrides, day: entry})
    missing = [code for code in entry.services if code not in plan.services]
    if missing:
        raise UnprocessableError(f"'{missing[0]}' has no opening hours that day: give 'hours'", code="no_hours",
                                 service=missing[0])
