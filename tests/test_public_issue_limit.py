"""The public ticket's per-address limit is decided by issue.lua itself, in the same step as the ticket (issue 15,
throughput: one round trip instead of take + issue + refund), and stays exactly-once with the ticket.

Observed before: the limit was its own script run before the ticket's, with its own operation id. A request resent
with the same Idempotency-Key replayed the limit's answer — so a 429 stayed a 429 after the address's wait was over —
and the resent copy of an issued ticket "gave back" the day's slot for a ticket that exists: resending each request
once took a phone past ``daily_cap``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from shared.clock import FixedClock
from shared.config import PublicSettings, parse_period
from shared.keys import day_key
from shared.limits import address_digest


@pytest.fixture
def make_app(redis_client, redis_server, hall_config, clock):
    from onewindow import create_app

    def make(**changes):
        return create_app({"TESTING": True, "CONFIG": replace(hall_config, **changes), "REDIS_URL": redis_server.url,
                           "CLOCK": clock, "START_RELAY": False})

    return make


def _phone(app, address: str):
    c = app.test_client()
    c.environ_base["REMOTE_ADDR"] = address
    return c


def _issue(phone, key: str):
    return phone.post("/api/v1/tickets", json={"service": "renshe"}, headers={"Idempotency-Key": key})


def test_a_resent_ticket_counts_once_in_the_day(make_app):
    phone = _phone(make_app(public=PublicSettings(burst=100, per_minute=60, daily_cap=2)), "192.0.2.40")
    first = _issue(phone, "phone-key-0001")
    assert first.status_code == 201
    again = _issue(phone, "phone-key-0001")  # the answer was lost; the phone sends the same request again
    assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json()["ticket"]["id"] == first.get_json()["ticket"]["id"]
    assert _issue(phone, "phone-key-0002").status_code == 201  # the day's second
    refused = _issue(phone, "phone-key-0003")
    assert refused.status_code == 429 and refused.get_json()["error"]["details"]["reason"] == "daily_cap"


def test_a_refusal_for_now_is_decided_again_when_the_same_request_comes_back(make_app, clock):
    phone = _phone(make_app(public=PublicSettings(burst=1, per_minute=1, daily_cap=10)), "192.0.2.41")
    assert _issue(phone, "phone-key-0101").status_code == 201
    refused = _issue(phone, "phone-key-0102")
    assert refused.status_code == 429 and refused.get_json()["error"]["details"]["reason"] == "burst"
    assert "取号太频繁" in refused.get_json()["error"]["message"]
    assert _issue(phone, "phone-key-0102").status_code == 429  # still too early: refused again, nothing issued
    clock.advance(seconds=int(refused.headers["Retry-After"]) + 1)
    later = _issue(phone, "phone-key-0102")  # the same request after the wait: issued, not the stored 429
    assert later.status_code == 201 and later.headers.get("Idempotent-Replayed") is None
    assert _issue(phone, "phone-key-0102").get_json()["ticket"]["id"] == later.get_json()["ticket"]["id"]


def test_a_closed_service_spends_the_token_but_not_the_day(make_app):
    """As before the merge: a request that issues nothing leaves the day's allowance as it was (the bucket token
    is spent, so a closed service cannot be hammered)."""
    app = make_app(public=PublicSettings(burst=2, per_minute=1, daily_cap=1))
    phone = _phone(app, "192.0.2.42")
    assert phone.post("/api/v1/tickets", json={"service": "lingdao"}).status_code == 409
    assert _issue(phone, "phone-key-0201").status_code == 201  # the day's one ticket is still there
    assert _issue(phone, "phone-key-0202").get_json()["error"]["details"]["reason"] == "daily_cap"
    other = _phone(make_app(public=PublicSettings(burst=2, per_minute=1, daily_cap=10)), "192.0.2.43")
    assert other.post("/api/v1/tickets", json={"service": "lingdao"}).status_code == 409
    assert _issue(other, "phone-key-0203").status_code == 201
    refused = _issue(other, "phone-key-0204")  # the closed service's request took one of the burst of 2
    assert refused.status_code == 429 and refused.get_json()["error"]["details"]["reason"] == "burst"


class _SteppingClock(FixedClock):
    """Moves on by ``step`` every time it is read (a request straddling midnight reads it more than once)."""

    def __init__(self, tz, at: datetime, step: timedelta) -> None:
        super().__init__(tz, at)
        self.step = step

    def now(self) -> datetime:
        at = super().now()
        self.advance(seconds=self.step.total_seconds())
        return at


def test_a_ticket_at_midnight_counts_in_its_own_day(redis_client, redis_server, hall_config):
    """The limit's day count is the ticket's day: worked out from the one clock reading the ticket is issued with
    (before, the limit read the clock on its own first, so a ticket of 00:00:00 counted in the day before)."""
    from onewindow import create_app

    all_day = {d: (parse_period("00:00-24:00", "hours"),) for d in range(7)}
    svc = replace(hall_config.services["renshe"], hours=all_day)
    config = replace(hall_config, services={**hall_config.services, "renshe": svc})
    tz = hall_config.timezone
    clock = _SteppingClock(tz, datetime(2026, 11, 27, 23, 59, 59, 999_000, tzinfo=tz), timedelta(milliseconds=1))
    app = create_app({"TESTING": True, "CONFIG": config, "REDIS_URL": redis_server.url, "CLOCK": clock,
                      "START_RELAY": False})
    address = "192.0.2.60"
    ticket = _issue(_phone(app, address), "phone-key-0301").get_json()["ticket"]
    issued_day = datetime.fromisoformat(ticket["issued_at"]).date()
    keys = app.extensions["onewindow"].engine.keys
    counts = {day: redis_client.get(keys.issue_day(day_key(day), address_digest(address, "issue")))
              for day in (date(2026, 11, 27), date(2026, 11, 28))}
    assert counts[issued_day] == "1"
    assert [d for d, n in counts.items() if n is not None] == [issued_day]
