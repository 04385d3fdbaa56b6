"""The archive of closed days: an embedded SQLite file by default (``[statistics] archive_path``).

Per day it holds the facts (one row per ticket, transfer, case, follow-up — the detail, enough to rebuild anything)
and the pre-aggregated figures the reports read: ``daily`` (counts per dimension and key), ``durations`` (the
day's waiting / service times per dimension and key, sorted, packed as int32 milliseconds) and ``durations_monthly``
(the same merged per month, so a year's median searches twelve runs instead of 365). A year of a 2,000-ticket
hall is ~20,000 ``daily`` rows, so any report reads a few thousand small rows instead of 730,000 tickets.

Writing a day replaces that day's rows in one transaction: archiving is idempotent. The SQL is plain (no SQLite-only
functions in the queries) so the same statements run on a shared PostgreSQL (see docs/statistics.md).
"""

from __future__ import annotations

import calendar
import contextlib
import logging
import sqlite3
import threading
from array import array
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path

from shared.stats.facts import (
    CaseFact,
    DayFacts,
    BookingEvent,
    RectificationEvent,
    RectificationFact,
    Resolution,
    TicketFact,
    TransferFact,
)
from shared.stats.figures import COUNT_FIELDS, NEW_COUNT_FIELDS, DayAggregate, pack, unpack

logger = logging.getLogger(__name__)

SCHEMA_VERSION = "3"  # 2: 好差评 (事项, default ratings, 追评, rectification records and their steps); 3: issue 14

_TICKET_COLS = ("day", "id", "number", "service_issued", "service", "priority", "issued_ms", "status", "first_call_ms",
                "first_window", "first_clerk", "last_call_ms", "end_ms", "window", "clerk", "service_ms", "transfers",
                "rating", "rated_ms", "rating_window", "rating_clerk", "matter_code", "matter_name", "rating_default",
                "rating_channel", "followup", "followup_ms", "kind", "realname", "green_auto", "slot_ms",
                "activated_ms", "booking", "assisted")
#: ticket columns added by schemas 2 and 3 and by 帮办代办 (with their SQL types), for archives written before
_NEW_TICKET_COLS = (("matter_code", "TEXT"), ("matter_name", "TEXT"), ("rating_default", "INTEGER NOT NULL DEFAULT 0"),
                    ("rating_channel", "TEXT"), ("followup", "INTEGER"), ("followup_ms", "INTEGER"),
                    ("kind", "TEXT NOT NULL DEFAULT 'walk_in'"), ("realname", "INTEGER NOT NULL DEFAULT 0"),
                    ("green_auto", "INTEGER NOT NULL DEFAULT 0"), ("slot_ms", "INTEGER"), ("activated_ms", "INTEGER"),
                    ("booking", "TEXT"), ("assisted", "INTEGER NOT NULL DEFAULT 0"))
_BOOKING_EVENT_COLS = ("ref", "day", "service", "kind", "detail", "at_ms")
_RECT_COLS = ("id", "day", "kind", "ref", "ticket", "service", "window", "clerk", "matter_code", "level", "assess",
              "has_contact", "opened_ms", "verify_due", "rectify_due", "reply_due")
_RECT_EVENT_COLS = ("ref", "day", "kind", "detail", "flag", "by_whom", "at_ms")
_TRANSFER_COLS = ("day", "ticket", "ts", "from_service", "from_window", "from_clerk", "to_service", "to_window",
                  "reason", "reason_text")
_CASE_COLS = ("id", "day", "ticket", "number", "service", "window", "clerk", "department", "problem", "action",
              "resolved_on_spot", "recorded_ms")
_RESOLUTION_COLS = ("kind", "ref", "day", "by_whom", "note", "at_ms")


