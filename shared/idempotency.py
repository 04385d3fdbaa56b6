"""Operation ids: where the id that makes a mutating script run take effect once comes from.

The runner (:mod:`shared.runner`) gives every run of a mutating script an *operation id*; the script stores its
answer under that id and a second copy of the run (redis-py resending after a timeout, a client sending the same
request again) gets the stored answer instead of acting again. The ids come from the current *scope*, a context
variable (one per thread or greenlet), so the core needs no web framework:

* a **keyed scope** — the client named the operation (an ``Idempotency-Key`` header, a kiosk's ``request_id``): the
  id of the n-th run of a script in the scope is a hash of (scope, script, n), the same in every copy of the request;
  kept :data:`KEYED_TTL_SECONDS` (a kiosk or keypad retries within that time);
* a **fresh scope** — one HTTP request without a key: random, so only copies of the same run (redis-py's resend)
  meet; kept :data:`FRESH_TTL_SECONDS`, longer than any stall the server could come back from;
* **no scope** (archiver, relay, command line, tests calling the engine): a random id per run, also
  :data:`FRESH_TTL_SECONDS`.

A script answer of ``retry`` (the state moved since Python computed an argument; see ``retry()`` in the prelude) is
not an answer: it is not stored and does not count as a run, so the caller's next try reuses the same id.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

#: A client retries a tap or a key press within minutes; a day covers a kiosk that lost its network for hours.
KEYED_TTL_SECONDS = 24 * 3600
#: Only copies of one run meet: they all reach the server while it is stalled or restarting. An hour outlasts
#: any stall the hall would wait out, and keeps the records of a busy hour only.
FRESH_TTL_SECONDS = 3600


def _digest(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()[:32]


class Scope:
    """Where the operation ids of one request (or one named operation) come from."""

    def __init__(self, seed: str, ttl_seconds: int, *, keyed: bool) -> None:
        self.seed = seed
        self.ttl_seconds = ttl_seconds
        self.keyed = keyed
        self.replayed = False  # set by the runner when an answer in this scope was a stored one
        self._runs: dict[str, int] = {}

    def operation(self, script: str) -> str:
        """The id of the next run of ``script`` in this scope (the same until :meth:`done` is called)."""
        return _digest(self.seed, script, str(self._runs.get(script, 0) + 1))

    def done(self, script: str) -> None:
        """The run of ``script`` has its answer (or failed for good): the next run gets the next id."""
        self._runs[script] = self._runs.get(script, 0) + 1


def keyed(*parts: str, ttl_seconds: int = KEYED_TTL_SECONDS) -> Scope:
    """A scope named by the client: the same ``parts`` give the same operation ids."""
    return Scope(_digest("keyed", *parts), ttl_seconds, keyed=True)


def fresh() -> Scope:
    """A scope of its own (one HTTP request without an idempotency key)."""
    return Scope(secrets.token_hex(16), FRESH_TTL_SECONDS, keyed=False)


_current: ContextVar[Scope | None] = ContextVar("onewindow_operation_scope", default=None)


def current() -> Scope | None:
    """The scope of the running request or operation, if any."""
    return _current.get()


def enter(scope: Scope | None) -> Token:
    """Make ``scope`` current (until :func:`leave` with the returned token)."""
    return _current.set(scope)


def leave(token: Token) -> None:
    _current.reset(token)


@contextmanager
def using(scope: Scope | None) -> Iterator[Scope | None]:
    """Run a block in ``scope`` (``None``: keep the current one)."""
    outer = current()
    if scope is None:
        yield outer
        return
    token = enter(scope)
    try:
        yield scope
    finally:
        leave(token)
        if outer is not None and scope.replayed:
            outer.replayed = True


def next_operation(script: str) -> tuple[Scope | None, str, int]:
    """(scope, operation id, seconds to keep the answer) for the next run of ``script``."""
    scope = current()
    if scope is None:
        return None, secrets.token_hex(16), FRESH_TTL_SECONDS
    return scope, scope.operation(script), scope.ttl_seconds
