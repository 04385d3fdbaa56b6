"""The figures: daily aggregates of the facts (per dimension and key), and the figures a report shows.

Definitions (docs/statistics.md says the same in prose; keep the two together):

* dimensions: ``total`` (key ``all``), ``daytype`` (the total again, keyed ``work`` or ``rest`` — 工作日 / 休息日),
  ``service``, ``window``, ``clerk``, ``hour`` (local hour, load only).
* 取号 issued — tickets issued, counted in the service they were issued for (not per window or clerk).
* 办件 handled / 咨询 consulted — tickets finished with that outcome, counted once, where they were finished
  (service, window, clerk of the finish; a transferred ticket counts only at its target).
* 过号 no-show — tickets marked no-show, where they were marked.
* 转办 transfers — transfer events (a ticket moved twice counts twice), at the window / clerk / service it left.
* 取消 cancelled — tickets withdrawn, in the service they waited for; 未服务 unserved — still waiting or called at
  the end of the day (for today: now). issued = handled + consulted + no-show + cancelled + unserved.
* 等候时长 wait — issue → first call, for every called ticket; service = issued for, window / clerk = first call.
* 办理时长 service time — last call → finish, for handled and consulted tickets, where finished.
* 满意率 satisfaction — citizens' own first ratings of level 5, 4, 3 (非常满意, 满意, 基本满意) ÷ all their first
  ratings; counted on the rated ticket's day, at the rated window, for the clerk who served it, the service it ended
  in and the 事项 served. Default ratings (默认评价) are counted apart (``defaults``, ``default_satisfied``);
  满意率 with them = (satisfied + default_satisfied) ÷ (ratings + defaults). A 追评 is counted apart (``followups``,
  ``followup_bad``) and does not change the first rating's level. A 差评 ruled invalid on appeal leaves these
  counts when the report is made (reports.py subtracts it), and stays in the audit trail.
* 主动评价率 active rating — visits with a citizen's own first rating (``rated_visits``, ruled invalid or not) ÷
  visits served (办件 + 咨询).
* 差评数 bad ratings — 不满意 / 非常不满意 first ratings and 追评, less those ruled invalid. The rectification figures
  (整改率, 按时整改率, 回访率, overdue) are computed when the report is made from the records (reports.py).
* 办结率 completion — 办结 ÷ 受理. 受理 (matters accepted) = handled tickets without a 办不成事 case + every case
  recorded; 未办结 = cases not resolved on the spot and not resolved since (as of the report); 办结 = 受理 − 未办结.
* issue 14 — counted in the service, per day (not per window or clerk): 实名 ``realname`` (tickets taken with an ID),
  ``green_auto`` (绿色通道 given by age); 远程取号 ``remote_taken`` / ``remote_activated`` (its holder checked in) /
  ``remote_expired`` (lapsed: its turn came first; also the ticket status ``expired``, so issued = handled +
  consulted + no-show + cancelled + expired + unserved); 预约 ``bookings_made`` (confirmed), ``bookings_cancelled``
  (confirmed ones cancelled), ``bookings_rescheduled`` — on the day it happened —, ``bookings_checked_in`` and
  ``bookings_missed`` (爽约) — on the slot's day; 签到率 check-in rate = checked in ÷ (checked in + missed), 爽约率
  no-show rate = missed ÷ (checked in + missed). Waits by kind: ``wait_appointment`` — from the slot's start (or the
  check-in, if later) to the first call —, ``wait_walk_in`` — issue → first call of tickets taken in the hall (late
  bookings' walk-in tickets included; remote tickets in neither).
* mean, median (mean of the two middle values for an even count), p90 (nearest rank: the ⌈0.9·n⌉-th smallest),
  in seconds rounded half-up to one decimal; rates in percent rounded half-up to one decimal.
"""

from __future__ import annotations

import sys
from array import array
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from itertools import repeat
from zoneinfo import ZoneInfo

from shared.stats.facts import APPOINTMENT, CANCELLED, CONSULTED, EXPIRED, HANDLED, NO_SHOW, UNSERVED, WALK_IN, DayFacts

