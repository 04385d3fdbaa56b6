"""The archiver: closed days (business dates before today) go from the event stream into the archive, then the
stream is trimmed — but only up to events whose day is archived and older than ``[statistics] keep_days``.

Idempotent: a day already archived is only touched again when the stream holds events of that day newer than the
archived ``last_seq`` (a late rating, a follow-up); those are applied on top of the stored facts. Runs at server start,
every ``archive_every_minutes``, and on demand (``onewindow archive``). A Redis lock keeps two processes from
archiving at once.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta

import redis

from shared import events
from shared.engine import Engine
from shared.periodic import PeriodicWorker
from shared.schedule import day_plan
from shared.stats.archive import Archive
from shared.stats.facts import DayFacts, Folder, event_day
from shared.stats.figures import aggregate

logger = logging.getLogger(__name__)

LOCK_MS = 10 * 60 * 1000
MAX_OPEN_DAYS = 3  # days folded at once before the oldest is written (bounds memory after a long outage)


@dataclass
class ArchiveResult:
    archived: list[str] = field(default_factory=list)  # days written (new or updated)
    trimmed: int = 0  # stream entries removed
    skipped: bool = False  # another process holds the lock


def archive_closed_days(engine: Engine, archive: Archive, *, trim: bool = True, keep_days: int | None = None) -> ArchiveResult:
    """Archive every closed day the stream holds; then trim the stream (see the module doc)."""
    result = ArchiveResult()
    lock_key = engine.keys.meta("archive_lock")
    token = secrets.token_hex(8)
    # (redis-py may send the SET again after a timeout: a copy that finds our own token took the lock for us)
    if not engine.redis.set(lock_key, token, nx=True, px=LOCK_MS) and engine.redis.get(lock_key) != token:
        logger.info("another process is archiving; skipped")
        result.skipped = True
        return result
    try:
        today = engine.clock.business_date().isoformat()
        tz = engine.config.timezone
        known = archive.days()
        overrides = engine.rota.overrides()
        folder = Folder(tz)
        written: set[str] = set()

        def flush(day: str) -> None:
            facts = folder.days.pop(day)
            plan = day_plan(engine.config, date.fromisoformat(day), overrides)
            archive.write_day(facts, aggregate(facts, plan.kind, plan.rest_day, tz), engine.clock.now_ms())
            known[day] = {"last_seq": facts.last_seq}
            written.add(day)
            logger.info("archived %s: %s tickets, %s events (last seq %s)", day, len(facts.tickets), facts.events,
                        facts.last_seq)

        for event in events.read_range(engine.redis, engine.keys.events):
            day = event_day(event, tz)
            if day >= today:
                continue
            if day in known and event.seq <= known[day]["last_seq"] and day not in folder.days:
                continue
            if day not in folder.days:
                folder.days[day] = archive.load_day(day) if day in known else DayFacts(day)
                if len(folder.days) > MAX_OPEN_DAYS:
                    flush(min(d for d in folder.days if d != day))
            if event.seq > folder.days[day].last_seq or day not in known:
                folder.apply(event)
        for day in sorted(folder.days):
            flush(day)
        result.archived = sorted(written)
        if trim:
            keep = engine.config.statistics.keep_days if keep_days is None else keep_days
            result.trimmed = trim_stream(engine, archive, keep_days=keep)
        return result
    finally:
        _release(engine.redis, lock_key, token)


def trim_stream(engine: Engine, archive: Archive, *, keep_days: int) -> int:
    """XTRIM MINID up to the first event that is not archived or not older than ``keep_days``; returns the count."""
    known = archive.days()
    limit = (engine.clock.business_date() - timedelta(days=keep_days)).isoformat()
    tz = engine.config.timezone
    first_kept = None
    last_id = None
    for event in events.read_range(engine.redis, engine.keys.events):
        last_id = event.id
        day = event_day(event, tz)
        if not (day < limit and day in known and event.seq <= known[day]["last_seq"]):
            first_kept = event.id
            break
    minid = first_kept or last_id  # all archived: keep the newest entry only
    if minid is None:
        return 0
    from shared.metrics import fold_events

    fold_events(engine)  # /metrics counts every event, also those about to leave the stream
    removed = engine.redis.xtrim(engine.keys.events, minid=minid, approximate=False)
    if removed:
        logger.info("trimmed %s archived events from the stream (kept from %s)", removed, minid)
    return int(removed or 0)


_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


def _release(client: redis.Redis, key: str, token: str) -> None:
    try:
        client.eval(_RELEASE, 1, key, token)
    except redis.RedisError as exc:  # the lock expires by itself
        logger.warning("could not release the archive lock: %s", exc)


class Archiver(PeriodicWorker):
    """Runs :func:`archive_closed_days` at start and every ``every_minutes`` in a daemon thread."""

    thread_name = "onewindow-archiver"
    what = "archiver"

    def __init__(self, engine: Engine, archive: Archive, every_minutes: int) -> None:
        super().__init__(engine, every_minutes * 60)
        self.archive = archive
        self.last: ArchiveResult | None = None

    def run_once(self) -> ArchiveResult:
        return archive_closed_days(self.engine, self.archive)
