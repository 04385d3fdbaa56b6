"""The operation ids of the one script runner: a request sent again with its Idempotency-Key (or a kiosk's
request_id) gets the first answer and acts no more; keys never reach another client's answers; refusals are
remembered too; read-only scripts write nothing; decisions Python computed from state are checked by the script."""

from __future__ import annotations

import json
import logging

import pytest

from shared import idempotency
from shared.engine import Engine
from shared.errors import ServiceClosedError
from shared.rota import Rota
from shared.schedule import DayOverride
from shared.runner import source
from shared.redis_client import connect

EVENTS = "ow:{testhall}:events"


def _events(redis_client, kind=None) -> list[dict]:
    out = [json.loads(f["data"]) for _id, f in redis_client.xrange(EVENTS)]
    return [e for e in out if kind is None or e["type"] == kind]


def _op_keys(redis_client) -> list[str]:
    return list(redis_client.scan_iter("ow:{testhall}:op:*"))


def test_a_resent_request_gets_the_first_answer(client, clerk_client, redis_client):
    client.post("/api/v1/tickets", json={"service": "renshe"})
    client.post("/api/v1/tickets", json={"service": "renshe"})
    c = clerk_client(1)
    key = {"Idempotency-Key": "click-0001-call"}
    first = c.post("/api/v1/windows/1/call-next", headers=key)
    assert first.status_code == 200 and first.get_json()["ticket"]["number"] == "A001"
    assert "Idempotent-Replayed" not in first.headers
    c.post("/api/v1/windows/1/finish", json={"outcome": "handled"}, headers={"Idempotency-Key": "click-0002-finish"})
    again = c.post("/api/v1/windows/1/call-next", headers=key)  # the clerk's page never saw the first answer
    assert again.status_code == 200 and again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert [e["ticket"]["number"] for e in _events(redis_client, "ticket_called")] == ["A001"]
    finish = c.post("/api/v1/windows/1/finish", json={"outcome": "handled"}, headers={"Idempotency-Key": "click-0002-finish"})
    assert finish.status_code == 200 and finish.get_json()["ticket"]["status"] == "done"  # not 409 nothing_to_finish
    assert len(_events(redis_client, "ticket_finished")) == 1


def test_a_refusal_is_remembered_so_a_late_copy_never_acts(client, clerk_client, redis_client):
    c = clerk_client(1)
    key = {"Idempotency-Key": "click-empty-queue"}
    r = c.post("/api/v1/windows/1/call-next", headers=key)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "queue_empty"
    client.post("/api/v1/tickets", json={"service": "renshe"})
    r = c.post("/api/v1/windows/1/call-next", headers=key)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "queue_empty"
    assert _events(redis_client, "ticket_called") == []
    assert c.post("/api/v1/windows/1/call-next", headers={"Idempotency-Key": "click-next-one"}).status_code == 200


def test_without_a_key_every_request_is_new(client, clerk_client, redis_client):
    client.post("/api/v1/tickets", json={"service": "renshe"})
    c = clerk_client(1)
    c.post("/api/v1/windows/1/call-next")
    assert c.post("/api/v1/windows/1/recall").get_json()["ticket"]["calls"] == 2
    assert c.post("/api/v1/windows/1/recall").get_json()["ticket"]["calls"] == 3


def test_a_key_is_scoped_to_its_sender_and_body(app, redis_client):
    phone_a, phone_b = app.test_client(), app.test_client()
    phone_b.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    key = {"Idempotency-Key": "same-key-everywhere"}
    a = phone_a.post("/api/v1/tickets", json={"service": "renshe"}, headers=key)
    b = phone_b.post("/api/v1/tickets", json={"service": "renshe"}, headers=key)  # another address: not a's answer
    assert (a.status_code, b.status_code) == (201, 201)
    assert a.get_json()["ticket"]["number"] == "A001" and b.get_json()["ticket"]["number"] == "A002"
    assert b.get_json()["ticket"]["token"] != a.get_json()["ticket"]["token"]
    other_body = phone_a.post("/api/v1/tickets", json={"service": "shichang"}, headers=key)
    assert other_body.status_code == 201 and other_body.get_json()["ticket"]["number"] == "B001"
    replay = phone_a.post("/api/v1/tickets", json={"service": "renshe"}, headers=key)
    assert replay.status_code == 200 and replay.get_json()["created"] is False
    assert replay.get_json()["ticket"]["id"] == a.get_json()["ticket"]["id"]
    assert replay.get_json()["print"]["reason"] == "already_issued"
    assert len(_events(redis_client, "ticket_issued")) == 3


def test_a_bad_key_is_refused_and_changes_nothing(client, redis_client):
    from hall_support import state_fingerprint

    before = state_fingerprint(redis_client)
    for bad in ("short", "x" * 129, "spaces are not ok", "ключ-ключ-ключ"):
        r = client.post("/api/v1/tickets", json={"service": "renshe"}, headers={"Idempotency-Key": bad})
        assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_idempotency_key"
    assert state_fingerprint(redis_client) == before and _op_keys(redis_client) == []
    assert client.get("/api/v1/services", headers={"Idempotency-Key": "bad"}).status_code == 200  # reads ignore it


