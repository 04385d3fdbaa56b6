"""City figures: several halls' statistics summed and compared, and the live overview of every hall.

A city (or a county's 乡镇便民服务中心) runs several halls on one deployment; its supervisor reads the same figures
as a hall's supervisor, for the whole city and hall by hall:

* :meth:`CityStats.report` — any date range grouped any way a hall's report is (:data:`~shared.stats.GROUPINGS`),
  plus ``hall`` (one row per hall). Each hall's report rows are taken *before* their figures are computed
  (:meth:`Stats.grouped <shared.stats.reports.Stats.grouped>`: counts, sorted duration runs, open cases,
  rectification tallies) and added row by row (:meth:`Accumulator.merge <shared.stats.figures.Accumulator.merge>`),
  so counts are the halls' counts added and every rate, mean, median and P90 is computed from the union of the
  halls' tickets — exactly what one hall holding all of them would show, never an average of averages. Every report
  also carries ``halls``: each hall's total for the period (the comparison).
* Rows: ``total`` / ``day`` / ``week`` / ``month`` / ``hour`` / ``daytype`` add the halls' rows of the same key (a
  day counts as a working or rest day by *its hall's* calendar); ``service`` and ``matter`` add rows of the same
  code (services and 事项 codes are the city's); ``window`` and ``clerk`` are a hall's own, so their rows stay apart,
  keyed ``<hall id>:<window or username>``.
* :func:`city_report_csv` — the hall's CSV form (UTF-8 BOM, zh / en headers, the same columns): the rows, each
  hall's total (unless the rows already are the halls), then the city total.
* :meth:`CityStats.overview` — each hall's live overview (:func:`shared.stats.overview.overview`) with a summary
  (waiting, serving, windows open, alerts) and the city's totals of them. A hall whose store does not answer is
  listed as unavailable; the others are still shown.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from redis.exceptions import RedisError

from shared.errors import OneWindowError, ValidationError
from shared.stats.figures import NOT_SERVICE, Accumulator
from shared.stats.overview import overview
from shared.stats.reports import GROUPINGS, Stats, report_csv

logger = logging.getLogger(__name__)

#: how a city report groups its rows: a hall's groupings, and ``hall``
CITY_GROUPINGS = (*GROUPINGS, "hall")
#: groupings whose keys belong to one hall (window 1 of one hall is not window 1 of another)
HALL_SCOPED = ("window", "clerk")
KEY_SEP = ":"


class CityStats:
    """The figures of several halls (each one's :class:`~shared.stats.reports.Stats`), in the city's hall order."""

    def __init__(self, halls: Sequence[Stats], name: str = "", name_en: str = "") -> None:
        if not halls:
            raise ValueError("a city has at least one hall")
        ids = [s.config.hall_id for s in halls]
        if len(set(ids)) != len(ids):
            raise ValueError(f"hall ids repeat: {ids}")
        self.halls = list(halls)
        self.name, self.name_en = name, name_en
        self._by_id = dict(zip(ids, self.halls))

    def today(self) -> date:
        """The business date of the city (its first hall's: the halls of a city share a time zone)."""
        return self.halls[0].today()

    def select(self, hall_ids: Sequence[str] | None) -> list[Stats]:
        """The halls named (all when ``hall_ids`` is empty), in the city's order; an unknown id is a 400."""
        if not hall_ids:
            return self.halls
        unknown = [h for h in hall_ids if h not in self._by_id]
        if unknown:
            raise ValidationError(f"no hall '{unknown[0]}' (halls: {', '.join(self._by_id)})", code="invalid_value",
                                  field="halls")
        wanted = set(hall_ids)
        return [s for s in self.halls if s.config.hall_id in wanted]

    # ------------------------------------------------------------------------------------------- reports
    def report(self, start: date, end: date, by: str = "total", halls: Sequence[str] | None = None) -> dict:
        """The city's figures of ``start`` … ``end`` grouped ``by`` (see :data:`CITY_GROUPINGS`), its total, and
        each hall's total (``halls``) — over the halls named by ``halls`` (all by default)."""
        if by not in CITY_GROUPINGS:
            raise ValidationError(f"'by' must be one of: {', '.join(CITY_GROUPINGS)}", code="invalid_value",
                                  field="by")
        chosen = self.select(halls)
        per_hall = [(s, s.grouped(start, end, "total" if by == "hall" else by)) for s in chosen]
        total = Accumulator()
        days: set[str] = set()
        for _s, g in per_hall:
            total.merge(g.total)
            days.update(g.kinds)
        hall_rows = [{"key": s.config.hall_id, "label": s.config.hall_name,
                      "label_en": s.config.hall_name_en or s.config.hall_name, "days": len(g.kinds),
                      "figures": g.total.figures()} for s, g in per_hall]
        if by == "hall":
            rows = [{k: v for k, v in r.items() if k != "days"} for r in hall_rows]
        else:
            rows = self._rows(by, per_hall)
        return {"from": start.isoformat(), "to": end.isoformat(), "by": by,
                "as_of": self.halls[0].engine.clock.now().isoformat(timespec="seconds"), "days": len(days),
                "rows": rows, "halls": hall_rows,
                "total": {"key": "total", "label": "合计", "label_en": "Total", "figures": total.figures()}}

    def _rows(self, by: str, per_hall: list) -> list[dict]:
        service_only = by not in NOT_SERVICE
        rows = self.merged_rows(by, [(s, g.rows) for s, g in per_hall], Accumulator)
        return [{"key": key, **label, "figures": row.figures(service_only=service_only)}
                for key, (label, row) in rows.items()]

    def merged_rows(self, by: str, per_hall: Sequence[tuple[Stats, dict]], new: Callable[[], Any],
                    own: Callable[[Stats, Any], Any] = lambda _s, row: row) -> dict[str, tuple[dict, Any]]:
        """Several halls' rows grouped ``by`` as the city's, in the city's order: key → (its label and label_en, the
        row). Windows and clerks (:data:`HALL_SCOPED`) stay a hall's own, one hall after the other, keyed
        ``<hall>:<key>`` and named ``<hall> · <name>``; other rows of the same key are added into a ``new()`` one
        (its ``merge``) and named by the first hall whose config names the key. ``own(hall, row)``: a hall's row as
        the city counts it (the row itself by default)."""
        if by in HALL_SCOPED:  # one hall's windows / clerks, one after the other
            return {f"{s.config.hall_id}{KEY_SEP}{key}": (_hall_label(s, s.label(by, key)), own(s, rows[key]))
                    for s, rows in per_hall for key in s.order(by, rows)}
        merged: dict[str, Any] = {}
        owner: dict[str, Stats] = {}
        for s, rows in per_hall:
            for key, row in rows.items():
                into = merged.get(key)
                if into is None:
                    into = merged[key] = new()
                into.merge(own(s, row))
                if key not in owner or not _knows(owner[key], by, key):
                    owner[key] = s  # the label comes from the first hall whose config names the key
        return {key: (owner[key].label(by, key), merged[key])
                for key in self._order(by, merged, [s for s, _rows in per_hall])}

    def _order(self, by: str, rows: dict, halls: list[Stats]) -> list[str]:
        if by == "service":
            known = [code for s in halls for code in s.config.services]
        elif by == "matter":
            known = [code for s in halls for code in s.matter_names()]
        else:
            return halls[0].order(by, rows) if halls else sorted(rows)  # days, weeks, hours …: the same everywhere
        index: dict[str, int] = {}
        for code in known:
            index.setdefault(code, len(index))
        return sorted(rows, key=lambda k: (index.get(k, len(index)), k))

    # ------------------------------------------------------------------------------------------- the live city
    def overview(self) -> dict:
        """Every hall's live overview with its summary, and the city's totals (see the module doc)."""
        halls, totals = [], dict.fromkeys(SUMMARY_FIELDS, 0)
        totals["halls"], totals["halls_unavailable"] = len(self.halls), 0
        for s in self.halls:
            cfg = s.config
            row = {"hall": cfg.hall_id, "name": cfg.hall_name, "name_en": cfg.hall_name_en or cfg.hall_name}
            try:
                view = overview(s.engine, s.live)
            except (RedisError, OneWindowError) as exc:  # one hall's slot down: the others still show
                logger.warning("city overview: hall %s unavailable: %s", cfg.hall_id, exc)
                halls.append({**row, "available": False, "summary": None, "overview": None})
                totals["halls_unavailable"] += 1
                continue
            summary = summarize(view)
            for k in SUMMARY_FIELDS:
                totals[k] = max(totals[k], summary[k]) if k == "longest_wait_s" else totals[k] + summary[k]
            halls.append({**row, "available": True, "summary": summary, "overview": view})
        clock = self.halls[0].engine.clock
        return {"now": clock.now().isoformat(timespec="seconds"), "day": clock.business_date().isoformat(),
                "name": self.name, "name_en": self.name_en, "totals": totals, "halls": halls}


#: a hall's summary figures the city adds up (``longest_wait_s``: the longest of them)
SUMMARY_FIELDS = ("waiting", "serving", "windows_open", "windows", "paused", "alerts", "longest_wait_s")


def summarize(view: dict) -> dict:
    """One hall's live overview in a few numbers: people waiting, windows serving / open (staffed: serving, idle or
    paused) / paused / in all, alerts, the longest wait now."""
    windows = view["windows"]
    return {
        "waiting": sum(s["waiting"] for s in view["services"]),
        "serving": sum(1 for w in windows if w["status"] == "serving"),
        "windows_open": sum(1 for w in windows if w["status"] != "closed"),
        "windows": len(windows),
        "paused": sum(1 for w in windows if w["status"] == "paused"),
        "alerts": len(view["alerts"]),
        "longest_wait_s": max((s["longest_wait_s"] for s in view["services"]), default=0),
        "day_kind": view["day_kind"], "rest_day": view["rest_day"],
    }


def _knows(stats: Stats, by: str, key: str) -> bool:
    if by == "service":
        return key in stats.config.services
    if by == "matter":
        return key in stats.matter_names()
    return True


def city_report_csv(report: dict, lang: str = "zh") -> str:
    """A city report as the hall's CSV (UTF-8 with a BOM, the same columns, zh or en headers): the rows, then each
    hall's total (the comparison; left out when the rows are the halls), then the city's total. The numbers are
    exactly the report's."""
    rows = report["rows"] if report["by"] == "hall" else [*report["rows"], *report["halls"]]
    return report_csv({"rows": rows, "total": report["total"]}, lang)


# ------------------------------------------------------------------------------------------------ transfers (转办)
def city_transfers(city: CityStats, start: date, end: date, by: str = "window",
                   halls: Sequence[str] | None = None) -> dict:
    """The city's transfer report (:mod:`shared.stats.transfers`): each hall's transfers tallied, then added row by
    row — counts add and every rate (转办率, the share of tickets transferred) is computed from the sums, never
    averaged. Windows and clerks stay a hall's own (rows keyed ``<hall>:<window>``, routes from ``<hall>:<window>``,
    targets ``window:<hall>:<n>``); services, days, hours … add across halls. Plus ``halls``: each hall's total."""
    from shared.stats.transfers import (TransferGrouping, TransferTally, _clerk_name, _target_label, build_report,
                                        check_grouping, transfer_grouping)

    check_grouping(by)
    chosen = city.select(halls)
    merged = TransferGrouping(by)
    days: set[str] = set()
    hall_rows = []
    hall_totals = []
    for s in chosen:
        hid = s.config.hall_id
        g = transfer_grouping(s, start, end, by)
        days |= g.day_set
        hall_totals.append((s, g.total))
        hall_rows.append((s, g.rows))
        merged.total.merge(_rekey(g.total, hid))
        for (win, tgt), tally in g.routes.items():
            route = (None if win is None else f"{hid}{KEY_SEP}{win}", _rekey_target(tgt, hid))
            merged.routes.setdefault(route, TransferTally()).merge(_rekey(tally, hid))
        merged.notes += [(None if w is None else f"{hid}{KEY_SEP}{w}", _rekey_target(tgt, hid), tr)
                         for w, tgt, tr in g.notes]
    merged.days = len(days)
    rows = city.merged_rows(by, hall_rows, TransferTally, lambda s, tally: _rekey(tally, s.config.hall_id))
    merged.rows = {key: row for key, (_label, row) in rows.items()}  # in the city's order
    by_id = {s.config.hall_id: s for s in chosen}

    def split(key: str) -> tuple[Stats, str]:
        hid, _, own = key.partition(KEY_SEP)
        return by_id[hid], own

    def target_label(key: str) -> dict:
        kind, _, value = key.partition(":")
        if kind == "window" and KEY_SEP in value:
            s, own = split(value)
            return _hall_label(s, _target_label(s.config, f"window:{own}"))
        known = next((s for s in chosen if value in s.config.services), chosen[0])
        return _target_label(known.config, key)

    def target_order(keys: list[str]) -> list[str]:
        index: dict[str, int] = {}
        for s in chosen:
            for code in s.config.services:
                index.setdefault(f"service:{code}", len(index))
        halls_at = {s.config.hall_id: i for i, s in enumerate(chosen)}

        def rank(k: str):
            if k in index:
                return (0, index[k], 0, k)
            hid, _, n = k.partition(":")[2].partition(KEY_SEP)
            return (1, halls_at.get(hid, len(halls_at)), int(n) if n.isdigit() else 10**6, k)
        return sorted(keys, key=rank)

    def window_label(key: str) -> dict:
        s, own = split(key)
        return _hall_label(s, s.label("window", own))

    rep = build_report(merged, start, end, city.halls[0].engine.clock.now().isoformat(timespec="seconds"),
                       row_label=lambda key: rows[key][0], order=list, target_label=target_label,
                       target_order=target_order,
                       window_label=window_label,
                       clerk_name=lambda username, window: _clerk_name(_owners(chosen, window), username))
    codes = [r["code"] for r in rep["reasons"]]
    targets = [t["key"] for t in rep["targets"]]
    rep["halls"] = [{"key": s.config.hall_id, "label": s.config.hall_name,
                     "label_en": s.config.hall_name_en or s.config.hall_name,
                     "figures": _rekey(t, s.config.hall_id).figures(codes, targets)} for s, t in hall_totals]
    return rep


def _owners(chosen: list[Stats], window: str | None) -> list:
    """The configs in which to look up the clerk of a note from ``window`` (``<hall><sep><n>``): that hall's only —
    a username belongs to one hall, and another hall may have a clerk of the same username."""
    hall = window.partition(KEY_SEP)[0] if window else None
    own = [s.config for s in chosen if s.config.hall_id == hall]
    return own or [s.config for s in chosen]


def _hall_label(s: Stats, own: dict) -> dict:
    cfg = s.config
    return {"label": f"{cfg.hall_name} · {own['label']}",
            "label_en": f"{cfg.hall_name_en or cfg.hall_name} · {own['label_en']}"}


def _rekey_target(key: str, hall_id: str) -> str:
    kind, _, value = key.partition(":")
    return f"window:{hall_id}{KEY_SEP}{value}" if kind == "window" else key


def _rekey(tally, hall_id: str):
    """A copy of a hall's tally with its window targets named by hall (``window:<hall>:<n>``)."""
    from shared.stats.transfers import TransferTally

    out = TransferTally()
    out.merge(tally)
    out.targets = type(tally.targets)({_rekey_target(k, hall_id): n for k, n in tally.targets.items()})
    return out