DURATION_DIMENSIONS = ("total", "daytype", "service", "window", "clerk", "matter")
METRICS = ("wait", "service", "appt_wait", "walkin_wait")
TOTAL_KEY = "all"
SATISFIED_LEVELS = (5, 4, 3)
COUNT_FIELDS = ("issued", "handled", "consulted", "no_show", "transfers", "cancelled", "unserved", "ratings",
                "r1", "r2", "r3", "r4", "r5", "accepted", "cases", "wait_n", "wait_sum", "service_n", "service_sum",
                "rated_visits", "defaults", "default_satisfied", "followups", "followup_bad",
                "expired", "realname", "green_auto", "bookings_made", "bookings_cancelled", "bookings_rescheduled",
                "bookings_checked_in", "bookings_missed", "remote_taken", "remote_activated", "remote_expired",
                "appt_wait_n", "appt_wait_sum", "walkin_wait_n", "walkin_wait_sum", "help_requests", "assisted")
#: counts added with 好差评 (archive schema 2) and issue 14 (schema 3), help_requests and 帮办代办 (assisted) (the kiosks' 需要帮助); days archived before have zeros, except
#: rated_visits = ratings
NEW_COUNT_FIELDS = ("rated_visits", "defaults", "default_satisfied", "followups", "followup_bad",
                    "expired", "realname", "green_auto", "bookings_made", "bookings_cancelled", "bookings_rescheduled",
                    "bookings_checked_in", "bookings_missed", "remote_taken", "remote_activated", "remote_expired",
                    "appt_wait_n", "appt_wait_sum", "walkin_wait_n", "walkin_wait_sum", "help_requests", "assisted")
#: the rectification figures of a report row, tallied when the report is made (reports.py)
RECT_FIELDS = ("invalid_ratings", "rectifications", "rectified", "rectified_on_time", "rectify_due",
               "callbacks_due", "called_back", "overdue", "appeals", "appeals_upheld")
BAD_LEVELS = (2, 1)
#: figures that are not attributed to a window or a clerk (a ticket is issued for a service, not at a window)
SERVICE_ONLY = ("issued", "cancelled", "unserved", "expired", "realname_issued", "green_auto", "bookings", "remote",
                "help_requests")
#: dimensions whose rows leave those figures blank
NOT_SERVICE = ("window", "clerk", "matter")


def new_counts() -> dict[str, int]:
    return dict.fromkeys(COUNT_FIELDS, 0)


@dataclass
class DayAggregate:
    """One day's counts per (dimension, key) and sorted durations (ms) per (dimension, key, metric)."""

    day: str
    kind: str
    rest_day: bool
    counts: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    durations: dict[tuple[str, str, str], array] = field(default_factory=dict)


def aggregate(facts: DayFacts, kind: str, rest_day: bool, tz: ZoneInfo) -> DayAggregate:
    """The day's aggregate (see the module doc for what counts where)."""
    agg = DayAggregate(facts.day, kind, rest_day)
    tally = _Tally(agg, rest_day, tz)
    total, daytype = tally.total, tally.daytype
    with_case = {c.ticket for c in facts.cases.values()}
    for t in facts.tickets.values():
        _fold_outcome(tally, t, accepted=t.id not in with_case)
        _fold_wait(tally, t)
        _fold_reception(tally, t)
        _fold_rating(tally, t)
        if t.assisted:  # 帮办代办: its service, and the window and clerk that served it (if any yet)
            tally.bump((total, daytype, ("service", _key(t.service_issued)), ("window", _key(t.window)),
                        ("clerk", _key(t.clerk))), "assisted")
    for tr in facts.transfers:
        tally.bump((total, daytype, ("service", _key(tr.from_service)), ("window", _key(tr.from_window)),
                    ("clerk", _key(tr.from_clerk))), "transfers")
    for b in facts.booking_events:
        tally.bump((total, daytype, ("service", _key(b.service))), f"bookings_{b.kind}")
    for c in facts.cases.values():
        where = (total, daytype, ("service", _key(c.service)), ("window", _key(c.window)), ("clerk", _key(c.clerk)))
        tally.bump(where, "accepted")
        tally.bump(where, "cases")
    if facts.help_requests:  # the kiosks' 需要帮助: the day's, not a service's
        for _k, c in tally.rows((total, daytype)):
            c["help_requests"] += facts.help_requests
    durations = agg.durations
    for k, a in durations.items():
        durations[k] = array("i", sorted(a))
    return agg


def _key(v) -> str | None:
    return None if v is None or v == "" else str(v)


