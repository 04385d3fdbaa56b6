"""Transfers (转办): why clerks send tickets elsewhere, from which window, to which service or window, and how large a
share of the tickets a window takes up it passes on — the signal that 一窗通办 is not working yet (a consolidated
window that keeps sending 公安 matters to another window needs training).

Definitions (docs/statistics.md, *Transfers*):

* 转办 ``transfers`` — ``ticket_transferred`` events (a ticket moved twice counts twice), on the ticket's business
  day, at the window / clerk / service it **left**; per reason (the clerk's choice in the transfer dialog,
  ``shared.engine.TRANSFER_REASONS``; ``none`` when none was chosen — only a text, or a transfer recorded before
  reasons existed) and per target (``service:<code>`` or
  ``window:<n>``).
* 转办人数 ``tickets`` — distinct tickets transferred at least once in the row.
* 接待 ``visits`` — the times a window took a ticket up and let it go: 办件 + 咨询 + 过号 + 转办 of the row (the
  report's own counts, where each ended or left). 转办率 ``rate`` = transfers ÷ visits: the share of the tickets it
  took up that the window (service, clerk, day …) passed on.
* 叫号人数 ``called`` — tickets called at least once (the report's waits); for the total and the rows by time
  (day, week, month, 工作日 / 休息日, total): ``ticket_rate`` = tickets ÷ called, the share of citizens called who
  were sent elsewhere at least once. Blank (None) in rows by service, window, clerk, hour.
* rows: grouped like a report (:data:`TRANSFER_GROUPINGS`: the report's groupings less 事项, which a transfer does
  not have); ``hour`` is the local hour of the transfer. ``routes``: from-window → target, with reasons. ``notes``:
  the newest transfers with the clerk's free text (at most :data:`MAX_NOTES`), what the reason alone does not say.

Rates are percentages rounded half-up to one decimal; a rate without a base is None. A city adds these tallies hall by
hall (:func:`merge_into`): counts add, rates are computed again from the sums, never averaged.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from shared.engine import TRANSFER_REASONS
from shared.errors import ValidationError
from shared.stats.facts import TransferFact
from shared.stats.figures import TOTAL_KEY, percent

#: how a transfer report groups its rows (a report's groupings without 事项)
TRANSFER_GROUPINGS = ("total", "day", "week", "month", "daytype", "service", "window", "clerk", "hour")
#: the reason key of a transfer without a chosen reason (only a text, or recorded before reasons existed)
NO_REASON = "none"
NO_REASON_LABEL = ("未选原因", "No reason chosen")
#: rows whose ``called`` / ``ticket_rate`` mean something (tickets called in the row's days)
TIME_ROWS = ("total", "day", "week", "month", "daytype")
#: how many of the newest transfers with a text a report lists
MAX_NOTES = 50


@dataclass
class TransferTally:
    """The transfers of one row: counts by reason and by target, the distinct tickets, and the row's visits (办件 +
    咨询 + 过号 of the report row; the transfers are added when the figures are made) and tickets called."""

    transfers: int = 0
    tickets: set = field(default_factory=set)
    reasons: Counter = field(default_factory=Counter)
    targets: Counter = field(default_factory=Counter)
    ended: int = 0  # 办件 + 咨询 + 过号 of the row
    called: int | None = None

    def add(self, tr: TransferFact, hall: str = "") -> None:
        self.transfers += 1
        self.tickets.add((hall, tr.day, tr.ticket))
        self.reasons[tr.reason or NO_REASON] += 1
        self.targets[target_key(tr)] += 1

    def merge(self, other: TransferTally) -> None:
        """Add another tally (another hall's row): counts add, ticket sets join."""
        self.transfers += other.transfers
        self.tickets |= other.tickets
        self.reasons.update(other.reasons)
        self.targets.update(other.targets)
        self.ended += other.ended
        if other.called is not None:
            self.called = (self.called or 0) + other.called

    def figures(self, reasons: list[str], targets: list[str]) -> dict:
        visits = self.ended + self.transfers
        tickets = len(self.tickets)
        return {
            "transfers": self.transfers, "tickets": tickets, "visits": visits,
            "rate": percent(self.transfers, visits),
            "called": self.called, "ticket_rate": None if self.called is None else percent(tickets, self.called),
            "reasons": {code: self.reasons.get(code, 0) for code in reasons},
            "targets": {key: self.targets.get(key, 0) for key in targets},
        }


def target_key(tr: TransferFact) -> str:
    """``service:<code>`` or ``window:<n>`` (where the ticket was sent)."""
    return f"window:{tr.to_window}" if tr.to_window is not None else f"service:{tr.to_service or ''}"


@dataclass
class TransferGrouping:
    """A transfer report's rows and total as tallies (before figures): what a city adds up hall by hall."""

    by: str
    rows: dict[str, TransferTally] = field(default_factory=dict)
    total: TransferTally = field(default_factory=TransferTally)
    #: (from window or None, target key) → tally
    routes: dict[tuple[str | None, str], TransferTally] = field(default_factory=dict)
    days: int = 0
    #: the days on record in the range
    day_set: set[str] = field(default_factory=set)
    #: transfers with a free text: (from-window key, target key, fact)
    notes: list[tuple[str | None, str, TransferFact]] = field(default_factory=list)


def check_grouping(by: str) -> None:
    if by not in TRANSFER_GROUPINGS:
        raise ValidationError(f"'by' must be one of: {', '.join(TRANSFER_GROUPINGS)}", code="invalid_value",
                              field="by")


def transfer_grouping(stats, start: date, end: date, by: str = "window") -> TransferGrouping:
    """The transfers of ``start`` … ``end`` of one hall (:class:`~shared.stats.reports.Stats`), grouped ``by``."""
    check_grouping(by)
    # one read of the days: the rows' counts (visits, tickets called) and the transfers are of the same moment
    g, found = stats.counted(start, end, by)
    out = TransferGrouping(by, days=len(g.kinds), day_set=set(g.kinds))
    hall = stats.config.hall_id
    tz = stats.config.timezone
    for tr in found:
        out.total.add(tr, hall)
        key = _row_key(by, tr, g, tz)
        if key is not None:
            _tally(out.rows, key).add(tr, hall)
        route = (None if tr.from_window is None else str(tr.from_window), target_key(tr))
        _tally(out.routes, route).add(tr, hall)
        if tr.reason_text:
            out.notes.append((*route, tr))
    for key, acc in g.rows.items():
        _base(_tally(out.rows, key), acc.counts, by in TIME_ROWS)
    _base(out.total, g.total.counts, True)
    return out


def _tally(tallies: dict, key) -> TransferTally:
    """``tallies[key]``, created on first use (not one thrown away per transfer, as ``setdefault`` would)."""
    tally = tallies.get(key)
    if tally is None:
        tally = tallies[key] = TransferTally()
    return tally


def _base(tally: TransferTally, counts: dict, time_row: bool) -> None:
    tally.ended += counts["handled"] + counts["consulted"] + counts["no_show"]
    if time_row:
        tally.called = (tally.called or 0) + counts["wait_n"]


def _row_key(by: str, tr: TransferFact, g, tz) -> str | None:
    if by in ("total", "day", "week", "month"):
        return g.row_key(tr.day, TOTAL_KEY)
    if by == "daytype":
        return "rest" if g.kinds.get(tr.day, ("", False))[1] else "work"
    if by == "service":
        return tr.from_service or None
    if by == "window":
        return None if tr.from_window is None else str(tr.from_window)
    if by == "clerk":
        return tr.from_clerk or None
    return f"{datetime.fromtimestamp(tr.ts / 1000, tz).hour:02d}"  # hour


def reason_list(seen) -> list[dict]:
    """The reasons a report lists: every reason of the transfer dialog (its order), then any other code on record,
    then ``none``."""
    codes = [*TRANSFER_REASONS, *sorted(c for c in seen if c not in TRANSFER_REASONS and c != NO_REASON), NO_REASON]
    out = []
    for code in codes:
        zh, en = TRANSFER_REASONS.get(code) or (NO_REASON_LABEL if code == NO_REASON else (code, code))
        out.append({"code": code, "label": zh, "label_en": en})
    return out


def transfer_report(stats, start: date, end: date, by: str = "window") -> dict:
    """One hall's transfer report (see the module doc): ``reasons`` and ``targets`` (what the figures' dicts are
    keyed by, with names), ``rows`` grouped ``by``, ``total``, ``routes`` (from-window → target, most first)."""
    g = transfer_grouping(stats, start, end, by)
    return build_report(g, start, end, stats.engine.clock.now().isoformat(timespec="seconds"),
                        row_label=lambda key: stats.label(by, key), order=lambda rows: stats.order(by, rows),
                        target_label=lambda key: _target_label(stats.config, key),
                        target_order=lambda keys: _target_order([stats.config], keys),
                        window_label=lambda key: stats.label("window", key),
                        clerk_name=lambda username, _window: _clerk_name([stats.config], username))


def _clerk_name(configs, username: str) -> str:
    """A clerk's name from the first config that knows the username (the username otherwise)."""
    for cfg in configs:
        clerk = cfg.clerks.get(username)
        if clerk is not None:
            return clerk.name
    return username


def build_report(g: TransferGrouping, start: date, end: date, as_of: str, *, row_label, order, target_label,
                 target_order, window_label, clerk_name=lambda username, window: username) -> dict:
    """The report of a grouping (one hall's or a city's): the labels and orders come from the caller."""
    seen = set(g.total.reasons)
    reasons = reason_list(seen)
    codes = [r["code"] for r in reasons]
    targets = target_order(list(g.total.targets))
    target_rows = [{"key": k, **target_label(k)} for k in targets]
    rows = [{"key": key, **row_label(key), "figures": g.rows[key].figures(codes, targets)} for key in order(g.rows)]
    routes = []
    for (win, tgt), tally in sorted(g.routes.items(), key=lambda kv: (-kv[1].transfers, _window_sort(kv[0][0]),
                                                                       targets.index(kv[0][1]))):
        wl = window_label(win) if win is not None else {"label": "—", "label_en": "—"}
        routes.append({"from_window": win, "from_label": wl["label"], "from_label_en": wl["label_en"],
                       "to": tgt, "to_label": target_label(tgt)["label"], "to_label_en": target_label(tgt)["label_en"],
                       "transfers": tally.transfers, "tickets": len(tally.tickets),
                       "reasons": {c: tally.reasons.get(c, 0) for c in codes}})
    total = {"key": "total", "label": "合计", "label_en": "Total", "figures": g.total.figures(codes, targets)}
    names = {r["code"]: r for r in reasons}
    notes = []
    for win, tgt, tr in sorted(g.notes, key=lambda n: -n[2].ts)[:MAX_NOTES]:
        wl = window_label(win) if win is not None else {"label": "—", "label_en": "—"}
        why = names.get(tr.reason or NO_REASON) or names[NO_REASON]
        notes.append({"day": tr.day, "at_ms": tr.ts, "number": tr.ticket.rsplit("-", 1)[-1], "from_window": win,
                      "from_label": wl["label"], "from_label_en": wl["label_en"], "clerk": tr.from_clerk,
                      "clerk_name": clerk_name(tr.from_clerk, win) if tr.from_clerk else None, "to": tgt,
                      "to_label": target_label(tgt)["label"], "to_label_en": target_label(tgt)["label_en"],
                      "reason": why["code"], "reason_label": why["label"], "reason_label_en": why["label_en"],
                      "text": tr.reason_text})
    return {"from": start.isoformat(), "to": end.isoformat(), "by": g.by, "as_of": as_of, "days": g.days,
            "reasons": reasons, "targets": target_rows, "rows": rows, "total": total, "routes": routes,
            "notes": notes}


def _window_sort(win: str | None):
    if win is None:
        return (2, 0, "")
    head = win.rsplit(":", 1)[-1]
    return (0, int(head), win) if head.isdigit() else (1, 0, win)


def _target_label(config, key: str) -> dict:
    kind, _, value = key.partition(":")
    if kind == "window":
        w = config.windows.get(int(value)) if value.isdigit() else None
        zh = f"{value}号窗口" + (f" · {w.name}" if w and w.name != f"{value}号窗口" else "")
        return {"label": zh, "label_en": f"Window {value}"}
    svc = config.services.get(value)
    return {"label": svc.name if svc else value, "label_en": (svc.name_en or svc.name) if svc else value}


def _target_order(configs, keys: list[str]) -> list[str]:
    """Services in config order, then windows by number, then anything else."""
    index: dict[str, int] = {}
    for cfg in configs:
        for code in cfg.services:
            index.setdefault(f"service:{code}", len(index))
    def rank(k: str):
        if k in index:
            return (0, index[k], k)
        kind, _, value = k.partition(":")
        if kind == "window":
            tail = value.rsplit(":", 1)[-1]
            return (1, int(tail) if tail.isdigit() else 10**6, k)
        return (2, 0, k)
    return sorted(keys, key=rank)


# ------------------------------------------------------------------------------------------------ CSV
def transfers_csv(report: dict, lang: str = "zh") -> str:
    """A transfer report as CSV (UTF-8 with a BOM, like the report's): one row per group and the total; the columns
    key, name, visits, transfers, rate, tickets, called, ticket rate, then one column per reason and one per target
    (“转往 …”). The numbers are exactly the report's."""
    zh = lang == "zh"
    buf = io.StringIO()
    buf.write("\ufeff")
    w = csv.writer(buf, lineterminator="\r\n")
    head = (["键", "名称", "接待", "转办", "转办率(%)", "转办人数", "叫号人数", "转办人数占比(%)"] if zh else
            ["Key", "Name", "Visits", "Transfers", "Transfer rate (%)", "Tickets transferred", "Tickets called",
             "Share of tickets transferred (%)"])
    reasons, targets = report["reasons"], report["targets"]
    head += [("原因：" if zh else "Reason: ") + (r["label"] if zh else r["label_en"]) for r in reasons]
    head += [("转往：" if zh else "To: ") + (t["label"] if zh else t["label_en"]) for t in targets]
    w.writerow(head)
    for row in [*report["rows"], report["total"]]:
        f = row["figures"]
        w.writerow([row["key"], row["label" if zh else "label_en"],
                    *(_cell(f[k]) for k in ("visits", "transfers", "rate", "tickets", "called", "ticket_rate")),
                    *(_cell(f["reasons"][r["code"]]) for r in reasons),
                    *(_cell(f["targets"][t["key"]]) for t in targets)])
    return buf.getvalue()


def _cell(v) -> str:
    if v is None:
        return ""
    return f"{v:.1f}" if isinstance(v, float) else str(v)
