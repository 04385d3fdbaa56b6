"""The one script runner: Lua scripts loaded from ``shared/lua/``, assembled, registered once per Redis client, run
by EVALSHA — and each mutating run taking effect once.

**Keys.** Every script gets the hall's sequence counter as KEYS[1] and its event stream as KEYS[2] (``emit`` in
``_prelude.lua`` appends the event with the next ``seq``); the runner puts them there, so a caller names only the
script's own keys, which follow from KEYS[3] on.

A script answers with JSON: ``{"ok": true, ...}`` or ``{"error": code, "message": text}``; :meth:`ScriptRunner.run`
turns an error code into the matching domain exception.

**Exactly once.** Redis runs every copy of a script it receives, and copies happen: redis-py resends a script whose
answer timed out (the first copy still runs when a stalled server continues), a kiosk or keypad resends a request
whose answer it did not get. So every *mutating* script is assembled as::

    prelude  +  local function __body() <the script> end  +  epilogue (_epilogue.lua)

and run with one more key (the operation key, ``HallKeys.operation``) and two more arguments (how long to keep the
answer, and a nonce of this call). The epilogue pops them before the body runs (the script sees its own KEYS and
ARGV only); if the operation key holds an answer, that answer is returned and nothing else happens; otherwise the
body runs and its final answer — success or refusal alike, so a resent copy of a refused call is refused the same
way and can never act later — is stored under the key. Scripts are atomic, so no two copies can both act. The
operation id comes from :mod:`shared.idempotency` (the request's ``Idempotency-Key``, a kiosk's ``request_id``, or a
random id). An answer stored by an earlier *call* (another nonce) comes back with ``"replayed": true``.

A script whose header has the line ``-- onewindow: read-only`` changes nothing and is run as it is (no operation
key): it must not write. A script whose header has ``-- onewindow: repeatable`` is also run as it is: it writes only
what every copy of it would write the same way (a lease renewal with the caller's own token), so a copy that runs
again changes nothing more. Neither appends events.

**Libraries.** Lua has no include: a header line ``-- onewindow: uses outbox, rectification`` puts
``shared/lua/_outbox.lua`` and ``shared/lua/_rectification.lua`` after the prelude (functions shared by several
scripts, such as writing an outbox entry in the same step as the rating it reports).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import redis

from shared import errors, idempotency
from shared.keys import HallKeys

READ_ONLY = "-- onewindow: read-only"
REPEATABLE = "-- onewindow: repeatable"
USES = "-- onewindow: uses "

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
    """The state moved since Python computed an argument (the script answered ``retry()``): compute it again and
    run the script again — with the same operation id, as the answer was not stored."""


@dataclass(frozen=True)
class Source:
    """A script as sent to Redis."""

    name: str
    text: str
    run_as_is: bool  # read-only or repeatable: no operation key


def _lua(name: str) -> str:
    return (resources.files("shared") / "lua" / f"{name}.lua").read_text(encoding="utf-8")


def _header(text: str) -> list[str]:
    lines = []
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        lines.append(line.strip())
    return lines


@cache
def source(name: str) -> Source:
    """The assembled text of ``shared/lua/<name>.lua`` (see the module doc)."""
    body = _lua(name)
    header = _header(body)
    prelude = "\n".join([_lua("_prelude"), *(_lua(f"_{lib}") for lib in _libraries(header))])
    if READ_ONLY in header or REPEATABLE in header:
        return Source(name, f"{prelude}\n{body}", True)
    return Source(name, f"{prelude}\nlocal function __body()\n{body}\nend\n{_lua('_epilogue')}", False)


def _libraries(header: list[str]) -> list[str]:
    libs: list[str] = []
    for line in header:
        if line.startswith(USES):
            libs += [x.strip() for x in line[len(USES):].split(",") if x.strip()]
    return list(dict.fromkeys(libs))


class ScriptRunner:
    """The scripts of one Redis client and hall, each registered once (on first use) and run by EVALSHA."""

    def __init__(self, client: redis.Redis, keys: HallKeys) -> None:
        self._client = client
        self._keys = keys
        self._scripts: dict[str, Any] = {}

    def _script(self, name: str) -> tuple[Any, bool]:
        found = self._scripts.get(name)
        if found is None:
            src = source(name)
            found = self._scripts[name] = (self._client.register_script(src.text), src.run_as_is)
        return found

    def script_keys(self, keys: Iterable[str] = ()) -> list[str]:
        """The KEYS of a script: the seq counter, the event stream, then ``keys`` (the script's own, KEYS[3] …)."""
        return [self._keys.seq, self._keys.events, *keys]

    def run(self, name: str, keys: Iterable[str], args: list[Any],
            errors_map: dict[str, type[errors.OneWindowError]] | None = None) -> dict:
        """Run ``shared/lua/<name>.lua`` with ``keys`` as its KEYS[3] … (see :meth:`script_keys`), once per
        operation; return its result dict or raise the domain error its code names (``errors_map`` adds codes of
        scripts owned by other modules; an unmapped code is a ConflictError). Redis errors propagate (the edge
        answers 503: the same request may be sent again)."""
        script, run_as_is = self._script(name)
        argv = [_arg(a) for a in args]
        all_keys = self.script_keys(keys)
        if run_as_is:
            return _answer(json.loads(script(keys=all_keys, args=argv)), errors_map)
        scope, op, ttl = idempotency.next_operation(name)
        try:
            raw, replayed = script(keys=[*all_keys, self._keys.operation(op)], args=[*argv, ttl, secrets.token_hex(8)])
        except redis.RedisError:
            if scope is not None:
                scope.done(name)  # whether a copy ran is unknown; a resend of the request finds its answer
            raise
        result = json.loads(raw)
        if result.get("error") != "retry" and scope is not None:
            scope.done(name)
        if replayed:
            result["replayed"] = True
            if scope is not None:
                scope.replayed = True
        return _answer(result, errors_map)


def _answer(result: dict, errors_map: dict[str, type[errors.OneWindowError]] | None) -> dict:
    code = result.get("error")
    if code:
        if code == "retry":
            raise RetryScript(result.get("message"))
        exc = (errors_map or {}).get(code) or _ERRORS.get(code, errors.ConflictError)
        details = result.get("details")  # fail_with(): numbers and times the caller may show (see _prelude.lua)
        raise exc(result.get("message"), code=code, **(details if isinstance(details, dict) else {}))
    return result


def as_list(value: Any) -> list:
    """A list a script answered: cjson encodes an empty Lua table as {}, read it as an empty list."""
    return value if isinstance(value, list) else []


def _arg(value: Any) -> str | int | float:
    if isinstance(value, bool):
        return "1" if value else "0"
    if value is None:
        return ""
    return value