class _Tally:
    """Counts and durations of one day's aggregate, by (dimension, key) rows created on first use."""

    def __init__(self, agg: DayAggregate, rest_day: bool, tz: ZoneInfo) -> None:
        self.counts, self.durations, self.tz = agg.counts, agg.durations, tz
        self.total = ("total", TOTAL_KEY)
        self.daytype = ("daytype", "rest" if rest_day else "work")  # the day's total again, under its kind
        self._hour_of: dict[int, str] = {}

    def rows(self, keys):
        """The count rows of ``keys`` (skipping keys with no value), created on first use."""
        counts = self.counts
        for k in keys:
            if k[1] is None:
                continue
            c = counts.get(k)
            if c is None:
                c = counts[k] = new_counts()
            yield k, c

    def bump(self, keys, name: str) -> None:
        for _k, c in self.rows(keys):
            c[name] += 1

    def record(self, keys, metric: str, ms: int) -> None:
        ms = min(max(0, int(ms)), 2**31 - 1)
        n_name, sum_name = f"{metric}_n", f"{metric}_sum"
        durations = self.durations
        for k, c in self.rows(keys):
            c[n_name] += 1
            c[sum_name] += ms
            k = (k[0], k[1], metric)
            a = durations.get(k)
            if a is None:
                a = durations[k] = array("i")
            a.append(ms)

    def hour(self, ms: int) -> str:
        h = ms // 60000  # minutes since the epoch: the same local hour within a minute
        found = self._hour_of.get(h)
        if found is None:
            found = self._hour_of[h] = f"{datetime.fromtimestamp(ms / 1000, self.tz).hour:02d}"
        return found


def _fold_outcome(tally: _Tally, t, *, accepted: bool) -> None:
    """Issued, and how the ticket ended: handled / consulted / no-show (with service time), cancelled, expired,
    unserved. ``accepted``: a handled ticket without a 办不成事 case counts as accepted."""
    total, daytype = tally.total, tally.daytype
    tally.bump((total, daytype, ("service", _key(t.service_issued)), ("hour", tally.hour(t.issued_ms))), "issued")
    status = t.status
    if status in (HANDLED, CONSULTED, NO_SHOW):
        where = (total, daytype, ("service", _key(t.service)), ("window", _key(t.window)), ("clerk", _key(t.clerk)),
                 ("matter", _key(t.matter_code) if status != NO_SHOW else None))
        tally.bump(where, status)
        if t.end_ms is not None:
            tally.bump((("hour", tally.hour(t.end_ms)),), status)
        if status == HANDLED and accepted:
            tally.bump(where, "accepted")
        if status != NO_SHOW and t.service_ms is not None:
            tally.record(where, "service", t.service_ms)
    elif status == CANCELLED:
        tally.bump((total, daytype, ("service", _key(t.service))), "cancelled")
    elif status == EXPIRED:
        tally.bump((total, daytype, ("service", _key(t.service))), "expired")
    elif status in UNSERVED:
        tally.bump((total, daytype, ("service", _key(t.service))), "unserved")


def _fold_wait(tally: _Tally, t) -> None:
    """The wait to the first call, where it was first called; appointments' and walk-ins' waits apart."""
    wait = t.wait_ms
    if wait is None:
        return
    waited = (tally.total, tally.daytype, ("service", _key(t.service_issued)), ("window", _key(t.first_window)),
              ("clerk", _key(t.first_clerk)))
    tally.record(waited, "wait", wait)
    if t.kind == APPOINTMENT:
        tally.record(waited, "appt_wait", t.appointment_wait_ms)
    elif t.kind == WALK_IN:
        tally.record(waited, "walkin_wait", wait)


def _fold_reception(tally: _Tally, t) -> None:
    """Real-name tickets, automatic 绿色通道, remote tickets taken / activated / expired."""
    issued_for = (tally.total, tally.daytype, ("service", _key(t.service_issued)))
    if t.realname:
        tally.bump(issued_for, "realname")
    if t.green_auto:
        tally.bump(issued_for, "green_auto")
    if t.kind == "remote":
        tally.bump(issued_for, "remote_taken")
        if t.activated_ms is not None:
            tally.bump(issued_for, "remote_activated")
        if t.status == EXPIRED:
            tally.bump(issued_for, "remote_expired")


