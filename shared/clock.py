"""The hall's clock: local time in the hall's time zone and the business date that numbering restarts on.

Tests replace the clock (``FixedClock``) to cross midnight without waiting for it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


class Clock:
    """Wall clock in one time zone."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz

    def now(self) -> datetime:
        return datetime.now(self.tz)

    def now_ms(self) -> int:
        return int(self.now().timestamp() * 1000)

    def business_date(self, at: datetime | None = None) -> date:
        """The local calendar date: the day tickets are numbered in."""
        return (at or self.now()).astimezone(self.tz).date()

    def from_ms(self, ms: int) -> datetime:
        return datetime.fromtimestamp(ms / 1000, self.tz)


class FixedClock(Clock):
    """A clock that stands still until moved (tests, simulations)."""

    def __init__(self, tz: ZoneInfo, at: datetime) -> None:
        super().__init__(tz)
        self._at = at.astimezone(tz)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at.astimezone(self.tz)

    def advance(self, **delta: float) -> None:
        self._at = self._at + timedelta(**delta)

