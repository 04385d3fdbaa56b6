"""The hall on a real Redis Cluster (three primaries with one replica each; tests/cluster_support.py).

Every key of a hall carries the hall's hash tag, so a hall lives in one slot: every script and the event stream run
on that slot's primary. Here: the key builder only makes tagged keys; a day through the HTTP API (kiosk issuing with
its limit counters, a resent request, a clerk's session, call, recall, finish, a rating, the figures) leaves only
keys of that slot; the relay follows the stream; a script resent by redis-py while the primary stalled runs once.
The numbering and calling suites run on the cluster too (test_engine.py, test_interleaving.py; ``make
test-cluster`` runs the core suites with the cluster as the session's store); failover is tests/test_cluster_failover.py.
"""

from __future__ import annotations

import inspect
import json
import threading

import pytest

from hall_support import DEMO_PASSWORD, tablet
from faults import abandoned_commands, sockets_with_unread_bytes, wait_for
from shared.engine import Engine
from shared.keys import HallKeys
from shared.redis_client import connect, is_cluster

HALL = "ow:{testhall}"


def _every_key(keys: HallKeys) -> dict[str, str]:
    """Every key the builder makes (a sample argument for each parameter)."""
    samples = {"day": "20261127", "service": "renshe", "number": 3, "op_id": "op-1", "name": "lock",
               "digest": "ab12", "topic": "haocaiping", "partition": 2}
    out = {}
    for name, member in inspect.getmembers(type(keys)):
        if name.startswith("_"):
            continue
        if isinstance(member, property):
            out[name] = getattr(keys, name)
        elif inspect.isfunction(member):
            params = [p for p in inspect.signature(member).parameters if p != "self"]
            out[name] = getattr(keys, name)(*(samples.get(p, "1") for p in params))
    return out


def test_every_key_the_builder_makes_is_in_the_halls_slot(cluster_client):
    keys = _every_key(HallKeys("testhall"))
    assert len(keys) > 30  # the whole builder, not a few keys
    slots = {name: cluster_client.keyslot(key) for name, key in keys.items()}
    assert all(k.startswith(HALL + ":") for k in keys.values()), keys
    assert len(set(slots.values())) == 1, slots
    assert cluster_client.keyslot("ow:{otherhall}:seq") != cluster_client.keyslot(keys["seq"])


@pytest.fixture
def cluster_app(redis_cluster, cluster_client, hall_config, clock):
    from onewindow import create_app

    app = create_app({"TESTING": True, "CONFIG": hall_config, "REDIS_URL": redis_cluster.url, "CLOCK": clock,
                      "START_RELAY": False})
    assert is_cluster(app.extensions["onewindow"].engine.redis)
    return app


def test_a_day_through_the_api_stays_in_one_slot(cluster_app, cluster_client, redis_cluster):
    client = cluster_app.test_client()
    first = client.post("/api/v1/tickets", json={"service": "renshe"}, headers={"Idempotency-Key": "tap-0001-abcd"})
    assert first.status_code == 201, first.get_json()
    again = client.post("/api/v1/tickets", json={"service": "renshe"}, headers={"Idempotency-Key": "tap-0001-abcd"})
    assert again.get_json()["ticket"]["id"] == first.get_json()["ticket"]["id"]  # a resent request: one ticket
    assert client.post("/api/v1/tickets", json={"service": "shichang"}).get_json()["ticket"]["number"] == "B001"

    clerk = cluster_app.test_client()
    r = clerk.post("/api/v1/login", json={"username": "clerk1", "password": DEMO_PASSWORD, "window": 1})
    assert r.status_code == 200, r.get_json()
    clerk.environ_base["HTTP_X_CSRF_TOKEN"] = r.get_json()["csrf_token"]
    assert clerk.post("/api/v1/windows/1/call-next").get_json()["ticket"]["number"] == "A001"
    assert clerk.post("/api/v1/windows/1/recall").get_json()["ticket"]["calls"] == 2
    finished = clerk.post("/api/v1/windows/1/finish", json={"outcome": "handled"}).get_json()["ticket"]
    rated = client.post("/api/v1/windows/1/rating", headers=tablet(1), json={"ticket_id": finished["id"], "level": 5})
    assert rated.status_code in (200, 201), rated.get_json()
    assert client.get("/healthz").get_json()["redis"] == "up"
    assert client.get("/metrics").status_code == 200  # the stream folded into the counters

    issued = [json.loads(f["data"]) for _id, f in cluster_client.xrange(f"{HALL}:events") if f["type"] == "ticket_issued"]
    assert len(issued) == 2
    every = list(cluster_client.scan_iter("*"))
    for part in (":op:", ":session:", ":limit:", ":tickets:", ":events", ":win:1", ":holder:1"):
        assert any(part in k for k in every), f"no {part} key: the day did not touch what it should"
    assert {cluster_client.keyslot(k) for k in every} == {cluster_client.keyslot(f"{HALL}:seq")}
    primary = redis_cluster.primary_of(f"{HALL}:seq")
    assert sorted(primary.client().keys("*")) == sorted(every)  # all on the primary of the hall's slot


