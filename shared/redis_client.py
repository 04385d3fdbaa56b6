"""Redis clients: one pooled client for commands and, for blocking stream reads, one without a socket timeout.

redis-py's default socket timeout (5 s) would break an ``XREAD BLOCK`` longer than that, so followers of the event
stream get their own client. Connection errors surface as redis exceptions; the web edge maps them to 503 and the
pool reconnects by itself once Redis is back.

A command whose answer timed out is sent again (``retry_on_error``), and Redis runs every copy it received once it
answers again. That is safe for scripts — the runner makes each state change take effect once per operation id
(:mod:`shared.runner`) — and every other write must be harmless to repeat (XTRIM; the archive lock's SET NX checks
its own token).
"""

from __future__ import annotations

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry


def connect(url: str, *, blocking: bool = False) -> redis.Redis:
    """A client for ``url``; ``blocking=True`` for XREAD BLOCK followers (no socket timeout)."""
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=2,
        socket_timeout=None if blocking else 3,
        health_check_interval=15,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
    )
