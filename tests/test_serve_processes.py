"""`onewindow serve --workers 2`: screens spread over both processes get every event exactly once in seq order; a
worker killed with SIGKILL is replaced and its screens reconnect and catch up with what they missed; the hall
display page works over the transport several processes need (WebSocket only); background work is done once."""

from __future__ import annotations

import os
import re
import signal

import pytest
import requests

from display_support import Api, open_page
from faults import wait_for
from hall_support import LiveServer
from procs_support import Screen, pid_of, worker_pids
from serve_support import Served, hall_file
from shared.keys import HallKeys

WORKERS = ("--workers", "2")
MAX_SCREENS = 24


def hall_seq(redis_client, hall_config) -> int:
    return int(redis_client.get(HallKeys(hall_config.hall_id).seq) or 0)


def spread_screens(url: str, start: int, want: int = 6, reconnect_delay: float = 0.5) -> list[Screen]:
    """Screens connected until both processes hold some (at least ``want`` in all)."""
    screens: list[Screen] = []
    while len(screens) < MAX_SCREENS:
        screens.append(Screen(url, reconnect_delay=reconnect_delay).connect(start))
        if len(screens) >= want and len({s.processes[-1] for s in screens if s.processes}) == 2:
            break
        wait_for(lambda: screens[-1].processes, timeout=20, what="the screen's process")
    wait_for(lambda: all(s.processes for s in screens), timeout=20, what="every screen's process")
    assert len({s.processes[-1] for s in screens}) == 2, "the screens did not spread over both processes"
    return screens


@pytest.fixture
def served(redis_server, redis_client, live_config, tmp_path):
    """Two processes logging at INFO to ``served.log`` (where :func:`pid_of` finds a screen's process)."""
    server = LiveServer(live_config, redis_server.url, (*WORKERS, "--log-file", str(tmp_path / "serve.log")),
                        log_level="INFO").start(timeout=60)
    server.log = tmp_path / "serve.log"
    yield server
    server.stop()


@pytest.mark.parametrize("worker", ["gevent", "gthread"])
def test_every_screen_gets_every_event_in_order_on_either_process(worker, redis_server, redis_client, live_config,
                                                                 hall_config):
    served = LiveServer(live_config, redis_server.url, (*WORKERS, "--worker", worker)).start(timeout=60)
    try:
        _every_screen_every_event(served, redis_client, hall_config)
    finally:
        served.stop()


def _every_screen_every_event(served, redis_client, hall_config):
    assert len(worker_pids(served.process.pid)) == 2
    api = Api(served.url)
    start = hall_seq(redis_client, hall_config)
    screens = spread_screens(served.url, start)
    try:
        for _ in range(6):
            api.issue()
        for window in (1, 2, 3):
            api.call_next(window)
        last = hall_seq(redis_client, hall_config)
        assert last > start + 9  # (logins write events too)
        wait_for(lambda: all(s.seq == last for s in screens), timeout=30, what="every screen at the last seq")
        for screen in screens:
            assert screen.applied == list(range(start + 1, last + 1))
            assert screen.holes() == [] and screen.connects == 1
    finally:
        for screen in screens:
            screen.close()


def test_a_killed_worker_loses_no_screen_for_more_than_a_reconnect(served, redis_client, hall_config):
    api = Api(served.url)
    before = worker_pids(served.process.pid)
    start = hall_seq(redis_client, hall_config)
    # the victim's screens wait 2 s before reconnecting: the events issued meanwhile reach them only by catching up
    screens = spread_screens(served.url, start, reconnect_delay=2.0)
    victim = screens[0].processes[-1]
    on_victim = [s for s in screens if s.processes[-1] == victim]
    others = [s for s in screens if s.processes[-1] != victim]
    try:
        api.issue()
        victim_pid = pid_of(served.log, victim)
        os.kill(victim_pid, signal.SIGKILL)
        wait_for(lambda: all(s.disconnects for s in on_victim), timeout=30, what="the victim's screens cut off")
        missed_from = hall_seq(redis_client, hall_config)
        for _ in range(4):  # while the victim's screens have no socket (they wait before reconnecting)
            api.issue()
        api.call_next(1)
        wait_for(lambda: len(worker_pids(served.process.pid) - before) == 1, timeout=60,
                 what="gunicorn's master to start a new worker")
        for _ in range(3):
            api.issue()
        last = hall_seq(redis_client, hall_config)
        wait_for(lambda: all(s.seq == last for s in screens), timeout=60,
                 what="every screen, reconnected or not, at the last seq")
        for screen in screens:
            assert screen.applied == list(range(start + 1, last + 1)), f"screen on {screen.processes}"
            assert screen.holes() == []
        for screen in on_victim:
            assert screen.connects == 2 and screen.processes[-1] != victim
            assert screen.caught_up >= 1 and screen.resyncs == 0
            assert any(seq > missed_from for seq in screen.applied)
        assert all(s.connects == 1 for s in others)
        assert victim_pid not in worker_pids(served.process.pid) and len(worker_pids(served.process.pid)) == 2
    finally:
        for screen in screens:
            screen.close()


def test_polling_is_refused_with_several_processes(served):
    """A long-polling session's requests would land on either process: with several, only WebSocket is offered."""
    r = requests.get(served.url + "/socket.io/?EIO=4&transport=polling", timeout=10)
    assert r.status_code == 400


