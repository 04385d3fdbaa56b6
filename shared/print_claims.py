"""Which kiosk prints a ticket, once: the per-ticket print record (``HallKeys.prints``: ticket id → ``printed`` or a
claim with a lease), decided in ``print_claim.lua``.

A ticket is issued once however often its request arrives (the runner's epilogue), but the paper comes from the
server that answers, after the script: when that answer is lost — a 503 ``replication_timeout`` with ``[redis]
wait_replicas``, a dropped connection, a worker killed between the script and the printer — the kiosk sends the same
request again and gets the stored ticket back. Whether *that* request prints is decided here, never from the
``created`` flag: :meth:`PrintClaims.claim` takes the ticket's print (a ticket nobody printed yet, or whose last print
failed, or whose claim outlived its lease), and :meth:`PrintClaims.settle` records the outcome — ``printed`` for
good, or the claim given back so the next resend prints. Two copies of one request at once: one claim wins.

``print_claim.lua`` is repeatable (run as it is, no operation key): a resent HTTP request decides again from the
record as it is then, and a copy redis-py resends of one call writes what the first wrote.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING


if TYPE_CHECKING:
    from shared.engine import Engine

PRINTED = "printed"  # the paper came out (or the preview was written): never again
PRINTING = "printing"  # another attempt holds the claim (within its lease)
FREE = "free"  # nobody printed it: the next request for it prints

#: The records are kept past the longest replay of an issue (its stored answer lives a day).
KEEP_SECONDS = 2 * 24 * 3600


@dataclass(frozen=True)
class Claim:
    """The answer of :meth:`PrintClaims.claim`: ``claimed`` — this attempt prints now (with ``token``); else
    ``state`` says why not (``printed`` | ``printing``)."""

    ticket_id: str
    token: str
    claimed: bool
    state: str


class PrintClaims:
    """The print records of one hall."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def claim(self, ticket_id: str, lease_ms: int, *, again: bool = False) -> Claim:
        """Take the print of ``ticket_id`` (a ticket id ``<day>-<number>``) for ``lease_ms`` unless it was printed
        (``again``: a reprint asked for by a new request — printed or not) or another attempt is printing it. Redis
        errors propagate (nothing printed: the request may be sent again)."""
        token = secrets.token_hex(8)
        r = self._run(ticket_id, "claim", token, lease_ms, again)
        return Claim(ticket_id, token, bool(r["claimed"]), r["state"])

    def settle(self, claim: Claim, printed: bool) -> str:
        """Record the outcome of the print ``claim`` allowed: ``printed`` (never printed again), or not (the claim
        is given back: the next resend of the request prints). Returns the record's state. Redis errors propagate."""
        return self._run(claim.ticket_id, PRINTED if printed else "failed", claim.token, 0)["state"]

    def _run(self, ticket_id: str, action: str, token: str, lease_ms: int, again: bool = False) -> dict:
        day = ticket_id.split("-", 1)[0]
        # repeatable (run as it is, no operation key): each attempt decides again from the record as it is now
        return self.engine.runner.run("print_claim", [self.engine.keys.prints(day)], [
            ticket_id, action, token, self.engine.clock.now_ms(), lease_ms, KEEP_SECONDS, again])
