"""The generic JSON-over-HTTP adapter: one rating (the record ``rate_visit.lua`` wrote to the outbox) → the province's
record, by the field map of ``[haocaiping.upstream]``; POSTed and its answer read as accepted, worth another try, or
refused for good by :mod:`shared.upstream`.

The field map names, for each field the province expects, which of our values goes in it
(:data:`shared.config.UPSTREAM_SOURCE_FIELDS`); ``codes`` translates our values into the province's code lists
(channel ``tablet`` → ``4`` …); ``constants`` adds fixed fields (a data-source code, a version). docs/haocaiping.md
shows a complete example.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from datetime import datetime
from typing import Any

from shared import upstream
from shared.config import Config, UpstreamSettings
from shared.outbox import Delivery, Entry
from shared.ratings import LEVEL_BY_VALUE

logger = logging.getLogger(__name__)


def _list(value: Any) -> list:
    """A list from the outbox payload (cjson writes an empty Lua table as {})."""
    if isinstance(value, list):
        return value
    return []


class JsonHttpAdapter:
    """Maps and posts ratings for one hall (see the module doc)."""

    def __init__(self, config: Config, *, opener: urllib.request.OpenerDirector | None = None) -> None:
        self.config = config
        self.settings: UpstreamSettings = config.haocaiping.upstream
        self.opener = opener or urllib.request.build_opener()
        self._labels = {o.code: o.label for o in config.haocaiping.options}

    # ------------------------------------------------------------------------------------------- mapping
    def values(self, rating: dict) -> dict[str, Any]:
        """Every value the field map may use, for one rating record."""
        s, c = self.settings, self.config
        svc = c.services.get(rating.get("service", ""))
        clerk = c.clerks.get(rating.get("clerk") or "")
        options = [str(x) for x in _list(rating.get("options"))]
        level = int(rating.get("level") or 0)
        return {
            "id": f"{c.hall_id}-{rating['id']}",
            "rating_id": rating["id"],
            "hall_id": c.hall_id,
            "hall_name": c.hall_name,
            "area_code": s.area_code,
            "department_code": s.department_for(rating.get("service", "")),
            "department": svc.name if svc else rating.get("service", ""),
            "service": rating.get("service", ""),
            "matter_code": rating.get("matter_code") or "",
            "matter_name": rating.get("matter_name") or (svc.name if svc else ""),
            "case_no": rating.get("case_no") or "",
            "case_status": rating.get("outcome") or "",
            "clerk": rating.get("clerk") or "",
            "clerk_name": clerk.name if clerk else (rating.get("clerk") or ""),
            "window": rating.get("window"),
            "ticket": rating.get("ticket", ""),
            "number": rating.get("number", ""),
            "channel": rating.get("channel", ""),
            "level": level,
            "level_label": LEVEL_BY_VALUE[level].label if level in LEVEL_BY_VALUE else "",
            "content_codes": options,
            "content_labels": [self._labels.get(x, x) for x in options],
            "text": rating.get("text") or "",
            "rated_at": self._time(rating.get("rated_ms")),
            "finished_at": self._time(rating.get("finished_ms")),
            "assess_number": int(rating.get("assess") or 1),
            "is_default": bool(rating.get("default")),
            "rater_id_hash": rating.get("rater_id_hash") or "",
            "rater_kind": rating.get("rater_kind") or "",
        }

    def _time(self, ms: Any) -> str:
        if ms in (None, ""):
            return ""
        return datetime.fromtimestamp(int(ms) / 1000, self.config.timezone).strftime(self.settings.time_format)

    def _code(self, source: str, value: Any) -> Any:
        table = self.settings.codes.get(source)
        if table is None:
            return value
        key = ("true" if value else "false") if isinstance(value, bool) else str(value)
        return table.get(key, value)

    def record(self, rating: dict) -> dict[str, Any]:
        """The province's record for one rating: the field map applied, codes translated, constants added."""
        values = self.values(rating)
        out: dict[str, Any] = {}
        for name, source in self.settings.fields.items():
            value = values[source]
            if isinstance(value, list):
                value = [self._code(source, v) for v in value]
                if self.settings.list_separator:
                    value = self.settings.list_separator.join(str(v) for v in value)
            else:
                value = self._code(source, value)
            out[name] = value
        out.update(self.settings.constants)
        return out

    def body(self, rating: dict) -> bytes:
        record = self.record(rating)
        doc = {self.settings.wrap: record} if self.settings.wrap else record
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    # ------------------------------------------------------------------------------------------- posting
    def deliver(self, entry: Entry) -> Delivery:
        """POST one entry; accepted on a 2xx whose answer says so (``success_field``) or says duplicate."""
        return upstream.post_json(self.opener, self.settings, self.body(entry.payload))

    def judge(self, status: int, raw: bytes) -> Delivery:
        """Accepted / try again / refused for good, from the answer's status and body."""
        return upstream.judge(self.settings, status, raw)
