"""Reports: the figures of any date range, grouped one way, from the archive (closed days) and the live stream (the
days the archive does not hold yet) — the same aggregates either way, so a day reads the same before and after it
is archived.
"""

from __future__ import annotations

import csv
import io
import logging
from collections import defaultdict
from array import array
from datetime import date, datetime, timedelta

from shared.engine import Engine
from shared.errors import ValidationError
from shared.schedule import day_plan
from shared.stats.archive import Archive
from shared.rectification import REACHED_OUTCOMES
from shared.stats.facts import CaseFact, DayFacts, RectificationEvent, Resolution, TransferFact
from shared.stats.figures import (
    BAD_LEVELS,
    COUNT_FIELDS,
    DURATION_DIMENSIONS,
    NOT_SERVICE,
    TOTAL_KEY,
    Accumulator,
    DayAggregate,
    aggregate,
    new_counts,
    unpack,
)
from shared.stats.live import LiveStream

logger = logging.getLogger(__name__)

#: how a report groups its rows
GROUPINGS = ("total", "day", "week", "month", "daytype", "service", "window", "clerk", "matter", "hour")
MAX_RANGE_DAYS = 3700
FOLLOW_UP_MAX_LEVEL = 2  # 不满意, 非常不满意
WEEKDAYS_ZH = "一二三四五六日"
WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
LEVEL_LABELS = {5: ("非常满意", "Very satisfied"), 4: ("满意", "Satisfied"), 3: ("基本满意", "Fairly satisfied"),
                2: ("不满意", "Dissatisfied"), 1: ("非常不满意", "Very dissatisfied")}

#: CSV columns: (key in the flattened figures, Chinese header, English header)
COLUMNS = (
    ("key", "键", "Key"), ("label", "名称", "Name"),
    ("issued", "取号", "Issued"), ("handled", "办件", "Handled"), ("consulted", "咨询", "Consulted"),
    ("no_show", "过号", "No-show"), ("transfers", "转办", "Transfers"), ("cancelled", "取消", "Cancelled"),
    ("unserved", "未服务", "Unserved"),
    ("wait_n", "等候人次", "Waits"), ("wait_mean_s", "平均等候(秒)", "Mean wait (s)"),
    ("wait_median_s", "等候中位数(秒)", "Median wait (s)"), ("wait_p90_s", "等候P90(秒)", "P90 wait (s)"),
    ("service_n", "办理人次", "Services"), ("service_mean_s", "平均办理(秒)", "Mean service (s)"),
    ("service_median_s", "办理中位数(秒)", "Median service (s)"), ("service_p90_s", "办理P90(秒)", "P90 service (s)"),
    ("accepted", "受理", "Accepted"), ("completed", "办结", "Completed"), ("open_cases", "未办结", "Open cases"),
    ("completion_rate", "办结率(%)", "Completion rate (%)"),
    ("ratings", "评价数", "Ratings"), ("satisfied", "满意数", "Satisfied"),
    ("satisfaction_rate", "满意率(%)", "Satisfaction rate (%)"),
    ("level_5", "非常满意", "Very satisfied"), ("level_4", "满意", "Satisfied"), ("level_3", "基本满意", "Fairly satisfied"),
    ("level_2", "不满意", "Dissatisfied"), ("level_1", "非常不满意", "Very dissatisfied"),
    ("default_ratings", "默认评价", "Default ratings"),
    ("satisfaction_rate_with_default", "满意率含默认(%)", "Satisfaction incl. defaults (%)"),
    ("rated_visits", "主动评价", "Rated by citizens"), ("active_rating_rate", "主动评价率(%)", "Active rating rate (%)"),
    ("followups", "追评", "Follow-up ratings"), ("bad_ratings", "差评数", "Bad ratings"),
    ("invalid_ratings", "申诉无效差评", "Ruled invalid"), ("rectifications", "整改单", "Rectification records"),
    ("rectified", "已整改", "Rectified"), ("rectification_rate", "整改率(%)", "Rectification rate (%)"),
    ("rectified_on_time", "按时整改", "Rectified on time"), ("on_time_rate", "按时整改率(%)", "On-time rate (%)"),
    ("callbacks_due", "应回访", "Call-backs due"), ("called_back", "已回访", "Called back"),
    ("callback_rate", "回访率(%)", "Call-back rate (%)"), ("overdue", "超期未办", "Overdue"),
    ("assisted", "帮办代办", "Assisted (帮办代办)"),
    # issue 14: real-name tickets, appointments, remote tickets
    ("realname_issued", "实名取号", "Real-name tickets"), ("green_auto", "自动绿色通道", "Green channel by age"),
    ("bookings_made", "预约数", "Bookings made"), ("bookings_cancelled", "取消预约", "Bookings cancelled"),
    ("bookings_rescheduled", "改约", "Bookings moved"), ("bookings_due", "应签到预约", "Bookings due"),
    ("bookings_checked_in", "预约签到", "Bookings checked in"), ("bookings_missed", "爽约", "Bookings missed"),
    ("check_in_rate", "签到率(%)", "Check-in rate (%)"), ("no_show_rate", "爽约率(%)", "No-show rate (%)"),
    ("remote_taken", "远程取号", "Remote tickets"), ("remote_activated", "远程取号签到", "Remote tickets checked in"),
    ("remote_expired", "远程取号失效", "Remote tickets lapsed"),
    ("remote_activation_rate", "远程签到率(%)", "Remote check-in rate (%)"),
    ("appt_wait_n", "预约等候人次", "Appointment waits"), ("appt_wait_mean_s", "预约平均等候(秒)", "Mean appointment wait (s)"),
    ("appt_wait_median_s", "预约等候中位数(秒)", "Median appointment wait (s)"),
    ("appt_wait_p90_s", "预约等候P90(秒)", "P90 appointment wait (s)"),
    ("walkin_wait_n", "现场等候人次", "Walk-in waits"), ("walkin_wait_mean_s", "现场平均等候(秒)", "Mean walk-in wait (s)"),
    ("walkin_wait_median_s", "现场等候中位数(秒)", "Median walk-in wait (s)"),
    ("walkin_wait_p90_s", "现场等候P90(秒)", "P90 walk-in wait (s)"),
    ("help_requests", "求助次数", "Help requests"),
)
_FIRST_14 = COLUMNS.index(("realname_issued", "实名取号", "Real-name tickets"))
#: the figures of 好差评 a flattened row carries as they are
HAOCAIPING_KEYS = tuple(c[0] for c in COLUMNS[COLUMNS.index(("default_ratings", "默认评价", "Default ratings")):_FIRST_14])


