"""Supervisor pages and API (值班主任): statistics, charts, CSV, follow-ups, the calendar (weekend rota, holidays,
调休), the live overview, and archiving on demand. Every route needs a signed-in clerk with the ``supervisor`` role
(``POST /api/v1/login`` without a window); state changes carry the session's CSRF token like the counter's.

Registered on the counter blueprint by :func:`register_supervisor_routes` (staff pages live together).
"""

from __future__ import annotations

import calendar
import logging
from datetime import date, timedelta

from flask import Blueprint, Response, current_app, jsonify, render_template, request

from counter.auth import require_supervisor
from shared.errors import ValidationError
from shared.rota import parse_entry
from shared.stats import GROUPINGS, Archive, Stats, archive_closed_days, report_csv
from shared.stats.charts import CHARTS, trend_grouping
from shared.rectification import follow_up_rating, resolve_case
from shared.stats.overview import overview
from shared.validation import Field, parse_json_object, validate

logger = logging.getLogger(__name__)

PERIODS = ("day", "week", "month", "year")
RESOLVE_SPEC = {"note": Field(str, max_length=500)}
SCHEDULE_SPEC = {
    "kind": Field(str, required=True, max_length=16),
    "services": Field(list),
    "windows": Field(list),
    "hours": Field(list),
    "note": Field(str, max_length=200),
}
MAX_SCHEDULE_DAYS = 120
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def _hall():
    return current_app.extensions["onewindow"]


def stats() -> Stats:
    """This app's statistics (one per app: its live fold is reused between requests)."""
    found = current_app.extensions.get("onewindow_stats")
    if found is None:
        hall = _hall()
        path = current_app.config.get("STATS_ARCHIVE_PATH") or hall.config.archive_path
        found = current_app.extensions.setdefault("onewindow_stats", Stats(hall.engine, Archive(path)))
    return found


#: Dates the supervisor pages accept: wide enough for any hall's records, narrow enough that a week, a month or a
#: schedule page around it never leaves ``date``'s range (9999-12-31 + 6 days is an OverflowError).
FIRST_DATE, LAST_DATE = date(2000, 1, 1), date(2099, 12, 31)


def _date(text: str | None, name: str, default: date) -> date:
    if text in (None, ""):
        return default
    try:
        d = date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"'{name}' must be a date like 2026-11-27", code="invalid_value", field=name) from None
    if not FIRST_DATE <= d <= LAST_DATE:
        raise ValidationError(f"'{name}' must be between {FIRST_DATE} and {LAST_DATE}", code="invalid_value",
                              field=name)
    return d


def report_range(args) -> tuple[date, date]:
    """``from``/``to`` (inclusive), or ``period`` = day | week | month | year around ``date`` (default: today)."""
    today = stats().today()
    period = args.get("period")
    if period:
        if period not in PERIODS:
            raise ValidationError(f"'period' must be one of: {', '.join(PERIODS)}", code="invalid_value", field="period")
        d = _date(args.get("date"), "date", today)
        if period == "day":
            return d, d
        if period == "week":
            monday = d - timedelta(days=d.weekday())
            return monday, monday + timedelta(days=6)
        if period == "month":
            return d.replace(day=1), d.replace(day=calendar.monthrange(d.year, d.month)[1])
        return d.replace(month=1, day=1), d.replace(month=12, day=31)
    start = _date(args.get("from"), "from", today)
    end = _date(args.get("to"), "to", start if args.get("from") else today)
    return start, end


def _lang() -> str:
    lang = request.args.get("lang", "zh")
    if lang not in ("zh", "en"):
        raise ValidationError("'lang' must be zh or en", code="invalid_value", field="lang")
    return lang


def _body(spec: dict) -> dict:
    return validate(parse_json_object(request.get_data(), request.mimetype), spec)


def _boot() -> dict:
    config = _hall().config
    return {
        "hall": {"name": config.hall_name, "name_en": config.hall_name_en},
        "services": [{"code": s.code, "name": s.name, "name_en": s.name_en, "prefix": s.prefix}
                     for s in config.services.values()],
        "windows": [{"number": n, "name": w.name, "services": list(w.services)} for n, w in sorted(config.windows.items())],
        "groupings": list(GROUPINGS),
        "alert_wait_minutes": config.statistics.alert_wait_minutes,
        "stop_issuing_minutes": config.schedule.stop_issuing_minutes,
    }