def _fold_rating(tally: _Tally, t) -> None:
    """The visit's rating (given or by default) and its 追评, where the rated service was given."""
    if t.rating is None and t.followup is None:
        return
    rated = (tally.total, tally.daytype, ("service", _key(t.service)), ("window", _key(t.rating_window or t.window)),
             ("clerk", _key(t.rating_clerk or t.clerk)), ("matter", _key(t.matter_code)))
    if t.rating is not None and t.rating_default:
        tally.bump(rated, "defaults")
        if t.rating in SATISFIED_LEVELS:
            tally.bump(rated, "default_satisfied")
    elif t.rating is not None:
        tally.bump(rated, "ratings")
        tally.bump(rated, f"r{t.rating}")
        tally.bump(rated, "rated_visits")
    if t.followup is not None:
        tally.bump(rated, "followups")
        if t.followup in BAD_LEVELS:
            tally.bump(rated, "followup_bad")


# --------------------------------------------------------------------------------------------- durations as bytes
def pack(values: array) -> bytes:
    """Sorted int32 milliseconds, little-endian."""
    if sys.byteorder == "big":  # pragma: no cover - every supported machine is little-endian
        values = array("i", values)
        values.byteswap()
    return values.tobytes()


def unpack(blob: bytes, into: array) -> None:
    if sys.byteorder == "big":  # pragma: no cover
        tmp = array("i")
        tmp.frombytes(blob)
        tmp.byteswap()
        into.extend(tmp)
    else:
        into.frombytes(blob)


