"""Limits on what strangers may try, each decided in one Lua step.

**Public tickets** (``public_limit.lua``): a phone (or any browser that is not a registered kiosk) may take a ticket
when the hall allows it (``[public] allow_issue``), at most ``burst`` at once refilled at ``per_minute``, and
``daily_cap`` per business day — per client address.

**Login attempts** (``login_limit.lua``): attempts are reserved *before* the password is checked, per username +
client address and per address, in a fixed window that starts at the first attempt; past ``[security]
login_attempts`` (or ``login_attempts_per_address``) the next attempts are refused with 429 until the window ends. A
success clears the pair's count and gives the address's attempt back.

The address is the request's remote address (after the configured trusted proxies: ``[security] trusted_proxies``);
Redis keeps only a digest of it.
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from shared.engine import Engine
from shared.errors import RateLimitedError
from shared.keys import day_key

logger = logging.getLogger(__name__)


def address_digest(address: str, purpose: str) -> str:
    """A short digest of a client address (or username + address) for key names: no raw address in Redis."""
    return hashlib.sha256(f"{purpose}\x00{address}".encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _wait_words(seconds: int) -> tuple[str, str]:
    if seconds < 120:
        return f"{seconds} 秒", f"{seconds} seconds"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} 分钟", f"{minutes} minutes"


@dataclass(frozen=True)
class IssueLimit:
    """One address's public-ticket limit, decided inside ``issue.lua`` in the same step as the ticket (see
    :meth:`PublicIssueLimiter.for_issue`): its keys, its arguments, and the refusal to raise when the script answers
    ``rate_limited``."""

    digest: str  # of the address (no raw address in Redis)
    limiter: PublicIssueLimiter

    def keys_args(self, now: datetime) -> tuple[list[str], list]:
        """The script's keys (the address's bucket, its count for the day of ``now``) and arguments (burst, refill
        per ms, daily cap, the day count's ttl in ms, ms until the next day) — at the moment the ticket is issued."""
        return self.limiter.keys_args(self.digest, now)

    def refusal(self, details: dict) -> RateLimitedError:
        return self.limiter.refusal(details["reason"], details["retry_ms"])


class PublicIssueLimiter:
    """The token bucket and daily cap of unregistered clients, per address (one per hall: it keeps nothing of a
    request)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.settings = s = engine.config.public
        self._fixed = [s.burst, repr(s.per_minute / 60000), s.daily_cap]
        self._midnight: tuple[date, datetime] | None = None  # the last date asked for, and the midnight after it

    def keys_args(self, digest: str, now: datetime) -> tuple[list[str], list]:
        """See :meth:`IssueLimit.keys_args`."""
        today = now.date()
        midnight = self._midnight
        if midnight is None or midnight[0] != today:
            midnight = self._midnight = (today, datetime.combine(today + timedelta(days=1), time(0),
                                                                 tzinfo=now.tzinfo))
        until_tomorrow_ms = max(1000, int((midnight[1] - now).total_seconds() * 1000))
        keys = [self.engine.keys.issue_bucket(digest), self.engine.keys.issue_day(day_key(today), digest)]
        return keys, [*self._fixed, until_tomorrow_ms + 3600_000, until_tomorrow_ms]

    def for_issue(self, address: str) -> IssueLimit:
        """The limit of ``address`` for :meth:`Engine.issue` (``limit=``): decided by ``issue.lua`` itself — no round
        trip of its own, no refund — raising :meth:`refusal` when the address must wait. Its keys and arguments
        are worked out from the same clock reading as the ticket (a request at midnight counts in one day)."""
        return IssueLimit(address_digest(address, "issue"), self)

    def refusal(self, reason: str, retry_ms: int) -> RateLimitedError:
        """The 429 for an address that must wait ``retry_ms`` (``reason`` burst | daily_cap)."""
        retry = max(1, math.ceil(retry_ms / 1000))
        if reason == "daily_cap":
            zh = f"此设备今日取号次数已达上限（{self.settings.daily_cap} 张），请到自助取号机取号或咨询工作人员。"
            en = (f"This device has taken today's maximum of {self.settings.daily_cap} tickets. Please use a "
                  "ticket kiosk in the hall or ask a member of staff.")
        else:
            wait_zh, wait_en = _wait_words(retry)
            zh = f"取号太频繁，请 {wait_zh}后再试，或到自助取号机取号。"
            en = f"Too many tickets in a short time. Please try again in {wait_en}, or use a ticket kiosk."
        logger.info("public ticket refused (%s)", reason)
        return RateLimitedError(f"{zh} / {en}", code="rate_limited", retry_after=retry, reason=reason,
                                message_zh=zh, message_en=en)


class LoginLimiter:
    """Login attempts per username + address and per address (``login_limit.lua``): an attempt is *reserved* before
    the password is checked, so attempts sent at once cannot slip past the count; a success clears the pair's
    attempts and gives the address's back."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        s = engine.config.security
        self.max_attempts = s.login_attempts
        self.max_per_address = s.login_attempts_per_address
        self.window_ms = s.login_window_seconds * 1000

    def _run(self, op: str, username: str, address: str) -> dict:
        pair = address_digest(f"{username.strip().lower()}\x00{address}", "login")
        keys = [self.engine.keys.login_attempts(pair),
                self.engine.keys.login_attempts(address_digest(address, "login-address"))]
        return self.engine.runner.run("login_limit", keys, [op, self.max_attempts, self.max_per_address,
                                                             self.window_ms])

    def reserve(self, username: str, address: str) -> None:
        """Count one attempt now, or raise :class:`RateLimitedError` (``retry_after`` seconds) without counting."""
        r = self._run("reserve", username, address)
        if r["limited"]:
            retry = max(1, math.ceil(r["retry_ms"] / 1000))
            logger.warning("login attempts refused for a while (too many from one address or for one account)")
            raise RateLimitedError(f"too many login attempts; try again in {retry} seconds / 登录尝试次数过多，请 "
                                   f"{retry} 秒后再试", code="rate_limited", retry_after=retry)

    def succeeded(self, username: str, address: str) -> None:
        self._run("succeeded", username, address)


class _BucketLimiter:
    """A token bucket (``burst`` refilled at ``per_minute``) and a daily cap per subject, in the one step of
    ``public_limit.lua`` — the shape the phone API and the kiosks' look-ups share. A subclass names its keys and its
    words."""

    purpose = ""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def limits(self) -> tuple[int, float, int]:
        """(burst, per_minute, daily_cap)."""
        raise NotImplementedError

    def keys(self, day: str, digest: str) -> list[str]:
        raise NotImplementedError

    def words(self, wait_zh: str, wait_en: str) -> tuple[str, str]:
        raise NotImplementedError

    def take(self, subject: str) -> None:
        """Count one request of ``subject``, or raise :class:`RateLimitedError` (429, ``details.retry_after``,
        ``reason`` burst | daily_cap, ``message_zh`` / ``message_en``) without counting."""
        now = self.engine.clock.now()
        digest = address_digest(subject, self.purpose)
        tomorrow = datetime.combine(now.date() + timedelta(days=1), time(0), tzinfo=now.tzinfo)
        until_tomorrow_ms = max(1000, int((tomorrow - now).total_seconds() * 1000))
        burst, per_minute, cap = self.limits()
        r = self.engine.runner.run("public_limit", self.keys(day_key(now.date()), digest), [
            "take", int(now.timestamp() * 1000), burst, repr(per_minute / 60000), cap,
            until_tomorrow_ms + 3600_000, until_tomorrow_ms])
        if not r["limited"]:
            return
        retry = max(1, math.ceil(r["retry_ms"] / 1000))
        zh, en = self.words(*_wait_words(retry))
        logger.warning("%s refused for a while (%s)", type(self).__name__, r["reason"])
        raise RateLimitedError(f"{zh} / {en}", code="rate_limited", retry_after=retry, reason=r["reason"],
                               message_zh=zh, message_en=en)


class PhoneLimiter(_BucketLimiter):
    """The phone's public API (booking, booking look-ups by code, remote tickets, ratings by tracking token), per
    client address, with ``[public] phone_*`` settings."""

    purpose = "phone"

    def limits(self) -> tuple[int, float, int]:
        s = self.engine.config.public
        return s.phone_burst, s.phone_per_minute, s.phone_daily_cap

    def keys(self, day: str, digest: str) -> list[str]:
        return [self.engine.keys.phone_bucket(digest), self.engine.keys.phone_day(day, digest)]

    def words(self, wait_zh: str, wait_en: str) -> tuple[str, str]:
        return (f"操作太频繁，请 {wait_zh}后再试。",
                f"Too many requests from this device. Please try again in {wait_en}.")


class DeviceLookupLimiter(_BucketLimiter):
    """ID and booking-code look-ups of one kiosk (check-in, "your bookings"), per device: a kiosk serves one person
    at a time, so a burst of :attr:`BURST` refilled at :attr:`PER_MINUTE` is far above a queue of citizens and far
    below what guessing booking codes or ID numbers would need; a stolen kiosk token stops at :attr:`DAILY_CAP` a
    day."""

    purpose = "lookup"
    BURST = 20
    PER_MINUTE = 30
    DAILY_CAP = 5000

    def limits(self) -> tuple[int, float, int]:
        return self.BURST, self.PER_MINUTE, self.DAILY_CAP

    def keys(self, day: str, digest: str) -> list[str]:
        return [self.engine.keys.lookup_bucket(digest), self.engine.keys.lookup_day(day, digest)]

    def words(self, wait_zh: str, wait_en: str) -> tuple[str, str]:
        return (f"查询太频繁，请 {wait_zh}后再试，或咨询工作人员。",
                f"Too many look-ups in a short time. Please try again in {wait_en}, or ask a member of staff.")