def register_supervisor_routes(bp: Blueprint) -> None:
    """Add the supervisor page and API to ``bp`` (the counter blueprint)."""

    @bp.get("/supervisor")
    def supervisor_page():
        response = current_app.make_response(render_template("supervisor.html", boot=_boot()))
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Cache-Control"] = "no-store"
        return response

    # ------------------------------------------------------------------------------------------- figures
    @bp.get("/api/v1/supervisor/report")
    def supervisor_report():
        require_supervisor()
        start, end = report_range(request.args)
        return jsonify(stats().report(start, end, request.args.get("by", "total")))

    @bp.get("/api/v1/supervisor/report.csv")
    def supervisor_report_csv():
        require_supervisor()
        lang = _lang()
        start, end = report_range(request.args)
        by = request.args.get("by", "total")
        body = report_csv(stats().report(start, end, by), lang)
        name = f"onewindow-{start.isoformat()}-{end.isoformat()}-{by}.csv"
        return Response(body, mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})

    @bp.get("/api/v1/supervisor/cumulative")
    def supervisor_cumulative():
        require_supervisor()
        return jsonify(stats().cumulative())

    @bp.get("/api/v1/supervisor/charts/<name>.svg")
    def supervisor_chart(name: str):
        require_supervisor()
        lang = _lang()
        if name not in CHARTS:
            raise ValidationError(f"no chart '{name}' (charts: {', '.join(CHARTS)})", code="unknown_chart")
        start, end = report_range(request.args)
        by, draw = CHARTS[name]
        rows = stats().report(start, end, by or trend_grouping((end - start).days + 1))["rows"]
        return Response(draw(rows, lang), mimetype="image/svg+xml", headers={"Cache-Control": "no-store"})

    # ------------------------------------------------------------------------------------------- live hall
    @bp.get("/api/v1/supervisor/overview")
    def supervisor_overview():
        require_supervisor()
        return jsonify(overview(_hall().engine, stats().live))

    # ------------------------------------------------------------------------------------------- follow-ups
    @bp.get("/api/v1/supervisor/followups")
    def supervisor_followups():
        require_supervisor()
        return jsonify(stats().followups(request.args.get("status", "open")))

    @bp.post("/api/v1/supervisor/followups/<kind>/<ref>/resolve")
    def supervisor_resolve(kind: str, ref: str):
        actor = require_supervisor()
        body = _body(RESOLVE_SPEC)
        engine = _hall().engine
        if kind == "case":
            done = resolve_case(engine, ref, by=actor.id, note=body.get("note", ""))
        elif kind == "rating":
            done = follow_up_rating(engine, ref, by=actor.id, note=body.get("note", ""),
                                    is_low_rating=stats().is_low_rating)
        else:
            raise ValidationError("kind must be 'case' or 'rating'", code="invalid_value", field="kind")
        return jsonify({"followup": {**done, "kind": kind, "at": engine.clock.now().isoformat(timespec="seconds")}})

    # ------------------------------------------------------------------------------------------- calendar
    @bp.get("/api/v1/supervisor/schedule")
    def supervisor_schedule():
        require_supervisor()
        engine = _hall().engine
        start = _date(request.args.get("from"), "from", engine.clock.business_date())
        try:
            days = int(request.args.get("days", 35))
        except ValueError:
            raise ValidationError("'days' must be a number", code="invalid_value", field="days") from None
        if not 1 <= days <= MAX_SCHEDULE_DAYS:
            raise ValidationError(f"'days' must be 1 … {MAX_SCHEDULE_DAYS}", code="invalid_value", field="days")
        plans = engine.rota.plans(engine.config, start, days)
        return jsonify({"from": start.isoformat(), "days": [_plan_view(p) for p in plans],
                        "stop_issuing_minutes": engine.config.schedule.stop_issuing_minutes})

    @bp.put("/api/v1/supervisor/schedule/<day>")
    def supervisor_set_schedule(day: str):
        actor = require_supervisor()
        d = _date(day, "day", None)
        entry = parse_entry(_body(SCHEDULE_SPEC), by=actor.id)
        engine = _hall().engine
        changed = engine.rota.set(engine.config, d, entry, today=engine.clock.business_date(), now_ms=engine.clock.now_ms())
        plan = engine.rota.plans(engine.config, d, 1)[0]
        return jsonify({"day": _plan_view(plan), "seq": changed["seq"]})

    @bp.delete("/api/v1/supervisor/schedule/<day>")
    def supervisor_clear_schedule(day: str):
        actor = require_supervisor()
        d = _date(day, "day", None)
        _body({})
        engine = _hall().engine
        changed = engine.rota.clear(d, by=actor.id, today=engine.clock.business_date(), now_ms=engine.clock.now_ms())
        plan = engine.rota.plans(engine.config, d, 1)[0]
        return jsonify({"day": _plan_view(plan), "seq": changed["seq"]})

    # ------------------------------------------------------------------------------------------- archive
    @bp.post("/api/v1/supervisor/archive")
    def supervisor_archive():
        require_supervisor()
        _body({})
        result = archive_closed_days(_hall().engine, stats().archive)
        return jsonify({"archived": result.archived, "trimmed": result.trimmed, "skipped": result.skipped})


def _plan_view(plan) -> dict:
    return {
        "day": plan.day.isoformat(), "weekday": plan.day.weekday(), "kind": plan.kind, "rest_day": plan.rest_day,
        "source": plan.source, "note": plan.note,
        "services": {code: [str(p) for p in periods] for code, periods in plan.services.items()},
        "windows": list(plan.windows),
        "entry": plan.override.to_dict() if plan.override else None,
    }
