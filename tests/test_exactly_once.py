"""Exactly once under faults (issue 9, items 1 and 2).

1. A stalled Redis makes redis-py resend a script whose answer timed out; the server runs every copy once it
   continues. Each test stops a private embedded server (SIGSTOP) the moment the named script is sent, waits until
   redis-py has given up on that copy (it still sits unread in the server) and is sending it again (see
   ``tests/faults.py``), then continues it (SIGCONT): the action takes effect once and the client gets the first
   answer. Each test does the action once before, so the server knows the script (a first EVALSHA would only
   answer NOSCRIPT, twice, and hide the problem).
2. call-number decides inside its script which queue the number is in: a transfer landing between the clerk's
   press and the script never leaves a ticket at two windows or called at a window that does not serve it.
"""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager

import pytest

from hall_support import DEMO_PASSWORD, KIOSK_TOKEN, SUPER_PASSWORD
from faults import StallableRedis
from shared.engine import Engine
from shared.errors import ConflictError
from shared.redis_client import connect
from shared.window_view import window_state

DAY = "20261127"
EVENTS = "ow:{testhall}:events"


@pytest.fixture(scope="module")
def stallable(tmp_path_factory):
    """A private server: stopping it must not disturb the session's server."""
    server = StallableRedis(tmp_path_factory.mktemp("stall-redis")).start()
    yield server
    server.close()


@pytest.fixture
def stall_app(stallable, hall_config, clock):
    from onewindow import create_app

    r = connect(stallable.url)
    r.flushall()
    app = create_app({"TESTING": True, "CONFIG": hall_config, "REDIS_URL": stallable.url, "CLOCK": clock,
                      "START_RELAY": False})
    yield app, r
    stallable.continue_process()
    r.close()


@contextmanager
def stalled_during(app, stallable, monkeypatch, script: str):
    """Stop Redis as the first run of ``script`` is sent; continue it once redis-py has sent a second copy."""
    runner = app.extensions["onewindow"].engine.runner
    original = runner.run
    resumer: list[threading.Thread] = []
    failures: list[BaseException] = []

    def resume() -> None:
        try:
            stallable.wait_for_resend()
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            failures.append(exc)
        finally:
            stallable.continue_process()

    def run(name, *args, **kwargs):
        if name == script and not resumer:
            stallable.stop_process()
            resumer.append(threading.Thread(target=resume, daemon=True))
            resumer[0].start()
        return original(name, *args, **kwargs)

    monkeypatch.setattr(runner, "run", run)
    yield
    monkeypatch.setattr(runner, "run", original)
    assert resumer, f"the {script} script never ran"
    resumer[0].join(30)
    if failures:
        raise failures[0]


def _events(r, kind: str) -> list[dict]:
    return [json.loads(f["data"]) for _id, f in r.xrange(EVENTS) if f["type"] == kind]


def _clerk(app, window: int):
    c = app.test_client()
    resp = c.post("/api/v1/login", json={"username": f"clerk{window}", "password": DEMO_PASSWORD, "window": window})
    assert resp.status_code == 200, resp.get_json()
    c.environ_base["HTTP_X_CSRF_TOKEN"] = resp.get_json()["csrf_token"]
    return c


def test_issue_without_request_id_creates_one_ticket(stall_app, stallable, monkeypatch):
    app, r = stall_app
    assert app.test_client().post("/api/v1/tickets", json={"service": "renshe"}).status_code == 201
    with stalled_during(app, stallable, monkeypatch, "issue"):
        resp = app.test_client().post("/api/v1/tickets", json={"service": "shichang"})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["ticket"]["number"] == "B001" and resp.get_json()["created"] is True
    assert sorted(r.hkeys(f"ow:{{testhall}}:tickets:{DAY}")) == [f"{DAY}-A001", f"{DAY}-B001"]
    assert r.get(f"ow:{{testhall}}:num:{DAY}:shichang") == "1"
    assert [e["ticket"]["number"] for e in _events(r, "ticket_issued")] == ["A001", "B001"]


