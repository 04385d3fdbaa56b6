"""The one place Redis keys are built.

Every key of a hall starts with ``ow:{<hall id>}`` — the braces are a Redis Cluster hash tag, so all of a hall's
keys live in one slot and every Lua script may touch any of them. Per-day keys carry the business date
(``YYYYMMDD``), which is how numbering restarts each day without a cron job.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache


@lru_cache(maxsize=16)
def day_key(day: date) -> str:
    """The compact business-date form used in keys and ticket ids: 20261127 (remembered for the last few dates:
    every request asks for today's, and ``strftime`` is slow)."""
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


def city_tag(city_id: str) -> str:
    """The key space of a city (the deployment of several halls): its city supervisors' sessions and login limits
    live under ``ow:{city:<city id>}`` (``HallKeys(city_tag(id))``), a slot of their own. A hall id never holds a
    ``:``, so no hall's keys can meet the city's."""
    return f"city:{city_id}"


class HallKeys:
    """Key builder for one hall."""

    def __init__(self, hall_id: str) -> None:
        self.base = f"ow:{{{hall_id}}}"

    # hall-wide
    @property
    def seq(self) -> str:
        """INCR counter: the sequence number of the last event."""
        return f"{self.base}:seq"

    @property
    def events(self) -> str:
        """Stream: every state change, in ``seq`` order (the audit log)."""
        return f"{self.base}:events"

    @property
    def recent_calls(self) -> str:
        """List: the latest calls (JSON), newest first."""
        return f"{self.base}:recent"

    @property
    def service_times(self) -> str:
        """Hash: service code → moving average of service time in ms (for wait estimates)."""
        return f"{self.base}:svctime"

    @property
    def metrics(self) -> str:
        """Hash: counts of the events in the stream (for /metrics) and the id of the last event counted."""
        return f"{self.base}:metrics"

    def window(self, number: int) -> str:
        """Hash: a window's live state (current ticket, paused, clerk)."""
        return f"{self.base}:win:{number}"

    def operation(self, op_id: str) -> str:
        """String with a TTL: the answer of one operation (``<nonce>|<answer JSON>``), so that a copy of it sent again
        is answered instead of run again (see :mod:`shared.runner` and :mod:`shared.idempotency`)."""
        return f"{self.base}:op:{op_id}"

    def meta(self, name: str) -> str:
        """A small hall-wide value (the archiver's lock, …)."""
        return f"{self.base}:meta:{name}"

    @property
    def replicated(self) -> str:
        """String (the nonce of the last call, 60 s): the mark written after a mutating script when the hall waits
        for replicas (``[redis] wait_replicas``), so that WAIT covers the script's writes (see shared/runner.py)."""
        return self.meta("replicated")

    @property
    def printers(self) -> str:
        """Hash: kiosk id → what its printer last showed (JSON; see shared/printer_health.py)."""
        return self.meta("printers")

    def prints(self, day: str) -> str:
        """Hash: ticket id → its kiosk print, ``printed`` or ``claim:<token>:<until ms>`` (a print under way), for a
        business day (see shared/print_claims.py)."""
        return f"{self.base}:prints:{day}"

    # counter: who holds a window (shared/window_holds.py), login failures, 办不成事 cases (see docs/counter.md)
    def window_holder(self, number: int) -> str:
        """String (JSON, expires with the session): the clerk signed in to a window."""
        return f"{self.base}:holder:{number}"

    # abuse limits: counters a refused request may leave behind (that is their purpose); everything under
    # ``:limit:`` is such a counter, never hall state. Addresses and usernames appear only as digests.
    def login_attempts(self, digest: str) -> str:
        """String counter with a TTL: login attempts of one username+address, or of one address (``digest``)."""
        return f"{self.base}:limit:login:{digest}"

    def issue_bucket(self, digest: str) -> str:
        """Hash (tokens, ms) with a TTL: the token bucket of one unregistered client address."""
        return f"{self.base}:limit:issue:{digest}"

    def phone_bucket(self, digest: str) -> str:
        """Hash (tokens, ms) with a TTL: the token bucket of one client address on the phone's booking/rating API."""
        return f"{self.base}:limit:phone:{digest}"

    def phone_day(self, day: str, digest: str) -> str:
        """String counter: requests one client address made to the phone's API on a business day."""
        return f"{self.base}:limit:phone:{day}:{digest}"

    def issue_day(self, day: str, digest: str) -> str:
        """String counter: tickets one unregistered client address took on a business day."""
        return f"{self.base}:limit:issue:{day}:{digest}"

    def lookup_bucket(self, digest: str) -> str:
        """Hash (tokens, ms) with a TTL: the token bucket of one kiosk's ID and code look-ups (check-in)."""
        return f"{self.base}:limit:lookup:{digest}"

    def lookup_day(self, day: str, digest: str) -> str:
        """String counter: ID and code look-ups one kiosk made on a business day."""
        return f"{self.base}:limit:lookup:{day}:{digest}"

    # staff sessions (see shared/staff_sessions.py)
    def session(self, digest: str) -> str:
        """String (JSON) with a TTL = the idle timeout: one staff session, by the SHA-256 of its id."""
        return f"{self.base}:session:{digest}"

    @property
    def cases(self) -> str:
        """Hash: case id → 办不成事 case JSON (open and resolved)."""
        return f"{self.base}:cases"

    @property
    def open_cases(self) -> str:
        """Sorted set: ids of unresolved cases, scored by the time they were opened (ms)."""
        return f"{self.base}:cases:open"

    @property
    def case_counter(self) -> str:
        """INCR counter: the number of the last case id."""
        return f"{self.base}:cases:seq"

    # kiosk: help requests (the "需要帮助" button; see shared/help_requests.py)
    @property
    def help_open(self) -> str:
        """Hash: kiosk id → its open help request (JSON)."""
        return f"{self.base}:help:open"

    @property
    def help_last(self) -> str:
        """Hash: kiosk id → when it last asked for help (ms), for the minimum interval between two requests."""
        return f"{self.base}:help:last"

    @property
    def help_counter(self) -> str:
        """INCR counter: the number of the last help request id (``H000001`` …)."""
        return f"{self.base}:help:seq"

    # supervisor: the calendar and follow-ups (see docs/statistics.md)
    @property
    def schedule(self) -> str:
        """Hash: date (YYYY-MM-DD) → the supervisor's entry for that date (rota / holiday / 调休 workday, JSON)."""
        return f"{self.base}:schedule"

    @property
    def rating_followups(self) -> str:
        """Hash: ticket id → follow-up of its 不满意 rating (JSON: by, note, at_ms)."""
        return f"{self.base}:ratings:followed"

    # 好差评: ratings waiting for their default, the 差评 workflow (see docs/haocaiping.md)
    @property
    def unrated(self) -> str:
        """Sorted set: finished visits (ticket ids) without a first rating, scored by the finish time (ms) — the
        default-rating job's work list."""
        return f"{self.base}:ratings:unrated"

    @property
    def rectifications(self) -> str:
        """Hash: rectification id (``ZG000001``) → the 差评 / 办不成事 rectification record (JSON)."""
        return f"{self.base}:rect"

    @property
    def open_rectifications(self) -> str:
        """Sorted set: ids of rectification records still open, scored by the time they were opened (ms)."""
        return f"{self.base}:rect:open"

    @property
    def rectification_counter(self) -> str:
        """INCR counter: the number of the last rectification id."""
        return f"{self.base}:rect:seq"

    # outboxes: entries to deliver to another system, one outbox per topic (see shared/outbox.py)
    def outbox_entries(self, topic: str) -> str:
        """Hash: entry id → entry JSON (payload, state pending | sent | failed, attempts, last error, times)."""
        return f"{self.base}:outbox:{topic}:entries"

    def outbox_queue(self, topic: str, partition: str | int) -> str:
        """List: the pending entry ids of one partition (a window), oldest first — delivered in this order."""
        return f"{self.base}:outbox:{topic}:q:{partition}"

    def outbox_partitions(self, topic: str) -> str:
        """Set: the partitions whose queue is not empty."""
        return f"{self.base}:outbox:{topic}:parts"

    def outbox_failed(self, topic: str) -> str:
        """Sorted set: failed entry ids by the time they failed (ms) — waiting for a person to resend them."""
        return f"{self.base}:outbox:{topic}:failed"

    def outbox_sent(self, topic: str) -> str:
        """Sorted set: sent entry ids by the time they were accepted (ms); pruned after ``keep_sent_days``."""
        return f"{self.base}:outbox:{topic}:sent"

    def outbox_lease(self, topic: str) -> str:
        """String with a TTL: the token of the one process that sends this outbox now."""
        return f"{self.base}:outbox:{topic}:lease"

    # 实名: per-ID counts and histories, by the keyed hash of an ID number — never the number (docs/realname.md)
    def id_day(self, day: str) -> str:
        """Hash: ``<id hash>:<service>:o`` → open tickets of that ID, ``…:n`` → tickets taken, on a business day."""
        return f"{self.base}:id:{day}"

    @property
    def id_history(self) -> str:
        """Hash: id hash → JSON ``{"ns": [ms, …]}``, the times of its recent no-shows (the no-show ban's source)."""
        return f"{self.base}:idhist"

    @property
    def id_history_seen(self) -> str:
        """Sorted set: id hash → time of its last no-show (ms); histories no rule looks at any more are forgotten."""
        return f"{self.base}:idhist:last"

    # 预约: bookings (docs/appointments.md)
    @property
    def bookings(self) -> str:
        """Hash: booking id (``BK0000001``) → booking JSON (its state, slot, id hash, contact)."""
        return f"{self.base}:bk"

    @property
    def booking_codes(self) -> str:
        """Hash: booking code (what the citizen holds) → booking id."""
        return f"{self.base}:bk:codes"

    @property
    def booking_index(self) -> str:
        """Hash: ``<id hash>:<service>:<day>`` → booking id (one booking per ID, service and day)."""
        return f"{self.base}:bk:ids"

    @property
    def booking_seq(self) -> str:
        """INCR counter: the number of the last booking id."""
        return f"{self.base}:bk:seq"

    @property
    def booking_times(self) -> str:
        """Sorted set: every booking id → its slot's start (ms): bookings are forgotten ``keep_days`` after it."""
        return f"{self.base}:bk:all"

    @property
    def bookings_upcoming(self) -> str:
        """Sorted set: confirmed bookings not checked in → slot start (ms): reminders and missed bookings."""
        return f"{self.base}:bk:due"

    @property
    def booking_holds(self) -> str:
        """Sorted set: held bookings → the end of the hold (ms): expired holds are released."""
        return f"{self.base}:bk:held"

    def slot_counts(self, service: str, day: str) -> str:
        """Hash: slot (``HHMM``) → bookings confirmed for it (holds are in :meth:`slot_holds`)."""
        return f"{self.base}:slots:{day}:{service}"

    def slot_holds(self, service: str, day: str, hhmm: str) -> str:
        """Sorted set: held booking ids of one slot → the end of the hold (ms); only live holds take a place."""
        return f"{self.base}:slots:{day}:{service}:{hhmm}:held"

    # 远程取号: remote tickets
    def remote_pending(self, day: str) -> str:
        """Set: remote tickets not yet arrived (call-next skips and expires them when their turn comes)."""
        return f"{self.base}:remote:{day}"

    def remote_index(self, day: str) -> str:
        """Hash: ``<id hash>:<service>`` → that ID's remote ticket not yet arrived (check-in by card finds it)."""
        return f"{self.base}:remote:{day}:ids"

    def remote_counter(self, day: str, service: str) -> str:
        """String: remote tickets taken for a service on a day (their own quota)."""
        return f"{self.base}:remote:{day}:n:{service}"

    def contacts(self, day: str) -> str:
        """Hash: ticket id → the holder's contact JSON (phone / openid, delivery queue) for notifications."""
        return f"{self.base}:contacts:{day}"

    # per business day
    def tickets(self, day: str) -> str:
        """Hash: ticket id → ticket JSON, for one business day."""
        return f"{self.base}:tickets:{day}"

    def tokens(self, day: str) -> str:
        """Hash: tracking token → ticket id, for one business day."""
        return f"{self.base}:tokens:{day}"

    def counter(self, day: str, service: str) -> str:
        """String: the last number issued for a service on a day."""
        return f"{self.base}:num:{day}:{service}"

    def queue(self, day: str, service: str) -> str:
        """Sorted set: waiting ticket ids of a service; the score orders them (see engine docs)."""
        return f"{self.base}:q:{day}:{service}"

    def window_queue(self, day: str, number: int) -> str:
        """Sorted set: tickets transferred to one window; served before the window's service queues."""
        return f"{self.base}:wq:{day}:{number}"

    def service_pace(self, day: str) -> str:
        """Hash: ``<service>:n`` finishes and ``<service>:ms`` their summed service time on one business day (the
        day's own pace for wait estimates, :mod:`shared.estimates`); expires two days later."""
        return f"{self.base}:pace:{day}"