def flatten(figures: dict) -> dict:
    """One flat record per row (the CSV columns)."""
    out = {k: figures.get(k) for k in ("issued", "handled", "consulted", "no_show", "transfers", "cancelled", "unserved",
                                         "accepted", "completed", "open_cases", "completion_rate", "ratings",
                                         "satisfied", "satisfaction_rate")}
    for prefix, name in (("wait", "wait"), ("service", "service_time")):
        d = figures[name]
        out.update({f"{prefix}_n": d["n"], f"{prefix}_mean_s": d["mean_s"], f"{prefix}_median_s": d["median_s"],
                    f"{prefix}_p90_s": d["p90_s"]})
    for lv in ("5", "4", "3", "2", "1"):
        out[f"level_{lv}"] = figures["levels"][lv]
    for k in HAOCAIPING_KEYS:
        out[k] = figures.get(k)
    out["realname_issued"], out["green_auto"] = figures.get("realname_issued"), figures.get("green_auto")
    b, r = figures.get("bookings") or {}, figures.get("remote") or {}
    for name in ("made", "cancelled", "rescheduled", "due", "checked_in", "missed"):
        out[f"bookings_{name}"] = b.get(name)
    out["check_in_rate"], out["no_show_rate"] = b.get("check_in_rate"), b.get("no_show_rate")
    for name in ("taken", "activated", "expired"):
        out[f"remote_{name}"] = r.get(name)
    out["remote_activation_rate"] = r.get("activation_rate")
    for prefix, name in (("appt_wait", "wait_appointment"), ("walkin_wait", "wait_walk_in")):
        d = figures.get(name) or {}
        out.update({f"{prefix}_n": d.get("n"), f"{prefix}_mean_s": d.get("mean_s"),
                    f"{prefix}_median_s": d.get("median_s"), f"{prefix}_p90_s": d.get("p90_s")})
    out["help_requests"] = figures.get("help_requests")
    return out


def iso_week(day: date) -> str:
    y, w, _ = day.isocalendar()
    return f"{y}-W{w:02d}"