def test_recall_is_announced_once(stall_app, stallable, monkeypatch):
    app, r = stall_app
    app.test_client().post("/api/v1/tickets", json={"service": "renshe"})
    c = _clerk(app, 1)
    assert c.post("/api/v1/windows/1/call-next").status_code == 200
    assert c.post("/api/v1/windows/1/recall").get_json()["ticket"]["calls"] == 2
    with stalled_during(app, stallable, monkeypatch, "recall"):
        resp = c.post("/api/v1/windows/1/recall")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["ticket"]["calls"] == 3
    assert len(_events(r, "ticket_recalled")) == 2
    assert json.loads(r.hget(f"ow:{{testhall}}:tickets:{DAY}", f"{DAY}-A001"))["calls"] == 3


def test_a_case_is_recorded_once(stall_app, stallable, monkeypatch):
    app, r = stall_app
    app.test_client().post("/api/v1/tickets", json={"service": "bubancheng"})
    c = _clerk(app, 7)
    assert c.post("/api/v1/windows/7/call-next").status_code == 200
    case = {"department": "区市场监管局", "problem": "材料要求前后不一", "resolved": False}
    first = c.post("/api/v1/windows/7/case", json={**case, "resolved": True}).get_json()["case"]
    with stalled_during(app, stallable, monkeypatch, "record_case"):
        resp = c.post("/api/v1/windows/7/case", json=case)
    assert resp.status_code == 201, resp.get_json()
    assert sorted(r.hkeys("ow:{testhall}:cases")) == sorted([first["id"], resp.get_json()["case"]["id"]])
    assert r.zrange("ow:{testhall}:cases:open", 0, -1) == [resp.get_json()["case"]["id"]]
    assert len(_events(r, "case_recorded")) == 2


def test_a_finish_that_succeeded_answers_with_its_ticket(stall_app, stallable, monkeypatch):
    app, r = stall_app
    for _ in range(2):
        app.test_client().post("/api/v1/tickets", json={"service": "renshe"})
    c = _clerk(app, 1)
    for number in ("A001", "A002"):
        assert c.post("/api/v1/windows/1/call-next").get_json()["ticket"]["number"] == number
        if number == "A001":
            assert c.post("/api/v1/windows/1/finish", json={"outcome": "handled"}).status_code == 200
    with stalled_during(app, stallable, monkeypatch, "close_current"):
        resp = c.post("/api/v1/windows/1/finish", json={"outcome": "handled"})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["ticket"]["number"] == "A002" and resp.get_json()["ticket"]["status"] == "done"
    assert len(_events(r, "ticket_finished")) == 2


# ------------------------------------------------------------------------------------------------ item 2
@pytest.mark.parametrize("calling_window", [1, 3])
def test_call_number_racing_a_transfer(redis_server, redis_client, hall_config, clock, monkeypatch, calling_window):
    """A001 is called at window 2; as window ``calling_window`` calls A001 by number, window 2 transfers it to
    市场综合. Window 1 (人社 only) must refuse; window 3 (市场 and 人社) may call it, taking it out of the 市场 queue.
    Either way window 4 (市场 only) must not get it too."""
    engine = Engine(redis_client, hall_config, clock)
    other = Engine(connect(redis_server.url), hall_config, clock)  # another clerk's process
    engine.issue("renshe")
    assert engine.call_next(2)["number"] == "A001"
    original = engine.runner.run

    def run(name, *args, **kwargs):
        if name == "call_number":  # the transfer lands between the press and the script
            other.transfer(2, service="shichang")
        return original(name, *args, **kwargs)

    monkeypatch.setattr(engine.runner, "run", run)
    if calling_window == 1:
        with pytest.raises(ConflictError) as e:
            engine.call_number(1, "A001")
        assert e.value.code == "wrong_window"
        monkeypatch.setattr(engine.runner, "run", original)
        assert engine.call_next(4)["number"] == "A001"
        holders = [n for n in range(1, 8) if window_state(engine, n)["current"]]
        assert holders == [4]
    else:
        assert engine.call_number(3, "A001")["window"] == 3
        monkeypatch.setattr(engine.runner, "run", original)
        with pytest.raises(ConflictError) as e:
            engine.call_next(4)
        assert e.value.code == "queue_empty"
        assert redis_client.zcard(engine.keys.queue(DAY, "shichang")) == 0
        assert [n for n in range(1, 8) if window_state(engine, n)["current"]] == [3]
    calls = [e for e in engine.events_since() if e.type == "ticket_called"]
    assert [e.data["window"] for e in calls] == [2, calling_window if calling_window == 3 else 4]


