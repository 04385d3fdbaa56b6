"""Outboxes: what the hall must tell another system (ratings to the provincial 好差评 system; notifications later),
written in the same Lua step as the change it reports and delivered by one sender per hall — in order per partition,
until the receiver accepts it.

**Storage** (``HallKeys.outbox_*``, one set of keys per *topic*): a hash of entries (id → JSON: the payload, the state
``pending`` | ``sent`` | ``failed``, attempts, the last error, times), one list per *partition* (a window, for
ratings) holding its pending ids oldest first, a set of the partitions with pending entries, and sorted sets of the
failed and the sent ids. A script that reports something writes the entry with ``outbox_put`` (``_outbox.lua``): an
id is written once, whatever happens.

**Delivery** (:class:`Sender`): the head of each partition's list is posted through a ``deliver`` function (the
topic's adapter). An accepted entry (a 2xx, including the receiver's "duplicate" answer) is marked sent and leaves
its list, so the next entry of that partition may go — an entry is never posted before the earlier entries of its
partition were accepted. A failed attempt leaves the entry at the head and schedules the next attempt with
exponential back-off and jitter; after ``max_attempts`` (or a refusal for good, a 4xx) the entry is *failed*: it
leaves the list (one bad entry cannot stop its partition for ever) and waits for a person to :meth:`Outbox.resend`
it, which puts it back at the head of its partition.

**At least once, made exactly once by the id.** An entry is marked sent only after the receiver accepted it. A
process that dies between the receiver's answer and the mark leaves the entry pending, and the next sender posts it
again with the same id, which the receiver recognises ("duplicate", a 2xx): nothing is lost, and nothing is
accepted twice by a receiver that de-duplicates by id. A resent copy of a mark (redis-py after a timeout) is a copy
of one runner operation (:mod:`shared.runner`) and counts once.

**One sender per hall.** Each server process may run a sender; they share a lease in Redis (``outbox_lease.lua``)
and only its holder posts. The lease lasts longer than one request's timeout and is renewed before each new post,
so a sender never loses it in the middle of a post (unless its process stalls for longer than the lease, in which
case the next holder may post the same head again — a duplicate the receiver absorbs; order is kept because the
head stays the head until it is accepted).
"""

from __future__ import annotations

import json
import logging
import random
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import redis

from shared.clock import Clock
from shared.engine import Engine
from shared.errors import ConflictError, NotFoundError, ValidationError

logger = logging.getLogger(__name__)

STATES = ("pending", "sent", "failed")
ERROR_MAX = 500  # characters of an error kept on the entry
_ERRORS = {"not_found": NotFoundError, "not_failed": ConflictError}


@dataclass(frozen=True)
class Entry:
    """One outbox entry as stored."""

    id: str
    partition: str
    payload: dict
    state: str
    attempts: int = 0
    created_ms: int = 0
    next_ms: int = 0
    last_error: str = ""
    last_attempt_ms: int | None = None
    sent_ms: int | None = None
    failed_ms: int | None = None
    answer: str = ""
    resent: int = 0

    @classmethod
    def from_json(cls, raw: str) -> Entry:
        d = json.loads(raw)
        payload = d.get("payload")
        return cls(id=d["id"], partition=str(d.get("partition", "")), payload=payload if isinstance(payload, dict) else {},
                   state=d.get("state", "pending"), attempts=int(d.get("attempts") or 0),
                   created_ms=int(d.get("created_ms") or 0), next_ms=int(d.get("next_ms") or 0),
                   last_error=str(d.get("last_error") or ""), last_attempt_ms=_int(d.get("last_attempt_ms")),
                   sent_ms=_int(d.get("sent_ms")), failed_ms=_int(d.get("failed_ms")), answer=str(d.get("answer") or ""),
                   resent=int(d.get("resent") or 0))

    def view(self) -> dict:
        """What a supervisor's list shows (the payload included)."""
        return {"id": self.id, "partition": self.partition, "state": self.state, "attempts": self.attempts,
                "created_ms": self.created_ms, "next_ms": self.next_ms if self.state == "pending" else None,
                "last_error": self.last_error or None, "last_attempt_ms": self.last_attempt_ms,
                "sent_ms": self.sent_ms, "failed_ms": self.failed_ms, "answer": self.answer or None,
                "resent": self.resent, "payload": self.payload}


