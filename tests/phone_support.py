"""Helpers of the phone tests (booking, remote tickets, rating from the phone): the test hall with appointments and
remote tickets, an app on it, a served copy of it, and ID numbers that belong to nobody."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

from hall_support import HALL_TOML
from reception_support import ADULT, OTHER, booking_hall, make_number, with_remote

__all__ = ["ADULT", "OTHER", "key", "people", "phone_hall", "phone_hall_file", "width_problems"]


def people(n: int) -> list[str]:
    """``n`` distinct valid 身份证号 (made up, region 340404)."""
    return [make_number("340404", date(1970 + i % 40, 1 + i % 12, 1 + i % 28), 100 + i) for i in range(n)]


def phone_hall(config, **appointments):
    """The test hall with renshe bookable (30-minute slots, 2 places, weekdays 09–12, 14–17) and remote tickets."""
    return with_remote(booking_hall(config, **appointments), "renshe", daily_quota=50)


def phone_hall_file(directory: Path, *, capacity: int = 2) -> Path:
    """The test hall as a file for `onewindow serve` (real time: renshe bookable every day around the clock, remote
    tickets on; the test hall's limits are high: the tests send many requests from one address)."""
    text = HALL_TOML.read_text(encoding="utf-8").replace('var_dir = "../../var/test"',
                                                        f'var_dir = "{directory / "var"}"')
    text = text.replace('code = "renshe"\n', 'code = "renshe"\n'
                        f'appointments = {{ slot_minutes = 30, capacity = {capacity}, days_ahead = 7 }}\n'
                        'remote = { enabled = true, daily_quota = 50 }\n', 1)
    path = directory / "phone-hall.toml"
    path.write_text(text, encoding="utf-8")
    return path


def key() -> dict:
    """A fresh Idempotency-Key header (one action)."""
    return {"Idempotency-Key": "t-" + uuid.uuid4().hex}


def width_problems(page, selectors: str) -> list[str]:
    """For a phone page that scrolls down on purpose: what does not fit its width — the page scrolls sideways, or an
    element matched by ``selectors`` (visible ones) sticks out left or right or overflows its box."""
    page.evaluate("() => document.fonts.ready.then(() => true)")
    return page.evaluate(r"""(selectors) => {
      const problems = [];
      if (document.scrollingElement.scrollWidth > innerWidth + 1) problems.push('page scrolls sideways');
      for (const e of document.querySelectorAll(selectors)) {
        if (!e.getClientRects().length || getComputedStyle(e).visibility === 'hidden') continue;
        const r = e.getBoundingClientRect();
        const name = e.id ? '#' + e.id : e.tagName.toLowerCase() + '.' + [...e.classList].join('.');
        if (r.left < -1 || r.right > innerWidth + 1) problems.push('outside the width: ' + name);
        if (e.scrollHeight > e.clientHeight + 2 || e.scrollWidth > e.clientWidth + 2) {
          problems.push('overflows: ' + name + ' ' + e.textContent.trim().replace(/\s+/g, ' ').slice(0, 30));
        }
      }
      return problems;
    }""", selectors)
