"""The web edge: what every blueprint reaches of the hall, built once per app by :func:`onewindow.create_app`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from shared.config import Config
from shared.engine import Engine
from shared.printer_health import PrinterHealth
from shared.stats import Archive, Stats


class Hall:
    """One hall as the web edge reaches it: its config, its engine (the queues and every named operation of the
    core), the kiosks' printer health and its statistics (one live fold per process, made on first use)."""

    def __init__(self, config: Config, engine: Engine, redis_url: str, archive_path: Callable[[], Path]) -> None:
        self.config = config
        self.engine = engine
        self.redis_url = redis_url
        self.printers = PrinterHealth(engine)
        self._archive_path = archive_path
        self._stats: Stats | None = None
        self._lock = threading.Lock()

    @property
    def stats(self) -> Stats:
        """The statistics of this hall (the archive at ``STATS_ARCHIVE_PATH`` when the app config names one)."""
        with self._lock:
            if self._stats is None:
                self._stats = Stats(self.engine, Archive(self._archive_path()))
            return self._stats
