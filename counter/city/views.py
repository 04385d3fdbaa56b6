"""City blueprint (全市监管): the page ``/city`` and its JSON API under ``/city/api/v1/`` (sign-in, sign-out and
"who am I" are the city's own routes, :mod:`onewindow.city_api`). Every route here needs a city supervisor's
session (``[[supervisors]]`` of ``city.toml``): a hall's clerk or supervisor is no city supervisor (401 / 403).

* ``GET /city/api/v1/overview`` — every hall's live overview, its summary and the city's totals;
* ``GET /city/api/v1/report?period=|from=&to=&by=&halls=`` — the figures summed across halls, each hall's total;
* ``GET /city/api/v1/report.csv?…&lang=zh|en`` — the same report as the hall's CSV;
* ``GET /city/api/v1/charts/<halls|haocaiping|load|wait|satisfaction|transfers>.svg?…&lang=`` — its charts;
* ``GET /city/api/v1/transfers?period=|from=&to=&by=&halls=`` (and ``transfers.csv``) — transfers (转办) by reason,
  window, target, summed across halls (:func:`shared.stats.city.city_transfers`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from flask import Blueprint, Response, jsonify, make_response, render_template, request

from shared.errors import ValidationError
from shared.stats.charts import haocaiping_rates, hall_comparison, hourly_load, satisfaction_trend, \
    transfer_reasons_chart, trend_grouping, wait_by_service
from shared.stats.city import CITY_GROUPINGS, CityStats, city_report_csv, city_transfers
from shared.stats.periods import report_range
from shared.stats.transfers import transfers_csv

if TYPE_CHECKING:
    from onewindow.edge import City

logger = logging.getLogger(__name__)

POLL_MS = 5000  # the page asks for the live overview this often
CITY_CHARTS = ("halls", "haocaiping", "load", "wait", "satisfaction", "transfers")


def create_blueprint(city: City) -> Blueprint:
    bp = Blueprint("city", __name__, template_folder="templates", static_folder="static",
                   static_url_path="/city/static")

    def figures() -> CityStats:
        return CityStats([h.stats for h in city.halls], city.name, city.name_en)

    def require() -> None:
        city.auth.require_city_supervisor()

    @bp.get("/city")
    def city_page():
        boot = {"city": {"id": city.id, "name": city.name, "name_en": city.name_en},
                "halls": [{"id": h.config.hall_id, "name": h.config.hall_name,
                           "name_en": h.config.hall_name_en or h.config.hall_name, "base": city.base(h)}
                          for h in city.halls],
                "several": city.several, "groupings": list(CITY_GROUPINGS), "poll_ms": POLL_MS,
                "tz": str(city.halls[0].config.timezone)}
        response = make_response(render_template("city.html", boot=boot))
        response.headers["Cache-Control"] = "no-store"
        return response

    @bp.get("/city/api/v1/overview")
    def city_overview():
        require()
        return jsonify(figures().overview())

    @bp.get("/city/api/v1/report")
    def city_report():
        require()
        stats = figures()
        start, end = report_range(request.args, stats.today())
        return jsonify(stats.report(start, end, request.args.get("by", "total"), _halls()))

    @bp.get("/city/api/v1/report.csv")
    def city_report_csv_route():
        require()
        lang = _lang()
        stats = figures()
        start, end = report_range(request.args, stats.today())
        by = request.args.get("by", "total")
        body = city_report_csv(stats.report(start, end, by, _halls()), lang)
        name = f"onewindow-city-{start.isoformat()}-{end.isoformat()}-{by}.csv"
        return Response(body, mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})

    @bp.get("/city/api/v1/charts/<name>.svg")
    def city_chart(name: str):
        require()
        lang = _lang()
        if name not in CITY_CHARTS:
            raise ValidationError(f"no chart '{name}' (charts: {', '.join(CITY_CHARTS)})", code="unknown_chart")
        stats = figures()
        start, end = report_range(request.args, stats.today())
        halls = _halls()
        if name == "transfers":  # 转办分析: the rows of the transfer report (by window unless asked)
            svg = transfer_reasons_chart(city_transfers(stats, start, end, request.args.get("by", "window"), halls),
                                         lang)
        elif name in ("halls", "haocaiping"):  # one row per hall: the comparison
            rows = stats.report(start, end, "hall", halls)["rows"]
            svg = (hall_comparison if name == "halls" else haocaiping_rates)(rows, lang)
        else:
            by = {"load": "hour", "wait": "service"}.get(name) or trend_grouping((end - start).days + 1)
            draw = {"load": hourly_load, "wait": wait_by_service, "satisfaction": satisfaction_trend}[name]
            svg = draw(stats.report(start, end, by, halls)["rows"], lang)
        return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "no-store"})

    def transfers() -> dict:
        stats = figures()
        start, end = report_range(request.args, stats.today())
        return city_transfers(stats, start, end, request.args.get("by", "window"), _halls())

    @bp.get("/city/api/v1/transfers")
    def city_transfers_route():
        require()
        return jsonify(transfers())

    @bp.get("/city/api/v1/transfers.csv")
    def city_transfers_csv_route():
        require()
        lang = _lang()
        rep = transfers()
        name = f"onewindow-city-transfers-{rep['from']}-{rep['to']}-{rep['by']}.csv"
        return Response(transfers_csv(rep, lang), mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})

    return bp


def _halls() -> list[str]:
    """``halls=a,b``: the halls a report covers (all when absent)."""
    raw = request.args.get("halls", "")
    return [h for h in (part.strip() for part in raw.split(",")) if h]


def _lang() -> str:
    lang = request.args.get("lang", "zh")
    if lang not in ("zh", "en"):
        raise ValidationError("'lang' must be zh or en", code="invalid_value", field="lang")
    return lang
