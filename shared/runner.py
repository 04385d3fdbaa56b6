"""The one script runner: Lua scripts loaded from ``shared/lua/``, assembled, registered once per Redis client, run
by EVALSHA — and each mutating run taking effect once. (On a single server the runner packs EVALSHA and sends it on
one of redis-py's pooled connections itself, with redis-py's retry policy and reply parser: redis-py's generic
command path cost ~40 µs per run; a cluster, a pipeline or a single-connection client goes through redis-py's
``Script``.)

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

**Cluster.** With redis-py's ``RedisCluster`` (see :mod:`shared.redis_client`) nothing changes for a caller: every
key of a hall carries its hash tag, so EVALSHA goes to the primary of the hall's slot; a script that primary does not
know (the first run, or a replica that took over: the script cache is not replicated) answers NOSCRIPT, and redis-py
loads it (SCRIPT LOAD on every primary) and runs it again. A run that failed on a dead primary is sent again to the
new one by the cluster client — safe, like every resend, because of the epilogue.

**Waiting for a replica** (``[redis] wait_replicas``). Replication is asynchronous: a primary answers before its
replicas have the write, and a primary that dies in that moment takes an acknowledged ticket with it. With
``wait_replicas = N`` every mutating script is sent in one pipeline on one connection to the hall's primary with a
mark (SET of ``HallKeys.replicated``) and ``WAIT N timeout`` after it: the answer is given only once N replicas
have acknowledged everything up to the mark — which covers the script's own writes whichever connection carried
them (a copy resent after a timeout, or an answer replayed from an earlier call). When fewer replicas acknowledge
in time, the call raises :class:`ReplicationTimeoutError` (503): the action may have been taken but is not yet
safe; the same request sent again (same operation id) is answered from its stored answer and waits again. A script
whose header has ``-- onewindow: volatile`` writes only counters whose loss at a failover is harmless (the abuse
limits, the metrics fold) and is never waited for.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import redis

try:  # redis-py packs commands with hiredis when it is installed (it is, see pyproject.toml): the same bytes
    from hiredis import pack_command as _pack
except ImportError:  # pragma: no cover - without hiredis redis-py's own packer is used
    _pack = None

from shared import errors, idempotency
from shared.keys import HallKeys
from shared.redis_client import is_cluster

logger = logging.getLogger(__name__)

READ_ONLY = "-- onewindow: read-only"
REPEATABLE = "-- onewindow: repeatable"
VOLATILE = "-- onewindow: volatile"
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


class ReplicationTimeoutError(errors.StoreUnavailableError):
    """Fewer replicas than ``[redis] wait_replicas`` acknowledged an action within ``wait_timeout_ms``."""

    code = "replication_timeout"


@dataclass(frozen=True)
class WaitPolicy:
    """``[redis] wait_replicas`` / ``wait_timeout_ms``: after each mutating script, WAIT for that many replicas."""

    replicas: int = 0
    timeout_ms: int = 1000


# errors after which the cluster's map is refreshed and the waiting pipeline sent again (to the slot's new primary)
_CLUSTER_MOVES = (redis.ConnectionError, redis.TimeoutError, redis.exceptions.MovedError, redis.exceptions.AskError,
                  redis.exceptions.ClusterDownError, redis.exceptions.TryAgainError)
_WAIT_ATTEMPTS = 7


class RetryScript(Exception):
    """The state moved since Python computed an argument (the script answered ``retry()``): compute it again and
    run the script again — with the same operation id, as the answer was not stored."""


@dataclass(frozen=True)
class Source:
    """A script as sent to Redis."""

    name: str
    text: str
    run_as_is: bool  # read-only or repeatable: no operation key
    volatile: bool = False  # its writes may be lost at a failover: no WAIT for replicas after it


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
        return Source(name, f"{prelude}\n{body}", True, VOLATILE in header)
    return Source(name, f"{prelude}\nlocal function __body()\n{body}\nend\n{_lua('_epilogue')}", False,
                  VOLATILE in header)


def _libraries(header: list[str]) -> list[str]:
    libs: list[str] = []
    for line in header:
        if line.startswith(USES):
            libs += [x.strip() for x in line[len(USES):].split(",") if x.strip()]
    return list(dict.fromkeys(libs))


class ScriptRunner:
    """The scripts of one Redis client and hall, each registered once (on first use) and run by EVALSHA."""

    def __init__(self, client: redis.Redis, keys: HallKeys, wait: WaitPolicy | None = None) -> None:
        self._client = client
        self._keys = keys
        self._scripts: dict[str, Any] = {}
        self.wait = wait or WaitPolicy()
        # one server, one connection per command (not a cluster, a pipeline or a single-connection client)
        self._plain = type(client) is redis.Redis and client.connection is None

    def _evalsha(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        """EVALSHA of ``script`` (a redis-py Script), loading it when the server does not know it (NOSCRIPT: nothing
        ran). On a plain client (one server, not a pipeline or cluster) the command is packed and sent on a pooled
        connection here — redis-py's own connection, retry policy and reply parser, without its generic command
        path (~40 µs of CPU per call measured on its own: 4–5 % of a public ticket's). A resend after a dropped
        connection is the same resend redis-py makes, and is answered once by the epilogue (see the module doc)."""
        if not self._plain:
            return script(keys=keys, args=args)
        command = ("EVALSHA", script.sha, len(keys), *keys, *args)
        try:
            return self._send(command)
        except redis.exceptions.NoScriptError:
            script.sha = self._client.script_load(script.script)
            return self._send(("EVALSHA", script.sha, *command[2:]))

    def _send(self, command: tuple) -> Any:
        pool = self._client.connection_pool
        conn = pool.get_connection()
        try:  # the connection goes back to the pool whatever happens, an argument that cannot be packed included
            try:
                packed = [_pack(command)] if _pack is not None else conn.pack_command(*command)
            except TypeError as exc:  # as redis-py reports it
                raise redis.exceptions.DataError(str(exc)) from exc

            def send() -> Any:
                conn.send_packed_command(packed)
                return conn.read_response()

            return conn.retry.call_with_retry(send, lambda _error: conn.disconnect())
        finally:
            pool.release(conn)

    def _script(self, name: str) -> tuple[Any, bool, bool]:
        found = self._scripts.get(name)
        if found is None:
            src = source(name)
            found = self._scripts[name] = (self._client.register_script(src.text), src.run_as_is, src.volatile)
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
        script, run_as_is, volatile = self._script(name)
        argv = [_arg(a) for a in args]
        all_keys = self.script_keys(keys)
        if run_as_is:
            return _answer(json.loads(self._evalsha(script, all_keys, argv)), errors_map)
        scope, op, ttl = idempotency.next_operation(name)
        try:
            full_keys, full_args = [*all_keys, self._keys.operation(op)], [*argv, ttl, secrets.token_hex(8)]
            if self.wait.replicas > 0 and not volatile:
                raw, replayed = self._run_waiting(script, full_keys, full_args)
            else:
                raw, replayed = self._evalsha(script, full_keys, full_args)
        except (redis.RedisError, ReplicationTimeoutError):
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

    def _run_waiting(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        """The script, the mark and WAIT in one pipeline on one connection to the hall's primary (see the module
        doc); raises ReplicationTimeoutError when too few replicas acknowledged in time."""
        cluster = is_cluster(self._client)
        delay = 0.05
        for attempt in range(_WAIT_ATTEMPTS):
            try:
                node = (self._client.get_redis_connection(self._client.get_node_from_key(keys[0])) if cluster
                        else self._client)
                pipe = node.pipeline(transaction=False)
                # EVALSHA itself, not the Script through the pipeline: that sends SCRIPT EXISTS first, one more round
                # trip for every waited action; a NOSCRIPT answer (nothing ran) loads it on this node, and again
                pipe.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)
                pipe.set(self._keys.replicated, args[-1], px=60_000)
                pipe.execute_command("WAIT", self.wait.replicas, self.wait.timeout_ms)
                answer, _mark, acked = pipe.execute(raise_on_error=False)
                if isinstance(answer, redis.exceptions.NoScriptError) and attempt < _WAIT_ATTEMPTS - 1:
                    script.sha = node.script_load(script.script)
                    continue
                for reply in (answer, acked):
                    if isinstance(reply, Exception):
                        raise reply
            except _CLUSTER_MOVES:
                if not cluster or attempt == _WAIT_ATTEMPTS - 1:
                    raise
                # a failover or a moved slot: learn the new map and send the same call (same nonce) again
                self._client.nodes_manager.initialize()
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
                continue
            if int(acked) < self.wait.replicas:
                logger.warning("only %s of %s replicas acknowledged within %s ms", acked, self.wait.replicas,
                               self.wait.timeout_ms)
                raise ReplicationTimeoutError(
                    f"the action is not yet on {self.wait.replicas} replica(s) of the store "
                    f"({acked} acknowledged within {self.wait.timeout_ms} ms); send the same request again (with the "
                    "same Idempotency-Key or request_id): it is answered, not repeated", retry_after=1)
            return answer
        raise AssertionError("unreachable")


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
