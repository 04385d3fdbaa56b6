"""Supervisor statistics: figures computed from the event stream and the archive of closed days.

* :mod:`~shared.stats.facts` — events → per-ticket facts (one fold for the live day and the archive);
* :mod:`~shared.stats.figures` — the definitions: daily aggregates, percentiles, rates;
* :mod:`~shared.stats.archive` — the SQLite archive; :mod:`~shared.stats.archiver` — closed days into it, stream trim;
* :mod:`~shared.stats.reports` — any date range grouped any way, cumulative totals, follow-up lists, CSV;
* :mod:`~shared.stats.overview` — the live hall (windows, queues, alerts); :mod:`~shared.stats.charts` — SVG charts;
* :mod:`~shared.stats.city` — several halls' figures summed and compared, and the live overview of every hall.

No Flask here (docs/statistics.md defines every figure).
"""

from shared.stats.archive import Archive
from shared.stats.archiver import Archiver, ArchiveResult, archive_closed_days, trim_stream
from shared.stats.reports import GROUPINGS, Stats, flatten, report_csv

__all__ = [
    "GROUPINGS",
    "Archive",
    "ArchiveResult",
    "Archiver",
    "Stats",
    "archive_closed_days",
    "flatten",
    "report_csv",
    "start_archiver",
    "trim_stream",
]


def start_archiver(engine, config) -> Archiver:
    """Start the background archiver of a server process (at start, then every ``archive_every_minutes``)."""
    return Archiver(engine, Archive(config.archive_path), config.statistics.archive_every_minutes).start()
