"""Log records as the hall reads them: timestamps in the hall's time zone, as text or as one JSON object a line.

``configure(level, fmt, tz, path)`` sets up the root logger for the ``onewindow`` command (and gunicorn's loggers,
through :func:`gunicorn_logconfig`), writing to stderr or to a file that logrotate may move (``WatchedFileHandler``
reopens it). JSON lines carry ``ts`` (ISO 8601 with the hall's UTC offset), ``level``, ``logger``, ``message``,
``pid`` and, for an exception, ``exc``.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

FORMATS = ("text", "json")


class HallTimeFormatter(logging.Formatter):
    """Plain text: ``2026-11-27 09:15:00.123+08:00 INFO name: message``."""

    def __init__(self, tz: ZoneInfo) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.tz = tz

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging API
        return _stamp(record, self.tz, sep=" ")


class JsonFormatter(logging.Formatter):
    """One JSON object per record (UTF-8 text, Chinese kept as is)."""

    def __init__(self, tz: ZoneInfo) -> None:
        super().__init__()
        self.tz = tz

    def format(self, record: logging.LogRecord) -> str:
        out = {"ts": _stamp(record, self.tz), "level": record.levelname, "logger": record.name,
               "message": record.getMessage(), "pid": record.process}
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def _stamp(record: logging.LogRecord, tz: ZoneInfo, sep: str = "T") -> str:
    return datetime.fromtimestamp(record.created, tz).isoformat(sep=sep, timespec="milliseconds")


def formatter(fmt: str, tz: ZoneInfo) -> logging.Formatter:
    return JsonFormatter(tz) if fmt == "json" else HallTimeFormatter(tz)


def handler(path: str | None) -> logging.Handler:
    if path:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        return logging.handlers.WatchedFileHandler(path, encoding="utf-8")
    return logging.StreamHandler(sys.stderr)


def configure(level: str = "INFO", fmt: str = "text", tz: ZoneInfo | None = None, path: str | None = None) -> None:
    """(Re)configure the root logger; replaces handlers set up before (the zone is known once the config is read)."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    h = handler(path)
    h.setFormatter(formatter(fmt, tz or ZoneInfo("UTC")))
    root.addHandler(h)
    root.setLevel(level)


def gunicorn_logconfig(level: str, fmt: str, tz: ZoneInfo, path: str | None, access_log: bool) -> dict:
    """A ``logconfig_dict`` giving gunicorn's own loggers the same format, zone and destination."""
    def factory() -> logging.Formatter:
        return formatter(fmt, tz)

    target = ({"class": "logging.handlers.WatchedFileHandler", "filename": path, "encoding": "utf-8"} if path
              else {"class": "logging.StreamHandler", "stream": "ext://sys.stderr"})
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"hall": {"()": factory}},
        "handlers": {"out": {**target, "formatter": "hall"}},
        "root": {"level": level, "handlers": ["out"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": ["out"], "propagate": False},
            "gunicorn.access": {"level": "INFO" if access_log else "WARNING", "handlers": ["out"], "propagate": False},
        },
    }