# --------------------------------------------------------------------------------------------- the figures
def round1(x: float | Decimal | None) -> float | None:
    """Half-up to one decimal (0.05 → 0.1), the way a hall's report rounds."""
    if x is None:
        return None
    return float(Decimal(str(x)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def seconds(ms: float | None) -> float | None:
    return None if ms is None else round1(Decimal(str(ms)) / 1000)


def percent(part: int, whole: int) -> float | None:
    return None if whole == 0 else round1(Decimal(part) * 100 / Decimal(whole))


def kth_smallest(runs: list[array], k: int) -> int:
    """The k-th smallest value (1-based) of several sorted runs, without merging them: a binary search on the value,
    counting with bisect in each run. Exact. The search starts between the smallest and the largest of the runs' own
    (k/n)-quantiles, which always bracket the answer."""
    n = sum(map(len, runs))
    lo = hi = None
    for r in runs:
        m = len(r)
        v = r[min(m - 1, max(0, -(-k * m // n) - 1))]  # the run's ⌈(k/n)·m⌉-th value
        lo = v if lo is None or v < lo else lo
        hi = v if hi is None or v > hi else hi
    count = len(runs)
    while lo < hi:
        mid = (lo + hi) // 2
        if sum(map(bisect_right, runs, repeat(mid, count))) >= k:
            hi = mid
        else:
            lo = mid + 1
    return lo


def duration_figures(runs: list[array], total_ms: int | None = None) -> dict:
    """n, mean, median, p90 (seconds) of sorted millisecond runs; ``total_ms`` (their sum) when already known."""
    runs = [r for r in runs if len(r)]
    n = sum(map(len, runs))
    if n == 0:
        return {"n": 0, "mean_s": None, "median_s": None, "p90_s": None}
    if len(runs) == 1:
        only = runs[0]

        def kth(k: int) -> int:
            return only[k - 1]
    elif n < 120 * len(runs):  # many short runs: sorting them all is cheaper than many bisects
        merged = array("i")
        for r in runs:
            merged.extend(r)
        ordered = sorted(merged)  # sorted runs: Timsort merges them

        def kth(k: int) -> int:
            return ordered[k - 1]
    else:
        def kth(k: int) -> int:
            return kth_smallest(runs, k)
    mid = n // 2
    median = Decimal(kth(mid + 1)) if n % 2 else Decimal(kth(mid) + kth(mid + 1)) / 2
    p90 = kth(-(-9 * n // 10))  # ⌈0.9·n⌉, in integers
    if total_ms is None:
        total_ms = sum(map(sum, runs))
    return {"n": n, "mean_s": seconds(Decimal(total_ms) / n), "median_s": seconds(median), "p90_s": seconds(p90)}


class Accumulator:
    """Sums counts and collects durations of one report row."""

    def __init__(self) -> None:
        self.counts = new_counts()
        self.parts: dict[str, list[array]] = {m: [] for m in METRICS}
        self.open_cases = 0
        self.days = 0
        self.rect = dict.fromkeys(RECT_FIELDS, 0)

    def add_counts(self, c: dict[str, int]) -> None:
        mine = self.counts
        for k, v in c.items():
            if k in mine:
                mine[k] += v

    def add_durations(self, metric: str, values: array) -> None:
        self.parts[metric].append(values)

    def merge(self, other: Accumulator) -> None:
        """Add ``other`` (another hall's row, say) into this one: counts, open cases and rectification tallies add,
        duration runs join (shared, not copied), so every mean, median, P90 and rate is computed afresh from the
        union — never an average of averages."""
        self.add_counts(other.counts)
        for metric, runs in other.parts.items():
            self.parts[metric].extend(runs)
        self.open_cases += other.open_cases
        self.days += other.days
        for k, v in other.rect.items():
            self.rect[k] += v

    def figures(self, *, service_only: bool = True) -> dict:
        """The row's figures; ``service_only`` False blanks the figures that are not attributed (window, clerk)."""
        c = self.counts
        satisfied = sum(c[f"r{lv}"] for lv in SATISFIED_LEVELS)
        completed = c["accepted"] - self.open_cases
        out = {
            "issued": c["issued"], "handled": c["handled"], "consulted": c["consulted"], "no_show": c["no_show"],
            "transfers": c["transfers"], "cancelled": c["cancelled"], "unserved": c["unserved"],
            "wait": duration_figures(self.parts["wait"], c["wait_sum"]),
            "service_time": duration_figures(self.parts["service"], c["service_sum"]),
            "accepted": c["accepted"], "cases": c["cases"], "open_cases": self.open_cases, "completed": completed,
            "completion_rate": percent(completed, c["accepted"]),
            "ratings": c["ratings"], "satisfied": satisfied, "satisfaction_rate": percent(satisfied, c["ratings"]),
            "levels": {str(lv): c[f"r{lv}"] for lv in (5, 4, 3, 2, 1)},
        }
        r = self.rect
        served = c["handled"] + c["consulted"]
        out.update({
            "default_ratings": c["defaults"], "default_satisfied": c["default_satisfied"],
            "satisfaction_rate_with_default": percent(satisfied + c["default_satisfied"], c["ratings"] + c["defaults"]),
            "rated_visits": c["rated_visits"], "active_rating_rate": percent(c["rated_visits"], served),
            "followups": c["followups"], "invalid_ratings": r["invalid_ratings"],
            "bad_ratings": c["r1"] + c["r2"] + c["followup_bad"],
            "rectifications": r["rectifications"], "rectified": r["rectified"],
            "rectification_rate": percent(r["rectified"], r["rectifications"]),
            "rectified_on_time": r["rectified_on_time"], "rectify_due": r["rectify_due"],
            "on_time_rate": percent(r["rectified_on_time"], r["rectify_due"]),
            "callbacks_due": r["callbacks_due"], "called_back": r["called_back"],
            "callback_rate": percent(r["called_back"], r["callbacks_due"]),
            "overdue": r["overdue"], "appeals": r["appeals"], "appeals_upheld": r["appeals_upheld"],
            "assisted": c["assisted"],
            "help_requests": c["help_requests"],
        })
        due = c["bookings_checked_in"] + c["bookings_missed"]
        out.update({
            "expired": c["expired"], "realname_issued": c["realname"], "green_auto": c["green_auto"],
            "bookings": {"made": c["bookings_made"], "cancelled": c["bookings_cancelled"],
                         "rescheduled": c["bookings_rescheduled"], "due": due, "checked_in": c["bookings_checked_in"],
                         "missed": c["bookings_missed"], "check_in_rate": percent(c["bookings_checked_in"], due),
                         "no_show_rate": percent(c["bookings_missed"], due)},
            "remote": {"taken": c["remote_taken"], "activated": c["remote_activated"], "expired": c["remote_expired"],
                       "activation_rate": percent(c["remote_activated"], c["remote_taken"])},
            "wait_appointment": duration_figures(self.parts["appt_wait"], c["appt_wait_sum"]),
            "wait_walk_in": duration_figures(self.parts["walkin_wait"], c["walkin_wait_sum"]),
        })
        if not service_only:
            for name in SERVICE_ONLY:
                out[name] = None
        return out
