"""The generic JSON-over-HTTP adapter: one rating (the record ``rate_visit.lua`` wrote to the outbox) → the province's
record, by the field map of ``[haocaiping.upstream]``; POSTed with the standard library (urllib), the answer read as
accepted, worth another try, or refused for good.

The field map names, for each field the province expects, which of our values goes in it
(:data:`shared.config.UPSTREAM_SOURCE_FIELDS`); ``codes`` translates our values into the province's code lists
(channel ``tablet`` → ``4`` …); ``constants`` adds fixed fields (a data-source code, a version). docs/haocaiping.md
shows a complete example.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from datetime import datetime
from typing import Any

from shared.config import Config, UpstreamSettings
from shared.outbox import Delivery, Entry
from shared.ratings import LEVEL_BY_VALUE

logger = logging.getLogger(__name__)

ANSWER_MAX = 64 * 1024  # bytes of an answer read
RETRY_STATUSES = frozenset({408, 425, 429})  # 4xx answers that mean "not now" rather than "never"


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
        s = self.settings
        req = urllib.request.Request(s.url, data=self.body(entry.payload), method="POST", headers={
            "Content-Type": "application/json; charset=utf-8", "Accept": "application/json", **s.headers})
        try:
            with self.opener.open(req, timeout=s.timeout_seconds) as resp:
                status, raw = resp.status, resp.read(ANSWER_MAX)
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, _read(exc)
        except (urllib.error.URLError, OSError, ValueError) as exc:  # refused, reset, timed out, bad answer
            reason = getattr(exc, "reason", exc)
            return Delivery(False, f"no answer: {type(reason).__name__}: {reason}"[:500])
        return self.judge(status, raw)

    def judge(self, status: int, raw: bytes) -> Delivery:
        """Accepted / try again / refused for good, from the answer's status and body."""
        s = self.settings
        text = raw.decode("utf-8", "replace")[:300]
        if 200 <= status < 300:
            if not s.success_field:
                return Delivery(True, f"{status}")
            value = _field(raw, s.success_field)
            if value in s.success_values:
                return Delivery(True, f"{status} {s.success_field}={value}")
            if value in s.duplicate_values:
                return Delivery(True, f"{status} duplicate ({s.success_field}={value})")
            return Delivery(False, f"{status} not accepted: {text}")
        if status in RETRY_STATUSES or status >= 500:
            return Delivery(False, f"{status}: {text}")
        return Delivery(False, f"{status} refused: {text}", permanent=True)


def _read(exc: urllib.error.HTTPError) -> bytes:
    try:
        return exc.read(ANSWER_MAX)
    except OSError:
        return b""


def _field(raw: bytes, path: str) -> str | None:
    """The value at a dotted path of a JSON answer, as text (None when absent or not JSON)."""
    try:
        value: Any = json.loads(raw)
    except ValueError:
        return None
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value is None else str(value)
