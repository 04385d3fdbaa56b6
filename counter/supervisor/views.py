"""Supervisor blueprint (值班主任): statistics, charts, CSV, follow-ups, the calendar (weekend rota, holidays, 调休),
the live overview, and archiving on demand. Every API route needs a signed-in clerk with the ``supervisor`` role
(``POST /api/v1/login`` without a window); state changes carry the session's CSRF token like the counter's."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from flask import Blueprint, Response, jsonify, request

from counter.supervisor import desk, transfers
from shared.errors import ValidationError
from shared.help_requests import handle_help
from shared.rectification import follow_up_rating, resolve_case
from shared.rota import parse_entry
from shared.schedule import DayPlan
from shared.stats import GROUPINGS, archive_closed_days, report_csv
from shared.stats.charts import CHARTS, HCP_GROUPINGS, trend_grouping
from shared.stats.overview import overview
from shared.stats.periods import parse_date as _date
from shared.stats.periods import report_range
from shared.validation import Field

if TYPE_CHECKING:
    from onewindow.edge import WebEdge

logger = logging.getLogger(__name__)

RESOLVE_SPEC = {"note": Field(str, max_length=500)}
SCHEDULE_SPEC = {
    "kind": Field(str, required=True, max_length=16),
    "services": Field(list),
    "windows": Field(list),
    "hours": Field(list),
    "note": Field(str, max_length=200),
}
MAX_SCHEDULE_DAYS = 120


def create_blueprint(edge: WebEdge) -> Blueprint:
    bp = Blueprint("supervisor", __name__, template_folder="templates", static_folder="static",
                   static_url_path="/supervisor/static")
    config = edge.hall.config
    boot = {**edge.facts, "groupings": list(GROUPINGS),
            "alert_wait_minutes": config.statistics.alert_wait_minutes,
            "stop_issuing_minutes": config.schedule.stop_issuing_minutes, "tz": str(config.timezone)}

    @bp.get("/supervisor")
    def supervisor_page():
        return edge.page("supervisor.html", boot=boot)

    _figures(bp, edge)
    _live(bp, edge)
    _schedule(bp, edge)
    transfers.register(bp, edge)  # 转办分析: transfers by reason, window and target (counter/supervisor/transfers.py)
    desk.register(bp, edge)  # 好差评 reports, rectification, 帮办代办 (counter/supervisor/desk.py)
    return bp


# ------------------------------------------------------------------------------------------------ figures
def _figures(bp: Blueprint, edge: WebEdge) -> None:
    hall, auth = edge.hall, edge.auth

    @bp.get("/api/v1/supervisor/report")
    def supervisor_report():
        auth.require_supervisor()
        start, end = report_range(request.args, hall.stats.today())
        return jsonify(hall.stats.report(start, end, request.args.get("by", "total")))

    @bp.get("/api/v1/supervisor/report.csv")
    def supervisor_report_csv():
        auth.require_supervisor()
        lang = _lang()
        start, end = report_range(request.args, hall.stats.today())
        by = request.args.get("by", "total")
        body = report_csv(hall.stats.report(start, end, by), lang)
        name = f"onewindow-{start.isoformat()}-{end.isoformat()}-{by}.csv"
        return Response(body, mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})

    @bp.get("/api/v1/supervisor/cumulative")
    def supervisor_cumulative():
        auth.require_supervisor()
        return jsonify(hall.stats.cumulative())

    @bp.get("/api/v1/supervisor/charts/<name>.svg")
    def supervisor_chart(name: str):
        auth.require_supervisor()
        lang = _lang()
        if name not in CHARTS:
            raise ValidationError(f"no chart '{name}' (charts: {', '.join(CHARTS)})", code="unknown_chart")
        start, end = report_range(request.args, hall.stats.today())
        by, draw = CHARTS[name]
        if name == "haocaiping" and request.args.get("by"):  # the 好差评 chart follows the report's grouping
            by = request.args["by"]
            if by not in HCP_GROUPINGS:
                raise ValidationError(f"'by' must be one of: {', '.join(HCP_GROUPINGS)}", code="invalid_value",
                                      field="by")
        rows = hall.stats.report(start, end, by or trend_grouping((end - start).days + 1))["rows"]
        return Response(draw(rows, lang), mimetype="image/svg+xml", headers={"Cache-Control": "no-store"})

    @bp.post("/api/v1/supervisor/archive")
    def supervisor_archive():
        auth.require_supervisor()
        edge.body({})
        result = archive_closed_days(hall.engine, hall.stats.archive)
        return jsonify({"archived": result.archived, "trimmed": result.trimmed, "skipped": result.skipped})


# ------------------------------------------------------------------------------------------------ the live hall
def _live(bp: Blueprint, edge: WebEdge) -> None:
    hall, auth = edge.hall, edge.auth

    @bp.get("/api/v1/supervisor/overview")
    def supervisor_overview():
        auth.require_supervisor()
        return jsonify(overview(hall.engine, hall.stats.live))

    @bp.get("/api/v1/supervisor/followups")
    def supervisor_followups():
        auth.require_supervisor()
        return jsonify(hall.stats.followups(request.args.get("status", "open")))

    @bp.post("/api/v1/supervisor/followups/<kind>/<ref>/resolve")
    def supervisor_resolve(kind: str, ref: str):
        actor = auth.require_supervisor()
        note = edge.body(RESOLVE_SPEC).get("note", "")
        if kind == "case":
            done = resolve_case(hall.engine, ref, by=actor.id, note=note)
        elif kind == "rating":
            done = follow_up_rating(hall.engine, ref, by=actor.id, note=note, is_low_rating=hall.stats.is_low_rating)
        else:
            raise ValidationError("kind must be 'case' or 'rating'", code="invalid_value", field="kind")
        at = hall.engine.clock.now().isoformat(timespec="seconds")
        return jsonify({"followup": {**done, "kind": kind, "at": at}})


    @bp.post("/api/v1/supervisor/help/<kiosk>/<request_id>/handled")
    def supervisor_help_handled(kiosk: str, request_id: str):
        """A kiosk's help request was answered (``help_handled``); 409 ``not_open`` when it is not open."""
        actor = auth.require_supervisor()
        return jsonify({"request": handle_help(hall.engine, kiosk, request_id, by=actor.id)})