class Recorder:
    """Stands in for Flask-SocketIO: what the relay emitted."""

    def __init__(self) -> None:
        self.seqs: list[int] = []

    def emit(self, *_args, **_kwargs) -> None:
        pass


def test_the_relay_follows_the_stream_on_the_cluster(redis_cluster, cluster_client, hall_config, clock):
    from display.relay import Relay

    engine = Engine(cluster_client, hall_config, clock)
    engine.issue("renshe")  # before the relay's position: not relayed
    seen: list[int] = []
    relay = Relay(Recorder(), redis_cluster.url, engine.keys.events, windows=hall_config.windows,
                  on_emitted=lambda e: seen.append(e.seq))
    relay.follower.last_id = cluster_client.xrevrange(engine.keys.events, count=1)[0][0]  # follow from the first event on
    relay.start()
    try:
        for _ in range(5):
            engine.issue("renshe")
        engine.call_next(1, "clerk1")
        wait_for(lambda: len(seen) >= 6, 20, "the relay to emit every new event")
    finally:
        relay.stop()
    assert seen == list(range(2, 8))


def test_a_script_resent_while_the_primary_stalls_runs_once(redis_cluster, cluster_client, hall_config, clock):
    """The hall's primary stops (SIGSTOP) as an issue is sent; the cluster client times out, refreshes its map and
    sends the script again; when the primary continues it runs both copies: one ticket, one event, one answer."""
    engine = Engine(connect(redis_cluster.url, socket_timeout=0.5), hall_config, clock)
    engine.issue("renshe")  # the primary knows the script: a first EVALSHA would only answer NOSCRIPT
    primary = redis_cluster.primary_of(f"{HALL}:seq")
    replica = redis_cluster.replica_of(primary)
    replica.call("CONFIG", "SET", "cluster-replica-no-failover", "yes")  # the stall is not a failure here
    answer: list = []
    try:
        redis_cluster.stop_node(primary)
        worker = threading.Thread(target=lambda: answer.append(engine.issue("renshe")), daemon=True)
        worker.start()
        wait_for(lambda: abandoned_commands(primary.port) >= 1 and sockets_with_unread_bytes(primary.port) >= 2, 30,
                 "the cluster client to give up on the script and send it again")
    finally:
        redis_cluster.continue_node(primary)
    worker.join(30)
    replica.call("CONFIG", "SET", "cluster-replica-no-failover", "no")
    assert answer and answer[0].ticket["number"] == "A002"
    issued = [f for _id, f in cluster_client.xrange(f"{HALL}:events") if f["type"] == "ticket_issued"]
    assert len(issued) == 2
    assert cluster_client.hlen(f"{HALL}:tickets:20261127") == 2
    assert cluster_client.get(f"{HALL}:num:20261127:renshe") == "2"


