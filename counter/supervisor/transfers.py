"""The supervisor desk's transfer routes (转办分析; part of the supervisor blueprint, :mod:`counter.supervisor.views`):
the transfer report of a period or range — by reason, from-window (or any report grouping), target, with the share
of tickets transferred — as JSON, CSV and an SVG chart. The figures are :mod:`shared.stats.transfers`'; every route
needs a supervisor's session."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, Response, jsonify, request

from shared.errors import ValidationError
from shared.stats.charts import transfer_reasons_chart
from shared.stats.periods import report_range
from shared.stats.transfers import transfer_report, transfers_csv

if TYPE_CHECKING:
    from onewindow.edge import WebEdge


def register(bp: Blueprint, edge: WebEdge) -> None:
    """Add ``/api/v1/supervisor/transfers`` (JSON), ``transfers.csv`` and ``charts/transfers.svg``."""
    hall, auth = edge.hall, edge.auth

    def report() -> dict:
        start, end = report_range(request.args, hall.stats.today())
        return transfer_report(hall.stats, start, end, request.args.get("by", "window"))

    @bp.get("/api/v1/supervisor/transfers")
    def supervisor_transfers():
        auth.require_supervisor()
        return jsonify(report())

    @bp.get("/api/v1/supervisor/transfers.csv")
    def supervisor_transfers_csv():
        auth.require_supervisor()
        lang = _lang()
        rep = report()
        name = f"onewindow-transfers-{rep['from']}-{rep['to']}-{rep['by']}.csv"
        return Response(transfers_csv(rep, lang), mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})

    @bp.get("/api/v1/supervisor/charts/transfers.svg")
    def supervisor_transfers_chart():
        auth.require_supervisor()
        lang = _lang()
        return Response(transfer_reasons_chart(report(), lang), mimetype="image/svg+xml",
                        headers={"Cache-Control": "no-store"})


def _lang() -> str:
    lang = request.args.get("lang", "zh")
    if lang not in ("zh", "en"):
        raise ValidationError("'lang' must be zh or en", code="invalid_value", field="lang")
    return lang