# ------------------------------------------------------------------------------------------------ outside the runner
def test_the_archive_lock_survives_a_resend(stallable, hall_config, clock, tmp_path):
    """The archiver's lock is one SET NX: when redis-py sends it again, the copy finds the lock taken — by itself.
    The run must not take that for another archiver (skipping, and leaving the lock held for ten minutes)."""
    from shared.stats import Archive, archive_closed_days

    r = connect(stallable.url)
    r.flushall()
    engine = Engine(r, hall_config, clock)
    engine.issue("renshe")
    result: list = []
    worker = threading.Thread(target=lambda: result.append(archive_closed_days(engine, Archive(tmp_path / "a.db"))))
    stallable.stop_process()
    try:
        worker.start()
        stallable.wait_for_resend()
    finally:
        stallable.continue_process()
    worker.join(30)
    assert result and not result[0].skipped
    assert r.get(engine.keys.meta("archive_lock")) is None
    r.close()


def test_an_undone_no_show_is_undone_once_when_redis_resends_it(stall_app, stallable, monkeypatch):
    """undo_no_show.lua resent by redis-py while Redis stalls: one no_show_undone, the ticket in its queue once, and
    the clerk gets the first answer (not 'not_no_show' from the resent copy)."""
    app, r = stall_app
    for _ in range(3):
        app.test_client().post("/api/v1/tickets", json={"service": "renshe"})
    c = _clerk(app, 1)
    for _ in range(2):  # the first undo teaches the server the script (see the module doc)
        c.post("/api/v1/windows/1/call-next")
        c.post("/api/v1/windows/1/no-show")
    assert c.post("/api/v1/windows/1/undo-no-show", json={"ticket_id": f"{DAY}-A001"}).status_code == 200
    with stalled_during(app, stallable, monkeypatch, "undo_no_show"):
        resp = c.post("/api/v1/windows/1/undo-no-show", json={"ticket_id": f"{DAY}-A002"})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["ticket"]["status"] == "waiting"
    assert [e["ticket"]["number"] for e in _events(r, "no_show_undone")] == ["A001", "A002"]
    assert r.zrange(f"ow:{{testhall}}:q:{DAY}:renshe", 0, -1) == [f"{DAY}-A001", f"{DAY}-A002", f"{DAY}-A003"]


def test_a_help_request_is_handled_once(stall_app, stallable, monkeypatch, clock):
    """需要帮助 and 已处理 under a resend: one help_requested per press, one help_handled, the request closed once."""
    app, r = stall_app
    kiosk = {"Authorization": f"Bearer {KIOSK_TOKEN}"}
    sup = app.test_client()
    login = sup.post("/api/v1/login", json={"username": "supervisor", "password": SUPER_PASSWORD}).get_json()
    sup.environ_base["HTTP_X_CSRF_TOKEN"] = login["csrf_token"]
    first = app.test_client().post("/api/v1/kiosks/lobby-1/help", headers=kiosk).get_json()["request"]
    assert sup.post(f"/api/v1/supervisor/help/lobby-1/{first['id']}/handled", json={}).status_code == 200
    clock.advance(seconds=120)
    with stalled_during(app, stallable, monkeypatch, "help_request"):
        resp = app.test_client().post("/api/v1/kiosks/lobby-1/help", headers=kiosk)
    assert resp.status_code == 201, resp.get_json()
    second = resp.get_json()["request"]
    with stalled_during(app, stallable, monkeypatch, "help_handle"):
        done = sup.post(f"/api/v1/supervisor/help/lobby-1/{second['id']}/handled", json={})
    assert done.status_code == 200, done.get_json()
    assert [e["request"] for e in _events(r, "help_requested")] == [first["id"], second["id"]]
    assert [e["request"] for e in _events(r, "help_handled")] == [first["id"], second["id"]]
    assert r.hlen("ow:{testhall}:help:open") == 0
