"""Redis clients: one pooled client for commands and, for blocking stream reads, one without a socket timeout.

redis-py's default socket timeout (5 s) would break an ``XREAD BLOCK`` longer than that, so followers of the event
stream get their own client. Connection errors surface as redis exceptions; the web edge maps them to 503 and the
pool reconnects by itself once Redis is back.

A command whose answer timed out is sent again (``retry_on_error``), and Redis runs every copy it received once it
answers again. That is safe for scripts — the runner makes each state change take effect once per operation id
(:mod:`shared.runner`) — and every other write must be harmless to repeat (XTRIM; the archive lock's SET NX checks
its own token).

**Cluster.** A URL ``redis+cluster://[user:password@]host:port[,host:port…]`` names a Redis / Valkey Cluster by some
of its nodes (any one that answers is enough; the client learns the rest): :func:`connect` then builds redis-py's
``RedisCluster``, with the same timeouts and the same retry discipline — a command that failed on a connection error
or timeout is sent again (after the client has refreshed its map of the cluster, so a copy sent after a failover
goes to the new primary), which is safe for the same reason. Every key of a hall carries the hall's hash tag
(:mod:`shared.keys`), so a hall lives in one slot and every script and the event stream run on its primary.
"""

from __future__ import annotations

import re
import select
import sys
from urllib.parse import unquote

import redis
from redis.backoff import ExponentialBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.retry import Retry

CLUSTER_SCHEME = "redis+cluster://"
_NODE = r"[A-Za-z0-9_.\-]+:\d{1,5}"
CLUSTER_URL = re.compile(rf"^redis\+cluster://(?:(?P<auth>[^@/]*)@)?(?P<nodes>{_NODE}(?:,{_NODE})*)/?$")

Client = redis.Redis | RedisCluster


def is_cluster_url(url: str) -> bool:
    return url.startswith(CLUSTER_SCHEME)


def cluster_url_problem(url: str) -> str | None:
    """Why ``url`` is not a valid cluster URL (None when it is)."""
    if not CLUSTER_URL.match(url):
        return ("must be redis+cluster://[user:password@]host:port[,host:port…] (the nodes to start from, "
                "no database number: a cluster has only database 0)")
    return None


def cluster_nodes(url: str) -> tuple[list[tuple[str, int]], str | None, str | None]:
    """The (host, port) pairs, username and password of a cluster URL."""
    m = CLUSTER_URL.match(url)
    if not m:
        raise ValueError(cluster_url_problem(url))
    username = password = None
    if m.group("auth"):
        user, _, pw = m.group("auth").rpartition(":")
        username, password = (unquote(user) or None), (unquote(pw) or None)
    nodes = [(host, int(port)) for host, port in (n.rsplit(":", 1) for n in m.group("nodes").split(","))]
    return nodes, username, password


def is_cluster(client: object) -> bool:
    return isinstance(client, RedisCluster)


def connect(url: str, *, blocking: bool = False, decode_responses: bool = True,
            socket_timeout: float | None = 3) -> Client:
    """A client for ``url``; ``blocking=True`` for XREAD BLOCK followers (no socket timeout)."""
    timeout = None if blocking else socket_timeout
    if is_cluster_url(url):
        nodes, username, password = cluster_nodes(url)
        return RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in nodes],
            username=username, password=password,
            decode_responses=decode_responses,
            socket_connect_timeout=2,
            socket_timeout=timeout,
            health_check_interval=15,
            # the cluster client retries connection errors and timeouts itself (refreshing the slot map first);
            # CLUSTERDOWN and TRYAGAIN while a replica takes over are retried the same way
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 6),
        )
    extra: dict = {"parser_class": _QuickCheckParser} if _QuickCheckParser is not None else {}
    if MaintNotificationsConfig is not None:
        # redis-py's pool asks every connection it hands out whether it holds unread data (a reply that came late)
        # and replaces it if so — but only when maintenance notifications (a RESP3 feature of managed Redis, which
        # we do not speak) are off: at their default ("auto") the answer is asked for and then ignored
        extra["maint_notifications_config"] = MaintNotificationsConfig(enabled=False)
    return redis.Redis.from_url(
        url,
        **extra,
        decode_responses=decode_responses,
        socket_connect_timeout=2,
        socket_timeout=timeout,
        health_check_interval=15,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
    )


def _os_poll():
    """``select.poll`` as the OS has it: under gevent's monkey-patching ``select.poll`` is gevent's, which for a mere
    readiness check (timeout 0) starts watchers and switches through the hub."""
    if "gevent" in sys.modules:
        from gevent import monkey

        return monkey.get_original("select", "poll")
    return select.poll


try:
    from redis.maint_notifications import MaintNotificationsConfig
except ImportError:  # pragma: no cover - a redis-py before them: its pool checks unconditionally
    MaintNotificationsConfig = None

try:
    from redis._parsers import _HiredisParser
    from redis.utils import HIREDIS_AVAILABLE
except ImportError:  # pragma: no cover - another redis-py layout: its own parser, unchanged
    _HiredisParser, HIREDIS_AVAILABLE = None, False


if HIREDIS_AVAILABLE and _HiredisParser is not None and hasattr(_HiredisParser, "can_read"):
    class _QuickCheckParser(_HiredisParser):
        """hiredis's parser, whose check that a pooled connection holds no stray reply (redis-py asks before every
        command: a reply arriving late must never be read as the next command's) costs one ``poll(0)`` system call
        instead of gevent's watcher round (~4 % of a worker's CPU on the issue path, py-spy under
        bench/bench_throughput.py). The check itself is the same: when the socket is readable — or anything else
        is unusual — redis-py's own check decides (and the connection is dropped as before)."""

        _poll_class = None

        def can_read(self, timeout: float = 0) -> bool:
            sock, reader = self._sock, self._reader
            if (timeout == 0 and sock is not None and reader is not None and not reader.has_data()
                    and not hasattr(sock, "pending")):
                poll_class = _QuickCheckParser._poll_class
                if poll_class is None:
                    poll_class = _QuickCheckParser._poll_class = _os_poll()
                poller = poll_class()
                poller.register(sock.fileno(), select.POLLIN)
                if not poller.poll(0):  # nothing to read (and not closed: a closed socket polls readable)
                    return False
            return super().can_read(timeout)
else:  # pragma: no cover
    _QuickCheckParser = None
