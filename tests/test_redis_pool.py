"""The pooled Redis client never hands out a connection that holds a reply nobody read.

redis-py checks each connection it takes from the pool for unread data and replaces it if there is any, so a reply
that arrived late (a command given up on, a greenlet killed mid-read) is never read as the next command's answer.
With redis-py 8 that check is ignored unless its maintenance notifications are off (:func:`shared.redis_client.connect`
turns them off); the check itself is made with one ``poll(0)``, also under gevent.
"""

from __future__ import annotations

from faults import wait_for
from shared.redis_client import connect


def test_a_reply_nobody_read_never_answers_the_next_command(redis_server):
    client = connect(redis_server.url)
    try:
        client.set("pool-test", "the value")
        pool = client.connection_pool
        conn = pool.get_connection()
        conn.send_command("PING")  # its reply is never read …
        wait_for(conn.can_read, 10, "the PING reply to arrive")
        pool.release(conn)  # … and the connection goes back to the pool
        assert client.get("pool-test") == "the value"  # not "PONG"
        assert client.get("pool-test") == "the value"
    finally:
        client.close()


def test_an_idle_connection_is_handed_out_again(redis_server):
    """The check is a readiness check only: a clean connection is reused, not replaced."""
    client = connect(redis_server.url)
    try:
        client.ping()
        pool = client.connection_pool
        conn = pool.get_connection()
        sock = conn._sock
        pool.release(conn)
        again = pool.get_connection()
        assert again is conn and again._sock is sock
        pool.release(again)
    finally:
        client.close()