def _check_report_range(start: date, end: date, by: str) -> None:
    if by not in GROUPINGS:
        raise ValidationError(f"'by' must be one of: {', '.join(GROUPINGS)}", code="invalid_value", field="by")
    if end < start:
        raise ValidationError("'to' is before 'from'", code="invalid_range")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise ValidationError(f"a report covers at most {MAX_RANGE_DAYS} days", code="invalid_range")


class Grouping:
    """The rows of one report grouped ``by`` (a dimension, or the total per day / week / month), and its total, as
    accumulators (counts, duration runs, open cases, rectification tallies) before any figure is computed — what
    several halls' reports add up (:mod:`shared.stats.city`). ``kinds``: the days on record → (kind, rest day)."""

    def __init__(self, by: str) -> None:
        self.by = by
        self.dim = by if by in ("service", "window", "clerk", "matter", "hour", "daytype") else "total"
        self.rows: dict[str, Accumulator] = {}
        self.total = Accumulator()
        self.kinds: dict[str, tuple[str, bool]] = {}

    def row_key(self, day: str, key: str) -> str:
        if self.dim != "total":
            return key
        if self.by == "total":
            return TOTAL_KEY
        if self.by == "day":
            return day
        if self.by == "week":
            return iso_week(date.fromisoformat(day))
        return day[:7]  # month

    def acc(self, day: str, key: str) -> Accumulator:
        """The row ``key`` of ``day`` falls in, created on first use."""
        row = self.row_key(day, key)
        a = self.rows.get(row)
        if a is None:
            a = self.rows[row] = Accumulator()
        return a

    def dims(self) -> list[str]:
        """The dimensions of the archive's ``daily`` rows the grouping reads: its own and the total."""
        return [self.dim] if self.dim == "total" else [self.dim, "total"]

    def add_counts(self, day: str, dim: str, key: str, counts: dict[str, int]) -> None:
        """One day's counts of (``dim``, ``key``) into the total and the row it falls in (other dimensions: ignored)."""
        if dim == "total":
            self.total.add_counts(counts)
        if dim == self.dim:
            self.acc(day, key).add_counts(counts)

    def add_archived_counts(self, rows) -> None:
        """The archive's ``daily`` rows (day, dim, key, counts…) into the rows and the total."""
        for row in rows:
            self.add_counts(row[0], row[1], row[2], dict(zip(COUNT_FIELDS, row[3:])))

    def add_live(self, day: str, agg, *, durations: bool = True) -> None:
        """A live (not yet archived) day's aggregate into the rows and the total (its counts, and its durations
        unless ``durations`` is False)."""
        for (d, key), counts in agg.counts.items():
            self.add_counts(day, d, key, counts)
        if not durations:
            return
        dim = self.dim
        for (d, key, metric), values in agg.durations.items():
            if d == "total":
                self.total.add_durations(metric, values)
            if d == dim and dim in DURATION_DIMENSIONS:
                self.acc(day, key).add_durations(metric, values)