# ------------------------------------------------------------------------------------------------ the calendar
def _schedule(bp: Blueprint, edge: WebEdge) -> None:
    engine, auth = edge.hall.engine, edge.auth

    @bp.get("/api/v1/supervisor/schedule")
    def supervisor_schedule():
        auth.require_supervisor()
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
        actor = auth.require_supervisor()
        d = _date(day, "day", None)
        entry = parse_entry(edge.body(SCHEDULE_SPEC), by=actor.id)
        changed = engine.rota.set(engine.config, d, entry, today=engine.clock.business_date(),
                                  now_ms=engine.clock.now_ms())
        return jsonify({"day": _plan_view(engine.rota.plans(engine.config, d, 1)[0]), "seq": changed["seq"]})

    @bp.delete("/api/v1/supervisor/schedule/<day>")
    def supervisor_clear_schedule(day: str):
        actor = auth.require_supervisor()
        d = _date(day, "day", None)
        edge.body({})
        changed = engine.rota.clear(d, by=actor.id, today=engine.clock.business_date(), now_ms=engine.clock.now_ms())
        return jsonify({"day": _plan_view(engine.rota.plans(engine.config, d, 1)[0]), "seq": changed["seq"]})


# ------------------------------------------------------------------------------------------------ query arguments
def _lang() -> str:
    lang = request.args.get("lang", "zh")
    if lang not in ("zh", "en"):
        raise ValidationError("'lang' must be zh or en", code="invalid_value", field="lang")
    return lang


def _plan_view(plan: DayPlan) -> dict:
    return {
        "day": plan.day.isoformat(), "weekday": plan.day.weekday(), "kind": plan.kind, "rest_day": plan.rest_day,
        "source": plan.source, "note": plan.note,
        "services": {code: [str(p) for p in periods] for code, periods in plan.services.items()},
        "windows": list(plan.windows),
        "entry": plan.override.to_dict() if plan.override else None,
    }
