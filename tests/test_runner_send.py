"""The runner sends EVALSHA on a pooled connection itself (shared/runner.py, ``_evalsha``), not through redis-py's
generic command path: what that path did for it must still hold — a script the server forgot is loaded again, a
pooled connection the server dropped is replaced before the command goes out, and a script's refusal is the domain
error. (A command whose answer is lost is sent again by redis-py's retry policy and takes effect once:
tests/test_exactly_once.py, which fails without the retry.)"""

from __future__ import annotations

import pytest

from shared.errors import ConflictError
from shared.redis_client import connect
from shared.runner import ScriptRunner


def test_the_runner_sends_evalsha_itself_on_a_single_server(engine, redis_client):
    runner = engine.runner
    assert isinstance(runner, ScriptRunner)
    if type(redis_client).__name__ == "RedisCluster":
        assert not runner._plain  # a cluster keeps redis-py's path (it routes by slot and loads on every primary)
    else:
        assert runner._plain


def test_a_script_the_server_forgot_is_loaded_again(engine, redis_client):
    engine.issue("renshe")
    redis_client.script_flush()  # a restarted server (or a replica that took over) has no scripts
    second = engine.issue("renshe")
    assert second.created and second.ticket["number"].endswith("002")
    assert engine.last_seq() == 2  # each ticket once


def test_a_dropped_connection_is_replaced_before_the_command_goes_out(engine, redis_server):
    engine.issue("renshe")
    assert engine.runner._client.connection_pool._available_connections, "the pool keeps the first ticket's"
    other = connect(redis_server.url)
    try:  # the server drops every client connection but this one: the pooled one is dead, and nobody knows yet
        assert other.client_kill_filter(_type="normal", skipme=True) >= 1
    finally:
        other.close()
    issued = engine.issue("renshe")
    assert issued.created and issued.ticket["number"].endswith("002")
    assert engine.last_seq() == 2


def test_a_refusal_is_the_domain_error(engine):
    with pytest.raises(ConflictError) as refused:
        engine.call_next(1)  # nobody is waiting
    assert refused.value.code == "queue_empty"


def test_an_argument_that_cannot_be_sent_is_a_data_error_and_the_connection_goes_back(engine):
    """As redis-py's own path: an argument the protocol cannot carry is a DataError, nothing is sent, and the
    pooled connection is not lost with it."""
    import redis

    runner = engine.runner
    pool = runner._client.connection_pool
    engine.issue("renshe")  # the pool holds a connection now
    before = len(pool._available_connections) + len(pool._in_use_connections)
    with pytest.raises(redis.exceptions.DataError):
        runner.run("snapshot", [], [{"not": "an argument"}, 0])
    assert not pool._in_use_connections
    assert len(pool._available_connections) + len(pool._in_use_connections) == before
    assert engine.last_seq() == 1