def _int(v: Any) -> int | None:
    try:
        return None if v in (None, "") else int(v)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Delivery:
    """What the receiver made of one attempt: ``accepted`` (a 2xx or its duplicate answer), or not — and then
    whether it refused the entry for good (``permanent``: no retry), with a ``detail`` for the supervisor."""

    accepted: bool
    detail: str = ""
    permanent: bool = False


class Outbox:
    """One topic's outbox of one hall: read, resend, and the marks the sender makes."""

    def __init__(self, engine: Engine, topic: str) -> None:
        if not topic.isidentifier():
            raise ValueError("an outbox topic is a plain identifier")
        self.engine = engine
        self.topic = topic
        k = engine.keys
        self.entries_key = k.outbox_entries(topic)
        self.partitions_key = k.outbox_partitions(topic)
        self.failed_key = k.outbox_failed(topic)
        self.sent_key = k.outbox_sent(topic)
        self.lease_key = k.outbox_lease(topic)

    def queue_key(self, partition: str | int) -> str:
        return self.engine.keys.outbox_queue(self.topic, partition)

    # ------------------------------------------------------------------------------------------- reads
    def get(self, entry_id: str) -> Entry:
        raw = self.engine.redis.hget(self.entries_key, entry_id) if entry_id else None
        if not raw:
            raise NotFoundError(f"no {self.topic} outbox entry '{entry_id}'", code="not_found")
        return Entry.from_json(raw)

    def counts(self) -> dict[str, int]:
        """Entries per state (pending counted over every partition's queue)."""
        r = self.engine.redis
        parts = sorted(r.smembers(self.partitions_key))
        pipe = r.pipeline(transaction=False)
        for p in parts:
            pipe.llen(self.queue_key(p))
        pipe.zcard(self.failed_key)
        pipe.zcard(self.sent_key)
        answers = pipe.execute()
        return {"pending": sum(answers[:len(parts)]), "failed": answers[-2], "sent": answers[-1]}

    def list(self, state: str = "pending", limit: int = 100) -> list[Entry]:
        """Entries of one state: pending in delivery order per partition (partitions in order), failed and sent
        newest first."""
        if state not in STATES:
            raise ValidationError(f"'state' must be one of: {', '.join(STATES)}", code="invalid_value", field="state")
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 10000:
            raise ValidationError("'limit' must be 1 … 10000", code="invalid_value", field="limit")
        r = self.engine.redis
        if state == "pending":
            ids: list[str] = []
            for p in sorted(r.smembers(self.partitions_key), key=_partition_order):
                ids += r.lrange(self.queue_key(p), 0, limit - len(ids) - 1)
                if len(ids) >= limit:
                    break
        else:
            ids = r.zrevrange(self.failed_key if state == "failed" else self.sent_key, 0, limit - 1)
        if not ids:
            return []
        return [Entry.from_json(raw) for raw in r.hmget(self.entries_key, ids) if raw]

    def due(self, now_ms: int, busy: set[str] | frozenset[str] = frozenset()) -> tuple[list[Entry], int | None]:
        """The head of every partition not in ``busy`` that is due now, and the earliest time a head that is not
        due yet will be (None: none waits)."""
        r = self.engine.redis
        parts = [p for p in r.smembers(self.partitions_key) if p not in busy]
        if not parts:
            return [], None
        pipe = r.pipeline(transaction=False)
        for p in parts:
            pipe.lindex(self.queue_key(p), 0)
        heads = [h for h in pipe.execute() if h]
        if not heads:
            return [], None
        due, later = [], None
        for raw in r.hmget(self.entries_key, heads):
            if not raw:
                continue
            e = Entry.from_json(raw)
            if e.state != "pending":
                continue
            if e.next_ms <= now_ms:
                due.append(e)
            elif later is None or e.next_ms < later:
                later = e.next_ms
        due.sort(key=lambda e: (e.next_ms, e.created_ms))
        return due, later

    # ------------------------------------------------------------------------------------------- changes
    def resend(self, entry_id: str, *, by: str) -> Entry:
        """Put a failed entry back at the head of its partition (NotFound, Conflict ``not_failed``)."""
        e = self.get(entry_id)
        r = self.engine.runner.run(
            "outbox_resend", [self.entries_key, self.partitions_key, self.queue_key(e.partition), self.failed_key],
            [entry_id, self.engine.clock.now_ms(), by, self.topic], _ERRORS)
        logger.info("%s outbox entry %s resent by %s", self.topic, entry_id, by)
        return Entry.from_json(json.dumps(r["entry"]))

    def ack(self, entry: Entry, answer: str, now_ms: int) -> bool:
        """The receiver accepted ``entry``; True when this call marked it sent."""
        r = self.engine.runner.run(
            "outbox_ack", [self.entries_key, self.partitions_key, self.queue_key(entry.partition), self.failed_key,
                           self.sent_key],
            [entry.id, now_ms, answer[:ERROR_MAX]], _ERRORS)
        return bool(r["changed"])

    def fail(self, entry: Entry, error: str, *, permanent: bool, max_attempts: int, delay_ms: int,
             now_ms: int) -> Entry:
        """Count one failed attempt at ``entry`` (the attempt after ``entry.attempts``)."""
        r = self.engine.runner.run(
            "outbox_fail", [self.entries_key, self.partitions_key, self.queue_key(entry.partition), self.failed_key],
            [entry.id, now_ms, entry.attempts, error[:ERROR_MAX], permanent, max_attempts, delay_ms, self.topic],
            _ERRORS)
        return Entry.from_json(json.dumps(r["entry"]))

    def prune(self, before_ms: int, limit: int = 1000) -> int:
        """Forget sent entries accepted before ``before_ms``; returns how many."""
        r = self.engine.runner.run("outbox_prune", [self.entries_key, self.sent_key], [before_ms, limit])
        return int(r["pruned"])

    def lease(self, token: str, lease_ms: int, *, release: bool = False) -> bool:
        r = self.engine.runner.run("outbox_lease", [self.lease_key],
                                    ["release" if release else "hold", token, lease_ms])
        return bool(r["held"])


