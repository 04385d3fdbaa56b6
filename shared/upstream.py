"""Posting one JSON body to an upstream system and reading its answer — the HTTP half that every outbox adapter
shares (the 好差评 adapter, :mod:`shared.haocaiping.adapter`; the notification webhook, :mod:`shared.notify.webhook`).
Standard library only (urllib).

An answer is read as one :class:`~shared.outbox.Delivery`:

- a 2xx is accepted — or, when the settings name a ``success_field`` (a dotted path into the JSON answer), a 2xx
  whose field is in ``success_values``, or in ``duplicate_values`` (the receiver already has it: accepted too);
  any other 2xx is not accepted and tried again;
- 408, 425, 429, 5xx and no answer at all (refused, reset, timed out, unreadable) are tried again;
- any other 4xx is refused for good (``permanent``): the entry fails at once and waits for a person.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any, Protocol

from shared.outbox import Delivery

ANSWER_MAX = 64 * 1024  # bytes of an answer read
RETRY_STATUSES = frozenset({408, 425, 429})  # 4xx answers that mean "not now" rather than "never"
DETAIL_MAX = 500  # characters of a "no answer" detail
TEXT_MAX = 300  # characters of an answer's body quoted in a detail


class AnswerRules(Protocol):
    """What :func:`post_json` needs of an adapter's settings (``[haocaiping.upstream]``, ``[notifications]``)."""

    url: str
    headers: dict[str, str]
    timeout_seconds: float
    success_field: str
    success_values: tuple[str, ...]
    duplicate_values: tuple[str, ...]


def post_json(opener: urllib.request.OpenerDirector, rules: AnswerRules, body: bytes,
              headers: Mapping[str, str] | None = None) -> Delivery:
    """POST ``body`` (JSON, UTF-8) to ``rules.url`` with ``headers`` and the configured ones (these win), and judge
    the answer (see the module doc)."""
    req = urllib.request.Request(rules.url, data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "Accept": "application/json", **(headers or {}),
        **rules.headers})
    try:
        with opener.open(req, timeout=rules.timeout_seconds) as resp:
            status, raw = resp.status, resp.read(ANSWER_MAX)
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, _read(exc)
    except (urllib.error.URLError, OSError, ValueError) as exc:  # refused, reset, timed out, bad answer
        reason = getattr(exc, "reason", exc)
        return Delivery(False, f"no answer: {type(reason).__name__}: {reason}"[:DETAIL_MAX])
    return judge(rules, status, raw)


def judge(rules: AnswerRules, status: int, raw: bytes) -> Delivery:
    """Accepted / try again / refused for good, from an answer's status and body (see the module doc)."""
    text = raw.decode("utf-8", "replace")[:TEXT_MAX]
    if 200 <= status < 300:
        if not rules.success_field:
            return Delivery(True, f"{status}")
        value = answer_field(raw, rules.success_field)
        if value in rules.success_values:
            return Delivery(True, f"{status} {rules.success_field}={value}")
        if value in rules.duplicate_values:
            return Delivery(True, f"{status} duplicate ({rules.success_field}={value})")
        return Delivery(False, f"{status} not accepted: {text}")
    if status in RETRY_STATUSES or status >= 500:
        return Delivery(False, f"{status}: {text}")
    return Delivery(False, f"{status} refused: {text}", permanent=True)


def answer_field(raw: bytes, path: str) -> str | None:
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


def _read(exc: urllib.error.HTTPError) -> bytes:
    try:
        return exc.read(ANSWER_MAX)
    except OSError:
        return b""