def _sql_cols(attrs: tuple[str, ...]) -> str:
    """Column names for attribute names (``window`` is reserved in PostgreSQL: the column is ``window_no``)."""
    return ", ".join("window_no" if a == "window" else a for a in attrs)

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS days (
    day TEXT PRIMARY KEY, kind TEXT NOT NULL, rest_day INTEGER NOT NULL, last_seq INTEGER NOT NULL,
    events INTEGER NOT NULL, tickets INTEGER NOT NULL, archived_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tickets (
    day TEXT NOT NULL, id TEXT NOT NULL, number TEXT NOT NULL, service_issued TEXT NOT NULL, service TEXT NOT NULL,
    priority INTEGER NOT NULL, issued_ms INTEGER NOT NULL, status TEXT NOT NULL, first_call_ms INTEGER,
    first_window INTEGER, first_clerk TEXT, last_call_ms INTEGER, end_ms INTEGER, window_no INTEGER, clerk TEXT,
    service_ms INTEGER, transfers INTEGER NOT NULL, rating INTEGER, rated_ms INTEGER, rating_window INTEGER,
    rating_clerk TEXT, matter_code TEXT, matter_name TEXT, rating_default INTEGER NOT NULL DEFAULT 0,
    rating_channel TEXT, followup INTEGER, followup_ms INTEGER, kind TEXT NOT NULL DEFAULT 'walk_in',
    realname INTEGER NOT NULL DEFAULT 0, green_auto INTEGER NOT NULL DEFAULT 0, slot_ms INTEGER, activated_ms INTEGER,
    booking TEXT, assisted INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (day, id));
CREATE INDEX IF NOT EXISTS tickets_low_rating ON tickets (rating, day) WHERE rating <= 2;
CREATE INDEX IF NOT EXISTS tickets_id ON tickets (id);
CREATE TABLE IF NOT EXISTS transfers (
    day TEXT NOT NULL, ticket TEXT NOT NULL, ts INTEGER NOT NULL, from_service TEXT NOT NULL, from_window INTEGER,
    from_clerk TEXT, to_service TEXT, to_window INTEGER, reason TEXT, reason_text TEXT);
CREATE INDEX IF NOT EXISTS transfers_day ON transfers (day);
CREATE TABLE IF NOT EXISTS cases (
    id TEXT PRIMARY KEY, day TEXT NOT NULL, ticket TEXT NOT NULL, number TEXT NOT NULL, service TEXT NOT NULL,
    window_no INTEGER, clerk TEXT, department TEXT NOT NULL, problem TEXT NOT NULL, action TEXT NOT NULL,
    resolved_on_spot INTEGER NOT NULL, recorded_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS cases_day ON cases (day);
CREATE INDEX IF NOT EXISTS cases_open ON cases (day) WHERE resolved_on_spot = 0;
CREATE TABLE IF NOT EXISTS resolutions (
    kind TEXT NOT NULL, ref TEXT NOT NULL, day TEXT NOT NULL, by_whom TEXT NOT NULL, note TEXT NOT NULL,
    at_ms INTEGER NOT NULL, PRIMARY KEY (kind, ref));
CREATE INDEX IF NOT EXISTS resolutions_day ON resolutions (day);
CREATE TABLE IF NOT EXISTS rectifications (
    id TEXT PRIMARY KEY, day TEXT NOT NULL, kind TEXT NOT NULL, ref TEXT NOT NULL, ticket TEXT NOT NULL,
    service TEXT NOT NULL, window_no INTEGER, clerk TEXT, matter_code TEXT, level INTEGER, assess INTEGER,
    has_contact INTEGER NOT NULL, opened_ms INTEGER NOT NULL, verify_due TEXT NOT NULL, rectify_due TEXT NOT NULL,
    reply_due TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS rectifications_day ON rectifications (day);
CREATE TABLE IF NOT EXISTS rect_events (
    ref TEXT NOT NULL, day TEXT NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL, flag INTEGER NOT NULL,
    by_whom TEXT NOT NULL, at_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS rect_events_day ON rect_events (day);
CREATE INDEX IF NOT EXISTS rect_events_ref ON rect_events (ref);
CREATE TABLE IF NOT EXISTS booking_events (
    ref TEXT NOT NULL, day TEXT NOT NULL, service TEXT NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL,
    at_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS booking_events_day ON booking_events (day);
CREATE TABLE IF NOT EXISTS daily (
    day TEXT NOT NULL, dim TEXT NOT NULL, key TEXT NOT NULL, {", ".join(f"{f} INTEGER NOT NULL" for f in COUNT_FIELDS)},
    PRIMARY KEY (day, dim, key));
CREATE TABLE IF NOT EXISTS durations (
    day TEXT NOT NULL, dim TEXT NOT NULL, key TEXT NOT NULL, metric TEXT NOT NULL, n INTEGER NOT NULL,
    ms BLOB NOT NULL, PRIMARY KEY (day, dim, metric, key));
CREATE TABLE IF NOT EXISTS durations_monthly (
    month TEXT NOT NULL, dim TEXT NOT NULL, key TEXT NOT NULL, metric TEXT NOT NULL, n INTEGER NOT NULL,
    ms BLOB NOT NULL, PRIMARY KEY (month, dim, metric, key));
"""


class Archive:
    """The SQLite archive. One connection per call (threads and processes may share the file; WAL mode)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._ready = False
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection inside a transaction (committed on success)."""
        self._ensure()
        conn = sqlite3.connect(self.path, timeout=30)
        try:
            with conn:
                yield conn
        finally:
            conn.close()

    def _ensure(self) -> None:
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(SCHEMA)
                self._upgrade(conn)
                conn.execute("INSERT OR IGNORE INTO meta (name, value) VALUES ('schema', ?)", (SCHEMA_VERSION,))
                conn.execute("UPDATE meta SET value = ? WHERE name = 'schema'", (SCHEMA_VERSION,))
                conn.commit()
            finally:
                conn.close()
            self._ready = True

    @staticmethod
    def _upgrade(conn: sqlite3.Connection) -> None:
        """Schema 1 → 2: the columns 好差评 added (the new tables come from SCHEMA). Days archived before keep
        their figures; their citizen ratings were all active ratings (rated_visits = ratings)."""
        have = {row[1] for row in conn.execute("PRAGMA table_info(tickets)")}
        for name, kind in _NEW_TICKET_COLS:
            if name not in have:
                conn.execute(f"ALTER TABLE tickets ADD COLUMN {name} {kind}")
        have = {row[1] for row in conn.execute("PRAGMA table_info(transfers)")}
        for name in ("reason", "reason_text"):  # the clerk's reason for a transfer (issue 12)
            if name not in have:
                conn.execute(f"ALTER TABLE transfers ADD COLUMN {name} TEXT")
        have = {row[1] for row in conn.execute("PRAGMA table_info(daily)")}
        missing = [f for f in NEW_COUNT_FIELDS if f not in have]
        for name in missing:
            conn.execute(f"ALTER TABLE daily ADD COLUMN {name} INTEGER NOT NULL DEFAULT 0")
        if "rated_visits" in missing:
            conn.execute("UPDATE daily SET rated_visits = ratings")
            logger.info("statistics archive upgraded to schema %s", SCHEMA_VERSION)

    # ----------------------------------------------------------------------------------------- writing
    def write_day(self, facts: DayFacts, agg: DayAggregate, archived_ms: int, *, update_month: bool = True) -> None:
        """Replace everything stored for ``facts.day`` with these facts and their aggregate (one transaction); then
        rebuild the month's merged durations (``update_month`` False: the caller calls :meth:`rebuild_month`)."""
        day = facts.day
        with self.connect() as conn:
            for table in ("tickets", "transfers", "cases", "resolutions", "rectifications", "rect_events",
                          "booking_events", "daily", "durations", "days"):
                conn.execute(f"DELETE FROM {table} WHERE day = ?", (day,))
            conn.executemany(_insert("rectifications", _RECT_COLS, "OR REPLACE"),
                             ([getattr(r, c) for c in _RECT_COLS] for r in facts.rectifications.values()))
            conn.executemany(_insert("rect_events", _RECT_EVENT_COLS),
                             ((e.ref, e.day, e.kind, e.detail, int(e.flag), e.by, e.at_ms) for e in facts.rect_events))
            conn.executemany(_insert("booking_events", _BOOKING_EVENT_COLS),
                             ([getattr(e, c) for c in _BOOKING_EVENT_COLS] for e in facts.booking_events))
            conn.executemany(_insert("tickets", _TICKET_COLS),
                             ([getattr(t, c) for c in _TICKET_COLS] for t in facts.tickets.values()))
            conn.executemany(_insert("transfers", _TRANSFER_COLS),
                             ([getattr(t, c) for c in _TRANSFER_COLS] for t in facts.transfers))
            conn.executemany(_insert("cases", _CASE_COLS, "OR REPLACE"),
                             ([getattr(c, col) for col in _CASE_COLS] for c in facts.cases.values()))
            conn.executemany(_insert("resolutions", _RESOLUTION_COLS, "OR IGNORE"),
                             ((r.kind, r.ref, r.day, r.by, r.note, r.at_ms) for r in facts.resolutions.values()))
            conn.executemany(_insert("daily", ("day", "dim", "key", *COUNT_FIELDS)),
                             ((day, dim, key, *(c[f] for f in COUNT_FIELDS)) for (dim, key), c in agg.counts.items()))
            conn.executemany(_insert("durations", ("day", "dim", "key", "metric", "n", "ms")),
                             ((day, dim, key, metric, len(v), pack(v)) for (dim, key, metric), v in agg.durations.items()))
            conn.execute(_insert("days", ("day", "kind", "rest_day", "last_seq", "events", "tickets", "archived_ms")),
                         (day, agg.kind, int(agg.rest_day), facts.last_seq, facts.events, len(facts.tickets), archived_ms))
            if update_month:
                self._rebuild_month(conn, day[:7])

    def rebuild_month(self, month: str) -> None:
        """Merge a month's daily durations into one sorted run per dimension, key and metric (``YYYY-MM``)."""
        with self.connect() as conn:
            self._rebuild_month(conn, month)

    @staticmethod
    def _rebuild_month(conn: sqlite3.Connection, month: str) -> None:
        runs: dict[tuple[str, str, str], array] = {}
        for dim, key, metric, blob in conn.execute(
                "SELECT dim, key, metric, ms FROM durations WHERE day BETWEEN ? AND ?", (month + "-01", month + "-31")):
            unpack(blob, runs.setdefault((dim, key, metric), array("i")))
        conn.execute("DELETE FROM durations_monthly WHERE month = ?", (month,))
        conn.executemany(
            "INSERT INTO durations_monthly (month, dim, key, metric, n, ms) VALUES (?, ?, ?, ?, ?, ?)",
            ((month, dim, key, metric, len(v), pack(array("i", sorted(v)))) for (dim, key, metric), v in runs.items()))

    # ----------------------------------------------------------------------------------------- reading
    def days(self) -> dict[str, dict]:
        """Archived days → {kind, rest_day, last_seq, events, tickets}."""
        with self.connect() as conn:
            return _days(conn)

    def first_day(self) -> str | None:
        with self.connect() as conn:
            row = conn.execute("SELECT MIN(day) FROM days").fetchone()
        return row[0] if row else None

    def load_day(self, day: str) -> DayFacts:
        """The stored facts of a day (to apply late events on top of them)."""
        facts = DayFacts(day)
        with self.connect() as conn:
            for row in conn.execute(f"SELECT {_sql_cols(_TICKET_COLS)} FROM tickets WHERE day = ?", (day,)):
                t = TicketFact(**dict(zip(_TICKET_COLS, row)))
                t.priority = bool(t.priority)
                t.rating_default = bool(t.rating_default)
                t.realname, t.green_auto = bool(t.realname), bool(t.green_auto)
                facts.tickets[t.id] = t
            for row in conn.execute(f"SELECT {', '.join(_TRANSFER_COLS)} FROM transfers WHERE day = ? ORDER BY ts", (day,)):
                facts.transfers.append(TransferFact(**dict(zip(_TRANSFER_COLS, row))))
            for row in conn.execute(f"SELECT {_sql_cols(_CASE_COLS)} FROM cases WHERE day = ?", (day,)):
                c = CaseFact(**dict(zip(_CASE_COLS, row)))
                c.resolved_on_spot = bool(c.resolved_on_spot)
                facts.cases[c.id] = c
            for row in conn.execute(f"SELECT {', '.join(_RESOLUTION_COLS)} FROM resolutions WHERE day = ?", (day,)):
                r = Resolution(row[0], row[1], row[2], row[3], row[4], row[5])
                facts.resolutions[(r.kind, r.ref)] = r
            for row in conn.execute(f"SELECT {_sql_cols(_RECT_COLS)} FROM rectifications WHERE day = ?", (day,)):
                rf = _rect(row)
                facts.rectifications[rf.id] = rf
            for row in conn.execute(f"SELECT {', '.join(_BOOKING_EVENT_COLS)} FROM booking_events WHERE day = ? "
                                    "ORDER BY at_ms", (day,)):
                facts.booking_events.append(BookingEvent(*row))
            for row in conn.execute(f"SELECT {', '.join(_RECT_EVENT_COLS)} FROM rect_events WHERE day = ? "
                                    "ORDER BY at_ms", (day,)):
                facts.rect_events.append(_rect_event(row))
            meta = conn.execute("SELECT last_seq, events FROM days WHERE day = ?", (day,)).fetchone()
        if meta:
            facts.last_seq, facts.events = meta
        return facts

    def daily_rows(self, start: str, end: str, dims: Iterable[str]) -> list[tuple]:
        """(day, dim, key, counts…) rows of the range for the dimensions asked."""
        with self.connect() as conn:
            return _daily_rows(conn, start, end, dims)

    def duration_rows(self, start: str, end: str, dim: str, *, monthly: bool = False) -> list[tuple[str, str, str, bytes]]:
        """(day, key, metric, packed sorted ms) rows of one dimension in the range. ``monthly``: whole months inside
        the range come as one merged run each (dated the 1st), the rest day by day — far fewer runs to search."""
        months = _whole_months(start, end) if monthly else []
        with self.connect() as conn:
            rows = []
            for m in months:
                rows += conn.execute("SELECT ?, key, metric, ms FROM durations_monthly WHERE month = ? AND dim = ?",
                                     (m + "-01", m, dim)).fetchall()
            covered = set(months)
            for day, key, metric, blob in conn.execute(
                    "SELECT day, key, metric, ms FROM durations WHERE day BETWEEN ? AND ? AND dim = ?", (start, end, dim)):
                if day[:7] not in covered:
                    rows.append((day, key, metric, blob))
            return rows

    def counts_and_transfers(self, start: str, end: str,
                             dims: Iterable[str]) -> tuple[dict[str, dict], list[tuple], list[TransferFact]]:
        """What the transfer report takes from the archive, in ONE read transaction (one version of every day, even
        while the archiver writes): the days on record (as :meth:`days`), the range's ``daily`` rows of ``dims`` (as
        :meth:`daily_rows`) and its transfers (转办), oldest first."""
        with self.connect() as conn:
            conn.execute("BEGIN")  # the SELECTs below share one snapshot (WAL), not one each
            return _days(conn), _daily_rows(conn, start, end, dims), _transfers(conn, start, end)

    def cases(self, start: str | None = None, end: str | None = None, *, open_only: bool = False,
              resolved: bool | None = None) -> list[CaseFact]:
        """Cases recorded in the range (all when no range); ``open_only``: not resolved on the spot; ``resolved``
        True / False: with / without a later resolution in the archive."""
        sql = f"SELECT {_sql_cols(_CASE_COLS)} FROM cases WHERE 1 = 1"
        args: list = []
        if start is not None:
            sql += " AND day BETWEEN ? AND ?"
            args += [start, end]
        if open_only:
            sql += " AND resolved_on_spot = 0"
        if resolved is not None:
            sql += (" AND " if resolved else " AND NOT ") + \
                "EXISTS (SELECT 1 FROM resolutions r WHERE r.kind = 'case' AND r.ref = cases.id)"
        with self.connect() as conn:
            rows = conn.execute(sql + " ORDER BY recorded_ms", args).fetchall()
            out = []
            for row in rows:
                c = CaseFact(**dict(zip(_CASE_COLS, row)))
                c.resolved_on_spot = bool(c.resolved_on_spot)
                out.append(c)
        return out

    def resolutions(self, kind: str, refs: Iterable[str]) -> dict[tuple[str, str], Resolution]:
        """The archived follow-ups of these references."""
        refs = list(dict.fromkeys(refs))
        out: dict[tuple[str, str], Resolution] = {}
        with self.connect() as conn:
            for i in range(0, len(refs), 500):
                chunk = refs[i:i + 500]
                for r in conn.execute(f"SELECT {', '.join(_RESOLUTION_COLS)} FROM resolutions WHERE kind = ? AND ref IN "
                                      f"({', '.join('?' for _ in chunk)})", [kind, *chunk]):
                    out[(r[0], r[1])] = Resolution(r[0], r[1], r[2], r[3], r[4], r[5])
        return out

    def rectifications(self, start: str, end: str) -> list[RectificationFact]:
        """The rectification records opened for visits (and cases) of the range."""
        with self.connect() as conn:
            rows = conn.execute(f"SELECT {_sql_cols(_RECT_COLS)} FROM rectifications WHERE day BETWEEN ? AND ? "
                                "ORDER BY opened_ms", (start, end)).fetchall()
        return [_rect(row) for row in rows]

    def rect_events(self, refs: Iterable[str] | None = None) -> list[RectificationEvent]:
        """What was done on these records (all records: ``refs`` None), oldest first."""
        sql = f"SELECT {', '.join(_RECT_EVENT_COLS)} FROM rect_events"
        with self.connect() as conn:
            if refs is None:
                return [_rect_event(r) for r in conn.execute(sql + " ORDER BY at_ms")]
            refs = list(dict.fromkeys(refs))
            out = []
            for i in range(0, len(refs), 500):
                chunk = refs[i:i + 500]
                out += [_rect_event(r) for r in conn.execute(
                    f"{sql} WHERE ref IN ({', '.join('?' for _ in chunk)}) ORDER BY at_ms", chunk)]
        return sorted(out, key=lambda e: e.at_ms)

    def ticket_rating(self, ticket_id: str) -> int | None:
        """The archived rating of one ticket (None: unrated or not archived)."""
        with self.connect() as conn:
            row = conn.execute("SELECT rating FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
        return row[0] if row else None

    def low_ratings(self, max_level: int, *, followed_up: bool | None = None) -> list[TicketFact]:
        """Tickets rated ``max_level`` (≤ 2) or lower — the follow-up list — oldest first; ``followed_up`` True /
        False: with / without a follow-up in the archive."""
        sql = f"SELECT {_sql_cols(_TICKET_COLS)} FROM tickets WHERE rating <= 2 AND rating <= ?"
        args: list = [max_level]
        if followed_up is not None:
            sql += (" AND " if followed_up else " AND NOT ") + \
                "EXISTS (SELECT 1 FROM resolutions r WHERE r.kind = 'rating' AND r.ref = tickets.id)"
        with self.connect() as conn:
            rows = conn.execute(sql + " ORDER BY rated_ms", args).fetchall()
        out = []
        for row in rows:
            t = TicketFact(**dict(zip(_TICKET_COLS, row)))
            t.priority = bool(t.priority)
            t.rating_default = bool(t.rating_default)
            out.append(t)
        return out


def _days(conn: sqlite3.Connection) -> dict[str, dict]:
    rows = conn.execute("SELECT day, kind, rest_day, last_seq, events, tickets FROM days").fetchall()
    return {r[0]: {"kind": r[1], "rest_day": bool(r[2]), "last_seq": r[3], "events": r[4], "tickets": r[5]}
            for r in rows}


def _daily_rows(conn: sqlite3.Connection, start: str, end: str, dims: Iterable[str]) -> list[tuple]:
    dims = list(dims)
    marks = ", ".join("?" for _ in dims)
    return conn.execute(f"SELECT day, dim, key, {', '.join(COUNT_FIELDS)} FROM daily "
                        f"WHERE day BETWEEN ? AND ? AND dim IN ({marks})", (start, end, *dims)).fetchall()


def _transfers(conn: sqlite3.Connection, start: str, end: str) -> list[TransferFact]:
    rows = conn.execute(f"SELECT {', '.join(_TRANSFER_COLS)} FROM transfers WHERE day BETWEEN ? AND ? "
                        "ORDER BY ts", (start, end)).fetchall()
    return [TransferFact(**dict(zip(_TRANSFER_COLS, row))) for row in rows]


def _rect(row) -> RectificationFact:
    r = RectificationFact(**dict(zip(_RECT_COLS, row)))
    r.has_contact = bool(r.has_contact)
    return r


def _rect_event(row) -> RectificationEvent:
    return RectificationEvent(ref=row[0], day=row[1], kind=row[2], detail=row[3], flag=bool(row[4]), by=row[5],
                              at_ms=row[6])


def _whole_months(start: str, end: str) -> list[str]:
    """The months (YYYY-MM) lying entirely within [start, end]."""
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    out = []
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month):
        month_end = date(y, m, calendar.monthrange(y, m)[1])
        if date(y, m, 1) >= first and month_end <= last:
            out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _insert(table: str, cols: tuple[str, ...], verb: str = "") -> str:
    return f"INSERT {verb} INTO {table} ({_sql_cols(cols)}) VALUES ({', '.join('?' for _ in cols)})"