def test_kiosk_request_id_replays_as_before(client, redis_client):
    body = {"service": "renshe", "request_id": "k-0123456789abcdef"}
    first = client.post("/api/v1/tickets", json=body)
    second = client.post("/api/v1/tickets", json=body, headers={"Idempotency-Key": "another-key-entirely"})
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.get_json()["created"] is False and second.get_json()["ticket"]["id"] == first.get_json()["ticket"]["id"]
    assert second.get_json()["ticket"]["token"] == first.get_json()["ticket"]["token"]


def test_a_replayed_issue_shows_the_ticket_as_it_is_now(engine):
    first = engine.issue("renshe", request_id="tap-0000-0001")
    engine.call_next(1)
    again = engine.issue("renshe", request_id="tap-0000-0001")
    assert not again.created and again.ticket["status"] == "called" and again.ticket["token"] == first.ticket["token"]


def test_outside_a_request_each_run_is_its_own_operation(engine, redis_client):
    engine.issue("renshe")
    engine.call_next(1)
    assert [engine.recall(1)["calls"] for _ in range(3)] == [2, 3, 4]


def test_the_nth_run_in_a_scope_is_the_same_operation_in_every_copy(engine, redis_client):
    """Two runs of one script in one request are two operations; the same request again replays both."""
    engine.issue("renshe")
    engine.call_next(1)
    for _copy in range(2):
        with idempotency.using(idempotency.keyed("test", "one request")):
            assert [engine.recall(1)["calls"] for _ in range(2)] == [2, 3]
    assert len(_events(redis_client, "ticket_recalled")) == 2


def test_read_only_scripts_take_no_operation_key(engine, redis_client):
    assert source("snapshot").run_as_is and not source("issue").run_as_is
    engine.snapshot()
    assert _op_keys(redis_client) == []
    engine.issue("renshe")
    [key] = _op_keys(redis_client)
    assert 0 < redis_client.ttl(key) <= idempotency.FRESH_TTL_SECONDS


def test_client_keyed_answers_are_kept_a_day(client, redis_client):
    client.post("/api/v1/tickets", json={"service": "renshe"}, headers={"Idempotency-Key": "kept-for-a-day"})
    keys = _op_keys(redis_client)  # the issue, and the public client limit it passed
    assert keys and all(idempotency.FRESH_TTL_SECONDS < redis_client.ttl(k) <= idempotency.KEYED_TTL_SECONDS
                        for k in keys)


def test_issue_decides_on_todays_calendar_as_it_is_now(redis_server, redis_client, hall_config, clock):
    """Another process declares today a holiday after this one cached the calendar: no ticket is issued."""
    engine = Engine(redis_client, hall_config, clock)
    engine.issue("renshe")  # the calendar (no entries) is now cached for a while
    supervisor = Rota(connect(redis_server.url), engine.keys)
    today = clock.business_date()
    supervisor.set(hall_config, today, DayOverride(kind="holiday", by="supervisor"), today=today, now_ms=clock.now_ms())
    with pytest.raises(ServiceClosedError) as e:
        engine.issue("renshe")
    assert e.value.details["reason"] == "holiday"
    assert len(_events(redis_client, "ticket_issued")) == 1


@pytest.mark.parametrize("where", ["service", "window"])
def test_cancel_finds_the_queue_the_ticket_is_in_now(engine, redis_client, where):
    t = engine.issue("renshe").ticket
    engine.call_next(1)
    engine.transfer(1, **({"service": "shichang"} if where == "service" else {"to_window": 4}))
    assert engine.cancel(t["id"])["status"] == "cancelled"
    for key in (engine.keys.queue("20261127", "shichang"), engine.keys.window_queue("20261127", 4)):
        assert redis_client.zcard(key) == 0


def test_a_redis_error_is_a_503_whose_log_line_has_no_token(hall_config, caplog):
    from onewindow import create_app
    from shared.embedded import free_port

    app = create_app({"TESTING": True, "CONFIG": hall_config, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
                      "START_RELAY": False})
    token = "20261127" + "S3cr3tTrackingToken_xy"
    with caplog.at_level(logging.WARNING, logger="onewindow"):
        r = app.test_client().get(f"/api/v1/track/{token}")
    assert r.status_code == 503 and r.get_json()["error"]["code"] == "store_unavailable"
    assert "Idempotency-Key" in r.get_json()["error"]["message"] and r.headers["Retry-After"] == "1"
    assert "Redis error on GET /api/v1/track/<token>" in caplog.text
    assert token not in caplog.text


def test_a_key_replayed_the_next_day_shows_that_ticket_as_it_is_now(client, clerk_client, clock):
    key = {"Idempotency-Key": "phone-tap-before-midnight"}
    first = client.post("/api/v1/tickets", json={"service": "renshe"}, headers=key).get_json()["ticket"]
    clerk_client(1).post("/api/v1/windows/1/call-next")
    clock.advance(hours=15)  # 01:00 the next day
    again = client.post("/api/v1/tickets", json={"service": "renshe"}, headers=key)
    assert again.status_code == 200 and again.get_json()["created"] is False
    assert again.get_json()["ticket"]["id"] == first["id"] and again.get_json()["ticket"]["status"] == "called"