def test_serve_runs_on_the_cluster(redis_cluster, cluster_client, live_config):
    """``onewindow serve`` with ONEWINDOW_REDIS_URL naming the cluster: healthy, reads, and signs a clerk in (a
    script) on the cluster — whatever the hour (the server runs on the real clock)."""
    import urllib.request

    from hall_support import LiveServer

    server = LiveServer(live_config, redis_cluster.url).start()
    try:
        with urllib.request.urlopen(server.url + "/healthz", timeout=10) as r:
            assert json.loads(r.read())["redis"] == "up"
        with urllib.request.urlopen(server.url + "/api/v1/services", timeout=10) as r:
            assert {s["code"] for s in json.loads(r.read())["services"]} >= {"renshe", "shichang"}
        body = {"username": "clerk1", "password": DEMO_PASSWORD, "window": 1}
        req = urllib.request.Request(server.url + "/api/v1/login", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 200 and json.loads(r.read())["csrf_token"]
    finally:
        server.stop()
    assert any(":session:" in k for k in cluster_client.scan_iter(f"{HALL}:*"))


def test_unacknowledged_by_a_replica_is_a_503_and_a_resend_acts_once(redis_server, redis_client, hall_config, clock):
    """``wait_replicas = 1`` on a server with no replica: the issue is answered 503 replication_timeout (JSON, with
    Retry-After), never acknowledged; sent again with the same key it is answered from its stored answer (and waits
    again) — one ticket, one event."""
    from dataclasses import replace

    from onewindow import create_app
    from shared.config import RedisSettings

    config = replace(hall_config, redis=RedisSettings(wait_replicas=1, wait_timeout_ms=50))
    app = create_app({"TESTING": True, "CONFIG": config, "REDIS_URL": redis_server.url, "CLOCK": clock,
                      "START_RELAY": False})
    client = app.test_client()
    for _ in range(2):
        r = client.post("/api/v1/tickets", json={"service": "renshe"}, headers={"Idempotency-Key": "wait-0001-abcd"})
        assert r.status_code == 503 and r.get_json()["error"]["code"] == "replication_timeout"
        assert r.headers["Retry-After"] == "1"
    assert redis_client.hlen(f"{HALL}:tickets:20261127") == 1
    assert [f["type"] for _id, f in redis_client.xrange(f"{HALL}:events")] == ["ticket_issued"]
    assert redis_client.get(f"{HALL}:meta:replicated")  # the mark WAIT was sent after


def test_a_waited_action_is_one_round_trip(redis_server, redis_client, hall_config, clock):
    """With ``wait_replicas`` the script, the mark and WAIT go in one pipeline and nothing else: no SCRIPT EXISTS
    before it (redis-py sends one when a Script is queued on a pipeline), and a server that lost its scripts (a
    replica that took over) is answered by loading it once and sending the same call again."""
    from dataclasses import replace

    from shared.config import RedisSettings
    from shared.engine import Engine
    from shared.errors import StoreUnavailableError

    engine = Engine(redis_client, replace(hall_config, redis=RedisSettings(wait_replicas=1, wait_timeout_ms=20)),
                    clock)

    def calls(command: str) -> int:
        return int(redis_client.info("commandstats").get(f"cmdstat_{command}", {}).get("calls", 0))

    with pytest.raises(StoreUnavailableError):  # no replica here: issued, but not acknowledged by one
        engine.issue("renshe")
    redis_client.config_resetstat()
    for _ in range(2):
        with pytest.raises(StoreUnavailableError):
            engine.issue("renshe")
    assert calls("script|exists") == 0 and calls("evalsha") == 2 and calls("wait") == 2
    redis_client.script_flush()
    redis_client.config_resetstat()
    with pytest.raises(StoreUnavailableError):
        engine.issue("renshe")
    assert calls("script|load") == 1 and calls("evalsha") == 2 and calls("script|exists") == 0
    assert redis_client.hlen(f"{HALL}:tickets:20261127") == 4  # each action once