def _partition_order(p: str) -> tuple[int, str]:
    return (int(p), p) if p.isdigit() else (10**9, p)


Deliver = Callable[[Entry], Delivery]


@dataclass
class SenderSettings:
    parallel: int = 4  # partitions posted at the same time (one entry per partition at a time)
    poll_seconds: float = 5.0  # how often an idle sender looks for new entries
    timeout_seconds: float = 10.0  # the adapter's request timeout (the lease outlasts it)
    max_attempts: int = 10
    backoff_seconds: float = 30.0  # the first retry waits about this long, each next one twice as long …
    max_backoff_seconds: float = 3600.0  # … up to this
    keep_sent_days: int = 30
    prune_every_seconds: float = 600.0


@dataclass
class SenderStats:
    attempts: int = 0
    accepted: int = 0
    failed_attempts: int = 0
    rounds: int = 0
    last_error: str = ""
    holding: bool = False
    extra: dict = field(default_factory=dict)


class Sender:
    """Delivers one outbox (see the module doc). :meth:`start` runs it in a daemon thread; :meth:`step` is one
    round, for tests and the command line."""

    def __init__(self, outbox: Outbox, deliver: Deliver, settings: SenderSettings, *, clock: Clock | None = None,
                 rng: random.Random | None = None, name: str | None = None) -> None:
        self.outbox = outbox
        self.deliver = deliver
        self.settings = settings
        self.clock = clock or outbox.engine.clock  # the hall's clock, like the times the entries were written with
        self.rng = rng or random.Random()
        self.token = secrets.token_hex(12)
        self.name = name or f"outbox-{outbox.topic}"
        # the lease outlasts any post started under it (renewed before each new post), and a crashed holder's
        # lease runs out soon enough for another process to take over
        self.lease_ms = int(max(2.0, 3 * settings.timeout_seconds + 1) * 1000)
        self.stats = SenderStats()
        self._pool = ThreadPoolExecutor(max_workers=settings.parallel, thread_name_prefix=self.name)
        self._inflight: dict[str, tuple[Entry, Future]] = {}
        self._stop = threading.Event()
        self._abandoned = False
        self._thread: threading.Thread | None = None
        self._next_prune = 0.0

    # ------------------------------------------------------------------------------------------- one round
    def backoff_ms(self, attempts: int) -> int:
        """The wait before the next attempt after ``attempts`` failed ones: base · 2^(attempts−1), capped, with
        jitter (½ … 1×) so that many entries failing together do not come back together."""
        s = self.settings
        base = min(s.max_backoff_seconds, s.backoff_seconds * 2 ** min(max(0, attempts - 1), 40))
        return max(1, int(base * 1000 * (0.5 + 0.5 * self.rng.random())))

    def _post(self, entry: Entry) -> Delivery:
        try:
            return self.deliver(entry)
        except Exception as exc:  # an adapter bug or a network error it did not classify: try again later
            logger.warning("%s: delivering %s raised %s", self.name, entry.id, exc)
            return Delivery(False, f"{type(exc).__name__}: {exc}")

    def _settle(self, entry: Entry, result: Delivery) -> None:
        if self._abandoned:
            return
        now_ms = self.clock.now_ms()
        self.stats.attempts += 1
        if result.accepted:
            self.stats.accepted += 1
            self.outbox.ack(entry, result.detail or "accepted", now_ms)
            return
        self.stats.failed_attempts += 1
        self.stats.last_error = result.detail
        after = self.outbox.fail(entry, result.detail or "not accepted", permanent=result.permanent,
                                 max_attempts=self.settings.max_attempts,
                                 delay_ms=self.backoff_ms(entry.attempts + 1), now_ms=now_ms)
        if after.state == "failed":
            logger.warning("%s: entry %s failed after %s attempts: %s", self.name, entry.id, after.attempts,
                           result.detail)

    def step(self, wait_seconds: float = 0.0) -> int:
        """Settle finished posts, start due ones (while this process holds the lease); wait up to
        ``wait_seconds`` for a post to finish. Returns the number of posts in flight afterwards."""
        if self._abandoned:
            return 0
        for part, (entry, fut) in list(self._inflight.items()):
            if fut.done():
                del self._inflight[part]
                self._settle(entry, fut.result())
        now_ms = self.clock.now_ms()
        self.stats.holding = self.outbox.lease(self.token, self.lease_ms)
        later = None
        if self.stats.holding:
            room = self.settings.parallel - len(self._inflight)
            if room > 0:
                due, later = self.outbox.due(now_ms, set(self._inflight))
                for entry in due[:room]:
                    if self._abandoned:
                        break
                    self._inflight[entry.partition] = (entry, self._pool.submit(self._post, entry))
            self._maybe_prune(now_ms)
        self.stats.rounds += 1
        timeout = wait_seconds
        if later is not None:
            timeout = min(timeout, max(0.0, (later - now_ms) / 1000))
        if self._inflight:
            wait([f for _e, f in self._inflight.values()], timeout=timeout, return_when=FIRST_COMPLETED)
        elif timeout > 0:
            self._stop.wait(timeout)
        return len(self._inflight)

    def _maybe_prune(self, now_ms: int) -> None:
        if now_ms < self._next_prune:
            return
        self._next_prune = now_ms + self.settings.prune_every_seconds * 1000
        pruned = self.outbox.prune(now_ms - self.settings.keep_sent_days * 86_400_000)
        if pruned:
            logger.info("%s: forgot %s entries sent over %s days ago", self.name, pruned, self.settings.keep_sent_days)

    # ------------------------------------------------------------------------------------------- the thread
    def start(self) -> Sender:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.step(self.settings.poll_seconds)
            except redis.RedisError as exc:
                logger.warning("%s: Redis unavailable (%s); will retry", self.name, exc)
                self._stop.wait(self.settings.poll_seconds)
            except Exception:  # keep sending whatever one round did
                logger.exception("%s: round failed", self.name)
                self._stop.wait(self.settings.poll_seconds)

    def stop(self, *, release: bool = True, timeout: float | None = None) -> None:
        """Stop the thread; posts in flight finish (and are marked) first; the lease is given back."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._abandoned:
            return
        for part, (entry, fut) in list(self._inflight.items()):
            try:
                result = fut.result(timeout=self.settings.timeout_seconds + 5)
                self._settle(entry, result)
            except Exception as exc:  # noqa: BLE001 - the entry stays pending; the next sender posts it again
                logger.warning("%s: could not settle %s at stop: %s", self.name, entry.id, exc)
            del self._inflight[part]
        self._pool.shutdown(wait=False)
        if release:
            try:
                self.outbox.lease(self.token, self.lease_ms, release=True)
            except redis.RedisError:  # it expires by itself
                pass

    def abandon(self) -> None:
        """Stop at once without marking posts in flight or giving the lease back — what a crash leaves behind
        (tests use it to show that nothing is lost)."""
        self._abandoned = True
        self._stop.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
