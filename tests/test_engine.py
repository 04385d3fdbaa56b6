"""The queue engine on a real Redis: numbering, ordering, transitions, concurrency, the day rollover."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest

from shared.engine import Engine
from shared.errors import ConflictError, NotFoundError, ServiceClosedError, UnprocessableError, ValidationError
from shared.redis_client import connect
from shared.window_view import window_state


@pytest.fixture(params=["single", "cluster"])
def any_engine(request, hall_config, clock):
    """The engine on the single server, then on the cluster."""
    client = request.getfixturevalue("redis_client" if request.param == "single" else "cluster_client")
    return Engine(client, hall_config, clock)


def test_numbers_are_per_service_and_padded(any_engine):
    engine = any_engine
    numbers = [engine.issue(s).ticket["number"] for s in ("renshe", "renshe", "shichang", "renshe")]
    assert numbers == ["A001", "A002", "B001", "A003"]


def test_issue_is_idempotent_on_request_id(any_engine):
    engine = any_engine
    first = engine.issue("renshe", request_id="kiosk1-tap-0001")
    again = engine.issue("renshe", request_id="kiosk1-tap-0001")
    assert first.created and not again.created
    assert again.ticket["id"] == first.ticket["id"]
    assert engine.issue("renshe", request_id="kiosk1-tap-0002").ticket["number"] == "A002"
    assert len([e for e in engine.events_since() if e.type == "ticket_issued"]) == 2


def test_concurrent_issue_gives_unique_contiguous_numbers(store, hall_config, clock):
    """8 threads behind a barrier issue 2,000 tickets over two services (on one server, then on a cluster)."""
    redis_server, _client = store
    per_thread, threads = 250, 8
    barrier = threading.Barrier(threads)
    results: list[list[str]] = [[] for _ in range(threads)]

    def work(i: int) -> None:
        eng = Engine(connect(redis_server.url), hall_config, clock)  # a client per thread, like separate workers
        barrier.wait()
        for k in range(per_thread):
            service = "renshe" if (i + k) % 2 else "shichang"
            results[i].append(eng.issue(service).ticket["number"])

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, range(threads)))
    numbers = [n for r in results for n in r]
    assert len(numbers) == 2000 and len(set(numbers)) == 2000
    for prefix in "AB":
        got = sorted(int(n[1:]) for n in numbers if n[0] == prefix)
        assert got == list(range(1, len(got) + 1)), f"{prefix} numbers are not contiguous"
    assert sum(1 for n in numbers if n[0] == "A") == 1000


def test_concurrent_call_next_calls_each_ticket_once(store, hall_config, clock):
    """6 windows call next concurrently until the queues are empty: every ticket once, none lost (on one server,
    then on a cluster)."""
    redis_server, redis_client = store
    eng = Engine(redis_client, hall_config, clock)
    issued = {eng.issue("renshe" if i % 3 else "shichang").ticket["id"] for i in range(600)}
    called: list[tuple[int, str]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def window_loop(window: int) -> None:
        e = Engine(connect(redis_server.url), hall_config, clock)
        barrier.wait()
        while True:
            try:
                t = e.call_next(window, f"clerk{window}")
            except ConflictError as exc:
                assert exc.code == "queue_empty"
                return
            with lock:
                called.append((window, t["id"]))
            e.finish(window, "handled", f"clerk{window}")

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(window_loop, range(1, 7)))
    ids = [tid for _, tid in called]
    assert Counter(ids).most_common(1)[0][1] == 1
    assert set(ids) == issued
    assert {w for w, _ in called} == set(range(1, 7))


def test_call_order_priority_then_service_order_then_wait(engine, clock):
    a1 = engine.issue("renshe").ticket
    clock.advance(minutes=1)
    b1 = engine.issue("shichang").ticket
    clock.advance(minutes=1)
    a2 = engine.issue("renshe").ticket
    clock.advance(minutes=1)
    b2p = engine.issue("shichang", priority=True).ticket
    # window 3 serves shichang first, then renshe
    order = []
    for _ in range(4):
        order.append(engine.call_next(3)["id"])
        engine.finish(3, "handled")
    assert order == [b2p["id"], b1["id"], a1["id"], a2["id"]]


def test_transfer_keeps_number_and_goes_to_head(engine):
    first = engine.issue("renshe").ticket
    engine.issue("bubancheng")
    engine.call_next(1)
    moved = engine.transfer(1, service="bubancheng")
    assert moved["number"] == first["number"] and moved["service"] == "bubancheng" and moved["status"] == "waiting"
    assert engine.call_next(7)["number"] == first["number"]  # ahead of F001, which waited longer


def test_transfer_to_window(engine):
    t = engine.issue("renshe").ticket
    engine.issue("shichang")
    engine.call_next(1)
    engine.transfer(1, to_window=4)
    assert window_state(engine, 4)["transferred_in"] == 1
    assert engine.call_next(4)["id"] == t["id"]


def test_illegal_transitions_are_errors(engine):
    with pytest.raises(ConflictError) as e:
        engine.recall(1)
    assert e.value.code == "nothing_to_recall"
    with pytest.raises(ConflictError) as e:
        engine.finish(1, "handled")
    assert e.value.code == "nothing_to_finish"
    with pytest.raises(ConflictError) as e:
        engine.call_next(1)
    assert e.value.code == "queue_empty"
    t = engine.issue("renshe").ticket
    engine.issue("renshe")
    engine.call_next(1)
    with pytest.raises(ConflictError) as e:
        engine.call_next(1)
    assert e.value.code == "window_busy"
    with pytest.raises(ConflictError) as e:
        engine.cancel(t["id"])
    assert e.value.code == "invalid_transition"
    engine.no_show(1)
    with pytest.raises(ConflictError):
        engine.call_number(1, t["number"])  # a no-show ticket is not called again
    with pytest.raises(ValidationError):
        engine.finish(1, "maybe")


def test_pause_blocks_calls_until_resumed(engine):
    engine.issue("renshe")
    engine.pause(1, "午休")
    with pytest.raises(ConflictError) as e:
        engine.call_next(1)
    assert e.value.code == "window_paused"
    assert window_state(engine, 1)["pause_reason"] == "午休"
    engine.resume(1)
    assert engine.call_next(1)["number"] == "A001"


def test_call_specific_number(engine):
    engine.issue("renshe")
    second = engine.issue("renshe").ticket
    assert engine.call_number(1, "A002")["id"] == second["id"]
    engine.finish(1, "consulted")
    with pytest.raises(ConflictError) as e:
        engine.call_number(4, "A001")  # window 4 serves shichang only
    assert e.value.code == "wrong_window"
    with pytest.raises(NotFoundError):
        engine.call_number(1, "A999")
    with pytest.raises(UnprocessableError):
        engine.call_number(1, "Z001")


def test_cancel_removes_from_queue(engine):
    t = engine.issue("renshe").ticket
    engine.issue("renshe")
    assert engine.cancel(t["id"])["status"] == "cancelled"
    assert engine.call_next(1)["number"] == "A002"


def test_every_change_appends_one_event_with_increasing_seq(engine):
    engine.issue("renshe")
    engine.call_next(1)
    engine.recall(1)
    engine.finish(1, "handled")
    evs = engine.events_since()
    assert [e.type for e in evs] == ["ticket_issued", "ticket_called", "ticket_recalled", "ticket_finished"]
    assert [e.seq for e in evs] == [1, 2, 3, 4]
    assert all("token" not in e.data.get("ticket", {}) for e in evs)


def test_day_rolls_over_at_local_midnight(engine, clock, hall_config):
    clock.set(datetime(2026, 11, 27, 23, 58, tzinfo=hall_config.timezone))
    engine.issue("renshe")
    left = engine.issue("renshe").ticket
    assert left["number"] == "A002"
    clock.set(datetime(2026, 11, 28, 0, 0, 30, tzinfo=hall_config.timezone))  # 16:00:30 UTC: local midnight
    fresh = engine.issue("renshe").ticket
    assert fresh["number"] == "A001" and fresh["id"].startswith("20261128-")
    assert engine.call_next(1)["id"] == fresh["id"]
    engine.finish(1, "handled")
    with pytest.raises(ConflictError):  # yesterday's A001/A002 are never called today
        engine.call_next(1)
    assert engine.get_ticket(left["id"])["status"] == "waiting"


def test_quota_and_hours_enforced(engine, redis_client, hall_config, clock):
    with pytest.raises(ServiceClosedError) as e:
        engine.issue("lingdao")  # no opening hours at all
    assert e.value.code == "service_closed" and e.value.details["reason"] == "closed_today"
    for _ in range(50):
        engine.issue("bubancheng")
    with pytest.raises(ServiceClosedError) as e:
        engine.issue("bubancheng")
    assert e.value.code == "quota_reached"
    overview = {s["code"]: s for s in engine.services_overview()}
    assert overview["bubancheng"]["open"] is False and overview["bubancheng"]["closed_reason"] == "quota_reached"


def test_estimated_wait_uses_people_ahead(engine):
    from shared.window_holds import WindowHolds

    holds = WindowHolds(engine, 3600)
    for n in (1, 2, 3, 5, 6):  # windows 1,2,3,5,6 serve renshe; all staffed
        holds.hold(n, f"clerk{n}", f"clerk {n}")
    for _ in range(4):
        t = engine.issue("renshe").ticket
    # 3 ahead, 6 min average
    assert t["ahead"] == 3
    assert t["estimated_wait_minutes"] == 4  # ceil(3 * 6 / 5)
    assert t["wait"] == {"state": "minutes", "minutes": 4}


def test_replay_is_answered_when_closed_but_never_issues_a_new_ticket(redis_client, hall_config, clock):
    """A retried tap after closing time gets its ticket back; a request id from yesterday gets no new ticket."""
    from dataclasses import replace

    from shared.config import Period

    until_five = replace(hall_config.services["renshe"], hours={d: (Period(0, 17 * 60),) for d in range(7)})
    config = replace(hall_config, services={**hall_config.services, "renshe": until_five})
    engine = Engine(redis_client, config, clock)
    clock.set(datetime(2026, 11, 27, 16, 59, tzinfo=config.timezone))
    first = engine.issue("renshe", request_id="tap-before-close")
    clock.set(datetime(2026, 11, 27, 17, 1, tzinfo=config.timezone))
    again = engine.issue("renshe", request_id="tap-before-close")
    assert not again.created and again.ticket["id"] == first.ticket["id"]
    clock.set(datetime(2026, 11, 28, 17, 30, tzinfo=config.timezone))  # the next day, still closed
    with pytest.raises(ServiceClosedError) as e:
        engine.issue("renshe", request_id="tap-before-close")
    assert e.value.code == "service_closed" and e.value.details["reason"] == "closed_for_day"
    assert redis_client.get(engine.keys.counter("20261128", "renshe")) is None
