"""The date range a report covers, from a request's query arguments (the supervisor's and the city's report, CSV and
chart endpoints read them the same way): ``from`` / ``to`` (inclusive ISO dates), or ``period`` = day | week |
month | year around ``date`` (default: today)."""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import date, timedelta

from shared.errors import ValidationError

PERIODS = ("day", "week", "month", "year")
#: Dates the report pages accept: wide enough for any hall's records, narrow enough that a week, a month or a
#: schedule page around it never leaves ``date``'s range (9999-12-31 + 6 days is an OverflowError).
FIRST_DATE, LAST_DATE = date(2000, 1, 1), date(2099, 12, 31)


def report_range(args: Mapping[str, str], today: date) -> tuple[date, date]:
    """``from``/``to`` (inclusive), or ``period`` = day | week | month | year around ``date`` (default: today)."""
    period = args.get("period")
    if period:
        if period not in PERIODS:
            raise ValidationError(f"'period' must be one of: {', '.join(PERIODS)}", code="invalid_value", field="period")
        d = parse_date(args.get("date"), "date", today)
        if period == "day":
            return d, d
        if period == "week":
            monday = d - timedelta(days=d.weekday())
            return monday, monday + timedelta(days=6)
        if period == "month":
            return d.replace(day=1), d.replace(day=calendar.monthrange(d.year, d.month)[1])
        return d.replace(month=1, day=1), d.replace(month=12, day=31)
    start = parse_date(args.get("from"), "from", today)
    end = parse_date(args.get("to"), "to", start if args.get("from") else today)
    return start, end


def parse_date(text: str | None, name: str, default: date | None) -> date:
    """An ISO date argument (``default`` when absent); a 400 naming ``name`` for anything else."""
    if text in (None, ""):
        return default
    try:
        d = date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"'{name}' must be a date like 2026-11-27", code="invalid_value", field=name) from None
    if not FIRST_DATE <= d <= LAST_DATE:
        raise ValidationError(f"'{name}' must be between {FIRST_DATE} and {LAST_DATE}", code="invalid_value",
                              field=name)
    return d