@pytest.mark.browser
def test_the_hall_display_works_against_two_processes(served, redis_client, new_context):
    api = Api(served.url)
    api.issue()
    api.clerk(1)
    ctx = new_context((1920, 1080))
    display = open_page(ctx, served.url + "/display?voice=0", "owDisplay")
    display.wait_for_function("() => owDisplay.live.status === 'live'", timeout=30_000)
    api.call_next(1)
    display.wait_for_function(
        "() => { const n = document.querySelector('#hero .num'); return n && n.textContent === 'A001'; }",
        timeout=30_000, polling=50)
    assert display.evaluate("() => owDisplay.shown.map(s => s.number)") == ["A001"]
    # the worker holding the page's socket dies: the page reconnects and catches up (no snapshot), showing the call
    # made meanwhile
    process = display.evaluate(
        "async () => (await owDisplay.live.socket.timeout(10000).emitWithAck('clock', {})).process")
    before = display.evaluate("() => ({...owDisplay.live.stats})")
    api.issue()
    api.clerk(2).close()  # signed in; its kept-alive connection may be to the worker about to die
    os.kill(pid_of(served.log, process), signal.SIGKILL)
    api.call_next(2)
    display.wait_for_function(
        "() => { const n = document.querySelector('#hero .num'); return n && n.textContent === 'A002'; }",
        timeout=60_000, polling=50)
    display.wait_for_function("() => owDisplay.live.status === 'live'", timeout=30_000)
    after = display.evaluate("() => ({...owDisplay.live.stats})")
    assert after["connects"] == before["connects"] + 1 and after["snapshots"] == before["snapshots"]
    assert after["gaps"] == before["gaps"] == 0
    assert display.evaluate("() => owDisplay.shown.map(s => s.number)") == ["A001", "A002"]
    assert display.errors == []  # type: ignore[attr-defined]


def test_each_rating_is_reported_upstream_once_by_two_processes(redis_server, redis_client, live_config, tmp_path):
    """Both processes run the 好差评 worker and its outbox sender; the lease lets one of them post: each rating reaches
    the province in one request (the fake province counts them), not one per process."""
    from fake_province import FakeProvince
    from hall_support import tablet

    province = FakeProvince(seed=15).start()
    config = tmp_path / "hall.toml"
    config.write_text(live_config.read_text(encoding="utf-8") + f"""
[haocaiping.upstream]
enabled = true
url = "{province.url}"
area_code = "340404"
department_code = "11340404MB0000000X"
success_field = "code"
success_values = ["0"]
duplicate_values = ["1001"]

[haocaiping.upstream.fields]
evalId = "id"
satisfaction = "level"
""", encoding="utf-8")
    server = LiveServer(config, redis_server.url, WORKERS).start(timeout=60)
    try:
        assert len(worker_pids(server.process.pid)) == 2
        api = Api(server.url)
        rated = []
        for level in (5, 4, 2, 5):
            ticket = api.issue()
            api.call_next(1)
            r = api.clerk(1).post(f"{server.url}/api/v1/windows/1/finish", json={"outcome": "handled"}, timeout=10)
            assert r.status_code == 200, r.text
            r = requests.post(f"{server.url}/api/v1/windows/1/rating", headers=tablet(1), timeout=10,
                              json={"ticket_id": ticket["id"], "level": level})
            assert r.status_code == 201, r.text
            rated.append(ticket["id"])
        wait_for(lambda: len(province.accepted) == len(rated), timeout=60, what="every rating at the province")
        received = [eval_id for kind, eval_id in province.log if kind == "recv"]
        assert sorted(received) == sorted(f"testhall-{t}-1" for t in rated)  # one request each: no process posted twice
        assert province.requests == len(rated)
    finally:
        server.stop()
        province.stop()


def test_ctrl_c_stops_both_workers_then_the_master_then_redis(tmp_path):
    """The ordered stop with two workers: each closes its screens' sockets and exits, then gunicorn's master, the
    supervisor and, last, the embedded Redis — nothing SIGKILLed, nothing left running."""
    server = Served(hall_file(tmp_path), *WORKERS)
    screens: list[Screen] = []
    try:
        server.wait_for("Ctrl-C stops")
        screens = spread_screens(server.url, 0, want=2)
        workers = worker_pids(server.proc.pid)
        assert len(workers) == 2
        os.killpg(server.proc.pid, signal.SIGINT)  # a terminal sends SIGINT to the foreground job's process group
        code = server.finish()
    finally:
        for screen in screens:
            screen.close()
    out = server.output
    assert code == 0, out
    assert all(s.disconnects >= 1 for s in screens), "a screen's socket was not closed"
    assert "SIGKILL" not in out and "graceful timeout" not in out and "relay lost Redis" not in out, out
    exits = [m.start() for m in re.finditer("Worker exiting", out)]
    assert len(exits) == 2, out
    assert max(exits) < out.index("Shutting down: Master") < out.index("server stopped") \
        < out.index("embedded Redis stopped"), out
    assert not any(os.path.exists(f"/proc/{pid}") for pid in workers)
    assert not (tmp_path / "var" / "redis" / "embedded.json").exists()