class Stats:
    """Figures of one hall: reports, cumulative totals, follow-ups (the archive + the live stream)."""

    def __init__(self, engine: Engine, archive: Archive | None = None) -> None:
        self.engine = engine
        self.config = engine.config
        self.archive = archive or Archive(self.config.archive_path)
        self.live = LiveStream(engine.redis, engine.keys, self.config.timezone)
        self._agg_cache: dict[str, tuple[tuple[int, int], DayAggregate]] = {}

    # ------------------------------------------------------------------------------------------- sources
    def today(self) -> date:
        return self.engine.clock.business_date()

    def day_kind(self, day: date, overrides=None) -> tuple[str, bool]:
        plan = day_plan(self.config, day, overrides if overrides is not None else self.engine.rota.overrides())
        return plan.kind, plan.rest_day

    def unarchived(self, archived: set[str] | None = None) -> dict[str, DayFacts]:
        """The days only the stream holds (today, and closed days not archived yet), freshly read. Days the archive
        now holds are dropped from the live fold, so its memory stays a few days' worth."""
        if archived is None:
            archived = set(self.archive.days())
        self.live.refresh()
        days = self.live.days()
        done = {d for d in days if d in archived}
        if done:
            self.live.forget(done)
            for d in done:
                self._agg_cache.pop(d, None)
        return {d: f for d, f in days.items() if d not in archived}

    def live_days(self, start: str, end: str, archived: set[str]) -> dict[str, DayFacts]:
        """Days of the range that only the stream holds."""
        return {d: f for d, f in self.unarchived(archived).items() if start <= d <= end}

    def live_aggregate(self, facts: DayFacts, overrides=None) -> DayAggregate:
        stamp = (facts.last_seq, facts.events)
        cached = self._agg_cache.get(facts.day)
        if cached and cached[0] == stamp:
            return cached[1]
        kind, rest = self.day_kind(date.fromisoformat(facts.day), overrides)
        agg = aggregate(facts, kind, rest, self.config.timezone)
        self._agg_cache[facts.day] = (stamp, agg)
        return agg

    # ------------------------------------------------------------------------------------------- one window today
    def window_today(self, window: int) -> dict:
        """The counter's figures of ``window`` today, from the live fold (the same facts and aggregate as every
        report, so the counter and the supervisor never disagree): calls, recalls, 办件, 咨询, no-shows, transfers
        out, citizens' ratings (and the 差评 among them, to follow up), cases, tickets finished and their mean service
        time in minutes."""
        today = self.today().isoformat()
        self.live.refresh()
        facts = self.live.days({today}).get(today)
        c = new_counts()
        if facts is not None:
            c = self.live_aggregate(facts).counts.get(("window", str(window)), c)
        calls = facts.calls if facts is not None else {}
        finished = c["handled"] + c["consulted"]
        return {
            "called": calls.get((window, "called"), 0), "recalled": calls.get((window, "recalled"), 0),
            "handled": c["handled"], "consulted": c["consulted"], "no_show": c["no_show"], "transferred": c["transfers"],
            "rated": c["ratings"], "follow_up": sum(c[f"r{lv}"] for lv in BAD_LEVELS), "cases": c["cases"],
            "finished": finished,
            "mean_service_minutes": round(c["service_sum"] / c["service_n"] / 60000, 1) if c["service_n"] else None,
        }

    # ------------------------------------------------------------------------------------------- reports
    def report(self, start: date, end: date, by: str = "total") -> dict:
        """The figures of ``start`` … ``end`` (inclusive), one row per group of ``by`` (see :data:`GROUPINGS`)."""
        g = self.grouped(start, end, by)
        service_only = g.dim not in NOT_SERVICE
        out_rows = [{"key": key, **self.label(by, key), "figures": g.rows[key].figures(service_only=service_only)}
                    for key in self.order(by, g.rows)]
        return {"from": start.isoformat(), "to": end.isoformat(), "by": by,
                "as_of": self.engine.clock.now().isoformat(timespec="seconds"), "days": len(g.kinds), "rows": out_rows,
                "total": {"key": "total", "label": "合计", "label_en": "Total", "figures": g.total.figures()}}

    def grouped(self, start: date, end: date, by: str = "total") -> Grouping:
        """The report's rows as accumulators (every default row present), before their figures are computed."""
        _check_report_range(start, end, by)
        s, e = start.isoformat(), end.isoformat()
        g = Grouping(by)
        archived = self.archive.days()
        live = self._live_aggregates(self.live_days(s, e, set(archived)))
        kinds = _kinds(archived, live, s, e)
        g.add_archived_counts(self.archive.daily_rows(s, e, g.dims()))
        self._add_archived_durations(g, s, e)
        for day, agg in live.items():
            g.add_live(day, agg)
        if g.dim != "hour":
            self._rectification_figures(s, e, g.dim, set(live), kinds, g.acc, g.total)
            self._add_open_cases(g, s, e, set(live), kinds)
        self._close(g, kinds)
        return g

    def counted(self, start: date, end: date, by: str = "total") -> tuple[Grouping, list[TransferFact]]:
        """The report's rows with their counts only (no durations, no case or rectification figures: what the
        transfer report takes) and the range's transfers (转办), from ONE read: one read transaction of the archive
        (its days, their counts and transfers) and one read of the stream for the days the archive does not hold —
        so the counts and the transfers are of the same moment of every day, whatever is recorded meanwhile."""
        _check_report_range(start, end, by)
        s, e = start.isoformat(), end.isoformat()
        g = Grouping(by)
        archived, rows, transfers = self.archive.counts_and_transfers(s, e, g.dims())
        facts = self.live_days(s, e, set(archived))
        live = self._live_aggregates(facts)
        transfers += [tr for f in facts.values() for tr in f.transfers]
        g.add_archived_counts(rows)
        for day, agg in live.items():
            g.add_live(day, agg, durations=False)
        self._close(g, _kinds(archived, live, s, e))
        return g, transfers

    def _live_aggregates(self, facts: dict[str, DayFacts]) -> dict[str, DayAggregate]:
        overrides = self.engine.rota.overrides()
        return {d: self.live_aggregate(f, overrides) for d, f in facts.items()}

    def _close(self, g: Grouping, kinds: dict[str, tuple[str, bool]]) -> None:
        """Every default row present; the days on record."""
        for key in self._default_keys(g.by):
            g.rows.setdefault(key, Accumulator())
        g.kinds = kinds

    def _add_archived_durations(self, g: Grouping, s: str, e: str) -> None:
        """The archived days' durations into the rows and the total."""
        dim, by = g.dim, g.by
        # durations: whole months come merged (few runs to search) unless the rows split months by day
        by_day = by in ("day", "week")
        fetches = [("total", "total", True)]
        if dim in DURATION_DIMENSIONS and dim != "total":
            fetches.append((dim, "rows", True))
        elif dim == "total":
            fetches = [("total", "total", True), ("total", "rows", not by_day)] if by_day else [("total", "both", True)]
        for dur_dim, target, monthly in fetches:
            for day, key, metric, blob in self.archive.duration_rows(s, e, dur_dim, monthly=monthly):
                values = array("i")
                unpack(blob, values)
                if target in ("total", "both"):
                    g.total.add_durations(metric, values)
                if target in ("rows", "both"):
                    g.acc(day, key).add_durations(metric, values)

    def _add_open_cases(self, g: Grouping, s: str, e: str, live_days: set[str], kinds: dict) -> None:
        """办不成事 cases still open, counted where they were recorded."""
        for case in self.open_cases(s, e, live_days=live_days):
            key = {"service": case.service, "window": case.window, "clerk": case.clerk,
                   "daytype": "rest" if kinds.get(case.day, ("", False))[1] else "work"}.get(g.dim, TOTAL_KEY)
            g.total.open_cases += 1
            if key is not None:
                g.acc(case.day, str(key)).open_cases += 1

    def open_cases(self, start: str, end: str, *, live_days: set[str]) -> list[CaseFact]:
        """Cases recorded in the range, not resolved on the spot, not resolved since (archive + stream)."""
        live_done = self.live_resolutions("case")
        cases = [c for c in self.archive.cases(start, end, open_only=True, resolved=False) if ("case", c.id) not in live_done]
        fresh = [c for facts in self.live.days(live_days).values() for c in facts.cases.values() if not c.resolved_on_spot]
        done = {**self.archive.resolutions("case", [c.id for c in fresh]), **live_done}
        return cases + [c for c in fresh if ("case", c.id) not in done]

    def _rectification_figures(self, start: str, end: str, dim: str, live_days: set[str], kinds: dict,
                               row, total: Accumulator) -> None:
        """Tally the rectification records of visits (and cases) in the range as they stand now, into their rows and
        the total; and take the 差评 ruled invalid on appeal out of the rating counts (the rating stays in the audit
        trail, the archive and the stream; it just no longer counts)."""
        records = {r.id: r for r in self.archive.rectifications(start, end)}
        for facts in self.live.days(live_days).values():
            records.update(facts.rectifications)
        if not records:
            return
        done: dict[str, list[RectificationEvent]] = defaultdict(list)
        later = [e for facts in self.unarchived().values() for e in facts.rect_events]
        for ev in [*self.archive.rect_events(list(records)), *later]:
            if ev.ref in records:
                done[ev.ref].append(ev)
        today = self.today().isoformat()
        for r in records.values():
            evs = done.get(r.id, [])
            key = {"service": r.service, "window": r.window, "clerk": r.clerk, "matter": r.matter_code,
                   "daytype": "rest" if kinds.get(r.day, ("", False))[1] else "work"}.get(dim, TOTAL_KEY)
            targets = [total] if key is None else [total, row(r.day, str(key))]
            upheld = any(ev.kind == "ruling" and ev.flag for ev in evs)
            steps = {ev.detail: ev for ev in evs if ev.kind == "step"}
            reached = any(ev.kind == "callback" and ev.detail in REACHED_OUTCOMES for ev in evs)
            for a in targets:
                t = a.rect
                t["appeals"] += any(ev.kind == "appeal" for ev in evs)
                if upheld:
                    t["appeals_upheld"] += 1
                    if r.kind == "rating" and r.level in BAD_LEVELS:
                        t["invalid_ratings"] += 1
                        if r.assess == 2:
                            a.counts["followups"] -= 1
                            a.counts["followup_bad"] -= 1
                        else:
                            a.counts["ratings"] -= 1
                            a.counts[f"r{r.level}"] -= 1
                    continue
                t["rectifications"] += 1
                if "rectify" in steps:
                    t["rectified"] += 1
                    t["rectified_on_time"] += steps["rectify"].flag
                if "rectify" in steps or (r.rectify_due and r.rectify_due < today):
                    t["rectify_due"] += 1
                if r.has_contact:
                    t["callbacks_due"] += 1
                    t["called_back"] += reached
                if "reply" not in steps and any(due and due < today and step not in steps for step, due in
                                                (("verify", r.verify_due), ("rectify", r.rectify_due),
                                                 ("reply", r.reply_due))):
                    t["overdue"] += 1

    def live_resolutions(self, kind: str) -> dict[tuple[str, str], Resolution]:
        """Follow-ups of a kind recorded on days the archive does not hold yet."""
        return {k: r for facts in self.unarchived().values() for k, r in facts.resolutions.items() if k[0] == kind}

    def matter_names(self) -> dict[str, str]:
        """事项 code → name, from the config (in service order)."""
        return {m.code: m.name for svc in self.config.services.values() for m in svc.matters}

    def _default_keys(self, by: str) -> list[str]:
        if by == "service":
            return list(self.config.services)
        if by == "window":
            return [str(n) for n in sorted(self.config.windows)]
        if by == "daytype":
            return ["work", "rest"]
        if by == "total":
            return [TOTAL_KEY]
        return []

    def order(self, by: str, rows) -> list[str]:
        """The keys of ``rows`` in the order a report lists them (config order for services, windows, clerks, 事项)."""
        keys = list(rows)
        if by == "service":
            order = {c: i for i, c in enumerate(self.config.services)}
            return sorted(keys, key=lambda k: (order.get(k, len(order)), k))
        if by == "window":
            return sorted(keys, key=lambda k: (int(k) if k.isdigit() else 10**6, k))
        if by == "clerk":
            order = {c: i for i, c in enumerate(self.config.clerks)}
            return sorted(keys, key=lambda k: (order.get(k, len(order)), k))
        if by == "matter":
            order = {c: i for i, c in enumerate(self.matter_names())}
            return sorted(keys, key=lambda k: (order.get(k, len(order)), k))
        if by == "daytype":
            return sorted(keys, key=lambda k: 0 if k == "work" else 1)
        return sorted(keys)

    def label(self, by: str, key: str) -> dict:
        """Chinese and English names of a row."""
        zh = en = key
        if by == "service":
            svc = self.config.services.get(key)
            if svc:
                zh, en = svc.name, svc.name_en or svc.name
        elif by == "window":
            w = self.config.windows.get(int(key)) if key.isdigit() else None
            zh = f"{key}号窗口" + (f" · {w.name}" if w and w.name != f"{key}号窗口" else "")
            en = f"Window {key}"
        elif by == "clerk":
            c = self.config.clerks.get(key)
            if c:
                zh = en = f"{c.name}（{key}）" if c.name != key else key
                en = f"{c.name} ({key})"
        elif by == "matter":
            name = self.matter_names().get(key)
            zh = en = f"{name}（{key}）" if name else key
            en = f"{name} ({key})" if name else key
        elif by == "hour":
            h = int(key)
            zh = en = f"{h:02d}:00–{h + 1:02d}:00"
        elif by == "day":
            d = date.fromisoformat(key)
            zh, en = f"{key} 周{WEEKDAYS_ZH[d.weekday()]}", f"{key} {WEEKDAYS_EN[d.weekday()]}"
        elif by == "week":
            y, w = key.split("-W")
            monday = date.fromisocalendar(int(y), int(w), 1)
            span = f"{monday:%m-%d}–{monday + timedelta(days=6):%m-%d}"
            zh, en = f"{y}年第{int(w)}周（{span}）", f"{key} ({span})"
        elif by == "month":
            y, m = key.split("-")
            zh, en = f"{y}年{int(m)}月", key
        elif by == "daytype":
            zh, en = {"work": ("工作日", "Working days"), "rest": ("休息日（周末延时服务）", "Rest days (weekend service)")}[key]
        elif by == "total":
            zh, en = "合计", "Total"
        return {"label": zh, "label_en": en}

    # ------------------------------------------------------------------------------------------- cumulative
    def start_date(self) -> date:
        """Where cumulative totals start: the configured date, else the first day on record."""
        if self.config.statistics.start_date:
            return self.config.statistics.start_date
        first = self.archive.first_day()
        live = sorted(self.unarchived())
        candidates = [d for d in (first, live[0] if live else None) if d]
        return date.fromisoformat(min(candidates)) if candidates else self.today()

    def cumulative(self) -> dict:
        """Totals since the start date: all, working vs rest days (周末延时服务), per service; and the sentence a
        hall's report is made of."""
        start, end = self.start_date(), self.today()
        start = min(start, end)
        daytype = self.report(start, end, "daytype")
        service = self.report(start, end, "service")
        total = daytype["total"]["figures"]
        rest = next(r["figures"] for r in daytype["rows"] if r["key"] == "rest")
        return {"from": start.isoformat(), "to": end.isoformat(), "total": total, "rest_days": rest,
                "services": service["rows"], "sentence": self._sentence(end, total, rest, service["rows"], "zh"),
                "sentence_en": self._sentence(end, total, rest, service["rows"], "en")}

    def _sentence(self, end: date, total: dict, rest: dict, services: list[dict], lang: str) -> str:
        def rate(x):
            return "—" if x is None else (f"{x:g}%")
        parts = []
        if lang == "zh":
            head = f"截至{end.year}年{end.month}月{end.day}日，{self.config.hall_name}"
            for row in services:
                f = row["figures"]
                if f["handled"] or f["consulted"]:
                    parts.append(f"{row['label']}窗口累计办件{f['handled']}件、接受咨询{f['consulted']}件")
            parts.append(f"周末延时服务累计办件{rest['handled']}件、接受咨询{rest['consulted']}件")
            tail = (f"申请事项办结率{rate(total['completion_rate'])}，群众满意率{rate(total['satisfaction_rate'])}"
                    f"（{total['ratings']}条评价）")
            return head + "，".join(parts) + "；" + tail + "。"
        head = f"As of {end.isoformat()}, {self.config.hall_name_en or self.config.hall_name}: "
        for row in services:
            f = row["figures"]
            if f["handled"] or f["consulted"]:
                parts.append(f"{row['label_en']} handled {f['handled']}, consulted {f['consulted']}")
        parts.append(f"weekend service handled {rest['handled']}, consulted {rest['consulted']}")
        return (head + "; ".join(parts) + f"; completion rate {rate(total['completion_rate'])}, satisfaction rate "
                f"{rate(total['satisfaction_rate'])} ({total['ratings']} ratings).")

    # ------------------------------------------------------------------------------------------- follow-ups
    def followups(self, status: str = "open", limit: int = 500) -> dict:
        """不满意 / 非常不满意 ratings and 办不成事 cases not resolved on the spot, with age and resolution."""
        if status not in ("open", "done", "all"):
            raise ValidationError("'status' must be open, done or all", code="invalid_value", field="status")
        now_ms = self.engine.clock.now_ms()
        live = self.unarchived()
        archived_done = {"open": False, "done": True, "all": None}[status]  # filtered in SQL where the archive knows
        ratings = self.archive.low_ratings(FOLLOW_UP_MAX_LEVEL, followed_up=archived_done)
        cases = self.archive.cases(open_only=True, resolved=archived_done)
        for facts in live.values():
            ratings += [t for t in facts.tickets.values() if t.rating is not None and t.rating <= FOLLOW_UP_MAX_LEVEL]
            cases += [c for c in facts.cases.values() if not c.resolved_on_spot]
        done_r = {**self.archive.resolutions("rating", [t.id for t in ratings]), **self.live_resolutions("rating")}
        done_c = {**self.archive.resolutions("case", [c.id for c in cases]), **self.live_resolutions("case")}
        items = []
        for t in ratings:
            r = done_r.get(("rating", t.id))
            items.append({
                "kind": "rating", "ref": t.id, "day": t.day, "number": t.number, **self._svc(t.service),
                "window": t.rating_window, **self._clerk(t.rating_clerk), "level": t.rating,
                "level_label": LEVEL_LABELS[t.rating][0], "level_label_en": LEVEL_LABELS[t.rating][1],
                "at_ms": t.rated_ms, **self._resolution(r, now_ms, t.rated_ms)})
        for c in cases:
            r = done_c.get(("case", c.id))
            items.append({
                "kind": "case", "ref": c.id, "day": c.day, "number": c.number, **self._svc(c.service),
                "window": c.window, **self._clerk(c.clerk), "department": c.department, "problem": c.problem,
                "action": c.action, "at_ms": c.recorded_ms, **self._resolution(r, now_ms, c.recorded_ms)})
        if status != "all":
            items = [i for i in items if i["status"] == status]
        items.sort(key=lambda i: (i["status"] != "open", i["at_ms"] or 0))
        if status == "done":
            items.sort(key=lambda i: -(i["resolved_ms"] or 0))
        counts = {"ratings": sum(1 for i in items if i["kind"] == "rating"),
                  "cases": sum(1 for i in items if i["kind"] == "case")}
        return {"status": status, "as_of": self.engine.clock.now().isoformat(timespec="seconds"), "counts": counts,
                "items": items[:limit]}

    def _svc(self, code: str) -> dict:
        svc = self.config.services.get(code)
        return {"service": code, "service_name": svc.name if svc else code,
                "service_name_en": (svc.name_en or svc.name) if svc else code}

    def _clerk(self, clerk: str | None) -> dict:
        c = self.config.clerks.get(clerk or "")
        return {"clerk": clerk, "clerk_name": c.name if c else clerk}

    def _resolution(self, r: Resolution | None, now_ms: int, at_ms: int | None) -> dict:
        tz = self.config.timezone
        return {
            "at": datetime.fromtimestamp(at_ms / 1000, tz).isoformat(timespec="seconds") if at_ms else None,
            "age_s": max(0, (now_ms - at_ms) // 1000) if at_ms and not r else None,
            "status": "done" if r else "open", "resolved_by": r.by if r else None,
            "resolved_ms": r.at_ms if r else None, "resolution_note": r.note if r else None,
            "resolved_at": datetime.fromtimestamp(r.at_ms / 1000, tz).isoformat(timespec="seconds") if r else None,
        }

    def is_low_rating(self, ticket_id: str) -> bool:
        """Is ``ticket_id`` a ticket rated 不满意 or worse (archive or stream)?"""
        level = self.archive.ticket_rating(ticket_id)
        if level is not None and level <= FOLLOW_UP_MAX_LEVEL:
            return True
        for facts in self.unarchived().values():
            t = facts.tickets.get(ticket_id)
            if t is not None and t.rating is not None and t.rating <= FOLLOW_UP_MAX_LEVEL:
                return True
        return False


def _kinds(archived: dict[str, dict], live: dict[str, DayAggregate], s: str, e: str) -> dict[str, tuple[str, bool]]:
    """The days on record in ``s`` … ``e`` → (kind, rest day): the archived ones, then the live ones."""
    kinds = {d: (v["kind"], v["rest_day"]) for d, v in archived.items() if s <= d <= e}
    kinds.update({d: (a.kind, a.rest_day) for d, a in live.items()})
    return kinds


def report_csv(report: dict, lang: str = "zh") -> str:
    """The report as CSV (UTF-8 with a BOM so that Excel opens Chinese correctly): a header row, one row per group,
    then the total row. The numbers are exactly the report's."""
    buf = io.StringIO()
    buf.write("\ufeff")
    w = csv.writer(buf, lineterminator="\r\n")
    idx = 1 if lang == "zh" else 2
    w.writerow([c[idx] for c in COLUMNS])
    label = "label" if lang == "zh" else "label_en"
    for row in [*report["rows"], report["total"]]:
        flat = flatten(row["figures"])
        w.writerow([row["key"], row[label], *(_cell(flat[c[0]]) for c in COLUMNS[2:])])
    return buf.getvalue()


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.1f}"
    return str(v)
