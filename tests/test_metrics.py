"""Prometheus /metrics: the hall's counters equal the event stream, across processes and restarts."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections import Counter

from prometheus_client.parser import text_string_to_metric_families

from faults import wait_for
from hall_support import KEYPAD_TOKEN
from shared import events
from shared.metrics import SERVICE_COUNTERS


def scrape(client) -> dict[tuple, float]:
    r = client.get("/metrics")
    assert r.status_code == 200 and r.content_type.startswith("text/plain")
    return parse(r.get_data(as_text=True))


def parse(text: str) -> dict[tuple, float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def expected_from_stream(events_list) -> Counter:
    """What the counters must say, counted straight from the stream."""
    want: Counter = Counter()
    for e in events_list:
        want[("onewindow_events_total", (("type", e.type),))] += 1
        ticket = e.data.get("ticket") or {}
        if e.type in SERVICE_COUNTERS:
            want[(f"onewindow_{SERVICE_COUNTERS[e.type][0]}_total", (("service", ticket["service"]),))] += 1
        if e.type == events.TICKET_FINISHED:
            want[("onewindow_tickets_finished_total",
                  (("outcome", ticket["outcome"]), ("service", ticket["service"])))] += 1
        if e.type == events.PRINTER_FAULTED:
            want[("onewindow_printer_faults_total", (("kind", e.data["kind"]), ("kiosk", e.data["kiosk"])))] += 1
    return want


def morning(engine) -> None:
    """A scripted morning: issues, calls, recalls, finishes of both kinds, a no-show, a transfer, a cancel, a
    printer fault."""
    tickets = [engine.issue(s).ticket for s in ["renshe"] * 6 + ["shichang"] * 4 + ["renshe"] * 2]
    engine.call_next(1)
    engine.recall(1)
    engine.finish(1, "handled")
    engine.call_next(1)
    engine.finish(1, "consulted")
    engine.call_next(3)
    engine.no_show(3)
    engine.call_next(3)
    engine.transfer(3, service="renshe")
    engine.call_next(2)
    engine.finish(2, "handled")
    engine.cancel(tickets[-1]["id"])
    engine.record_event(events.PRINTER_FAULTED, {"kiosk": "lobby-1", "kind": "paper_out", "message": "no paper",
                                                 "number": tickets[0]["number"], "backend": "network"})


def test_counters_match_the_event_stream(client, engine):
    engine.issue("renshe")  # the hall was not empty before the first scrape
    before = scrape(client)
    seq_before = engine.last_seq()
    morning(engine)
    after = scrape(client)
    want = expected_from_stream([e for e in engine.events_since() if e.seq > seq_before])
    assert sum(want.values()) > 30
    names = {name for name, _ in want} | {"onewindow_tickets_issued_total", "onewindow_tickets_finished_total"}
    for key in set(after) | set(want):
        if key[0] in names:
            assert after.get(key, 0) - before.get(key, 0) == want.get(key, 0), key
    assert after[("onewindow_tickets_issued_total", (("service", "renshe"),))] == 9  # 1 before + 8 this morning
    assert after[("onewindow_event_seq", ())] == engine.last_seq()
    waiting = {s: engine.redis.zcard(engine.keys.queue(engine.today(), s)) for s in engine.config.services}
    for service, n in waiting.items():
        assert after[("onewindow_waiting", (("service", service),))] == n
    assert after[("onewindow_http_request_seconds_count", (("method", "GET"), ("route", "/metrics")))] >= 1


def test_processes_folding_at_once_and_a_restart_count_each_event_once(app, engine, redis_server, hall_config, clock):
    from onewindow import create_app

    morning(engine)
    apps = [app] + [create_app({"TESTING": True, "CONFIG": hall_config, "REDIS_URL": redis_server.url, "CLOCK": clock,
                                "START_RELAY": False}) for _ in range(3)]
    results: list[dict] = []
    barrier = threading.Barrier(len(apps))

    def scrape_at_once(a) -> None:
        barrier.wait()
        results.append(scrape(a.test_client()))

    threads = [threading.Thread(target=scrape_at_once, args=(a,)) for a in apps]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    want = expected_from_stream(engine.events_since())
    for r in results:
        for key, n in want.items():
            assert r.get(key) == n, key
    restarted = create_app({"TESTING": True, "CONFIG": hall_config, "REDIS_URL": redis_server.url, "CLOCK": clock,
                            "START_RELAY": False})
    again = scrape(restarted.test_client())
    for key, n in want.items():
        assert again.get(key) == n, key


def test_metrics_are_for_this_machine_only(client):
    r = client.get("/metrics", environ_base={"REMOTE_ADDR": "192.168.1.77"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"


def test_call_to_emit_latency_and_relay_lag_on_a_live_server(live_server, redis_client):
    def post(path: str, body: dict, token: str | None = None) -> dict:
        req = urllib.request.Request(live_server.url + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {token}"} if token else {})})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def metrics() -> dict:
        with urllib.request.urlopen(live_server.url + "/metrics", timeout=10) as r:
            return parse(r.read().decode())

    post("/api/v1/tickets", {"service": "renshe"})
    post("/api/v1/windows/1/call-next", {}, KEYPAD_TOKEN)
    def emitted():  # the relay emits asynchronously: wait for it, not for a fixed time
        m = metrics()
        count = m.get(("onewindow_call_emit_seconds_count", (("type", "ticket_called"),)), 0)
        return m if count >= 1 and m.get(("onewindow_relay_lag_events", ())) == 0 else None

    m = wait_for(emitted, 30, "the relay to emit the call")
    assert m[("onewindow_relay_lag_seconds", ())] == 0
    assert m[("onewindow_tickets_called_total", (("service", "renshe"),))] == 1


def test_the_served_worker_froze_its_startup_heap(live_server, client):
    """`onewindow serve`'s worker moves what it holds once loaded out of the garbage collector's reach (a full
    collection walked ~100,000 objects: 100-200 ms with no event sent and no ticket answered); an app made
    without the server (tests, a WSGI host of one's own) freezes nothing."""
    with urllib.request.urlopen(live_server.url + "/metrics", timeout=10) as r:
        served = parse(r.read().decode())
    assert served[("onewindow_gc_frozen_objects", ())] > 10_000
    assert served[("onewindow_gc_collections_total", (("generation", "2"),))] >= 1   # the one before freezing
    assert parse(client.get("/metrics").get_data(as_text=True))[("onewindow_gc_frozen_objects", ())] == 0
