"""Lua scripts: loaded from ``shared/lua/``, the prelude prepended, registered once per Redis client.

A script answers with JSON: ``{"ok": true, ...}`` or ``{"error": code, "message": text}``; :func:`run` turns an
error code into the matching domain exception.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import redis

from shared import errors

# script error code → exception class (the code is kept as the exception's code)
_ERRORS: dict[str, type[errors.OneWindowError]] = {
    "quota_reached": errors.ServiceClosedError,
    "service_closed": errors.ServiceClosedError,
    "not_found": errors.NotFoundError,
    "window_paused": errors.ConflictError,
    "window_busy": errors.ConflictError,
    "queue_empty": errors.ConflictError,
    "invalid_transition": errors.ConflictError,
    "wrong_window": errors.ConflictError,
    "nothing_to_recall": errors.ConflictError,
    "nothing_to_finish": errors.ConflictError,
    "nothing_to_transfer": errors.ConflictError,
    "same_target": errors.UnprocessableError,
    "already_paused": errors.ConflictError,
    "not_paused": errors.ConflictError,
}


class RetryScript(Exception):
    """The state moved between a read and the script; the caller reads again."""


@cache
def _source(name: str) -> str:
    lua = resources.files("shared") / "lua"
    return (lua / "_prelude.lua").read_text(encoding="utf-8") + "\n" + (lua / f"{name}.lua").read_text(encoding="utf-8")


class Scripts:
    """The scripts of one Redis client, each registered once (on first use) and run by EVALSHA."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._scripts: dict[str, Any] = {}

    def run(self, name: str, keys: list[str], args: list[Any],
            errors_map: dict[str, type[errors.OneWindowError]] | None = None) -> dict:
        """Run ``shared/lua/<name>.lua``; return its result dict or raise the domain error its code names
        (``errors_map`` adds codes of scripts owned by other modules; an unmapped code is a ConflictError)."""
        script = self._scripts.get(name)
        if script is None:
            script = self._scripts[name] = self._client.register_script(_source(name))
        result = json.loads(script(keys=keys, args=[_arg(a) for a in args]))
        code = result.get("error")
        if code:
            if code == "retry":
                raise RetryScript(result.get("message"))
            exc = (errors_map or {}).get(code) or _ERRORS.get(code, errors.ConflictError)
            raise exc(result.get("message"), code=code)
        return result


def _arg(value: Any) -> str | int | float:
    if isinstance(value, bool):
        return "1" if value else "0"
    if value is None:
        return ""
    return value
