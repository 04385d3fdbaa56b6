"""A kiosk ticket that was issued but never printed is printed by the request sent again — once.

The kiosk sends a request again (same ``request_id``) when it did not get the answer: a 503 ``replication_timeout``
with ``[redis] wait_replicas``, a dropped connection, a worker that died between the issuing script and the printer.
The engine answers the stored ticket (``created`` false); whether that request prints is decided in Redis from the
ticket's print record (``print_claim.lua``), so the citizen gets exactly one paper ticket. A real fake printer (a TCP
ESC/POS server on 127.0.0.1) counts the paper; the store is a real server.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import replace

import pytest
from fake_printer import FakePrinter

from faults import wait_for
from hall_support import KIOSK_TOKEN
from kiosk_support import unused_port
from shared.config import RedisSettings
from shared.embedded import EmbeddedRedis

KIOSK = {"Authorization": f"Bearer {KIOSK_TOKEN}"}  # the registered kiosk lobby-1
PRINTED = {"status": "printed", "reason": None, "confirmed": True}
ALREADY = {"status": "skipped", "reason": "already_issued"}


@pytest.fixture
def make_app(redis_client, redis_server, hall_config, clock):
    """``make_app(port, redis_url=None, **config_changes)``: the test app printing to a network printer."""
    from onewindow import create_app

    def make(port: int, redis_url: str | None = None, **changes):
        config = replace(hall_config, printer={"backend": "network", "host": "127.0.0.1", "port": port,
                                               "timeout_seconds": 2.0}, **changes)
        return create_app({"TESTING": True, "CONFIG": config, "REDIS_URL": redis_url or redis_server.url,
                           "CLOCK": clock, "START_RELAY": False})

    return make


def post(client, request_id: str, service: str = "renshe"):
    return client.post("/api/v1/tickets", json={"service": service, "request_id": request_id, "kiosk": "lobby-1"},
                       headers=KIOSK)


def numbers_printed(printer: FakePrinter) -> Counter:
    """How many paper tickets of each number the printer received (the number is printed alone on its line)."""
    seen: Counter = Counter()
    for job in printer.jobs:
        for number in ("A001", "A002", "A003", "A004", "A005", "A006", "B001"):
            if f"{number}\n".encode() in job:
                seen[number] += 1
    return seen


def settle(client, printer: FakePrinter, expected_jobs: int) -> None:
    """A marker ticket of another service, printed and received: every job sent before it has arrived too."""
    r = post(client, "marker-ticket-0001", service="shichang")
    assert r.status_code == 201 and r.get_json()["print"] == PRINTED
    wait_for(lambda: len(printer.jobs) >= expected_jobs, 10, "the marker ticket to reach the printer")


def lost_answer(engine, request_id: str) -> dict:
    """The kiosk's request reached the issuing script, but its answer never came back to be printed (a dropped
    connection, a worker killed after the script): the ticket exists, nothing printed it."""
    return engine.issue("renshe", request_id=request_id, kiosk="lobby-1").ticket


# ------------------------------------------------------------------------------------------------ resends
def test_a_resend_after_a_lost_answer_prints_once_and_a_replay_of_the_printed_ticket_prints_nothing(
        make_app, printers, engine):
    printer = printers()
    client = make_app(printer.port).test_client()
    issued = lost_answer(engine, "tap-lost-0001")
    assert printer.jobs == []

    again = post(client, "tap-lost-0001")
    body = again.get_json()
    assert again.status_code == 200 and body["created"] is False and body["ticket"]["id"] == issued["id"]
    assert body["print"] == PRINTED  # the citizen gets the paper ticket the lost answer never printed
    assert b"A001\n" in printer.wait_job()

    once_more = post(client, "tap-lost-0001")
    assert once_more.status_code == 200 and once_more.get_json()["print"] == ALREADY
    settle(client, printer, 2)
    assert numbers_printed(printer) == {"A001": 1, "B001": 1}


def test_two_copies_of_a_resend_at_once_print_the_ticket_once(make_app, printers, engine):
    printer = printers()
    app = make_app(printer.port)
    rounds = 4
    answers: list[list[dict]] = []
    for n in range(rounds):
        request_id = f"tap-twice-{n:04d}"
        lost_answer(engine, request_id)
        barrier = threading.Barrier(2)
        got: list[dict] = []

        def resend(client=app.test_client(), request_id=request_id, barrier=barrier, got=got):
            barrier.wait()
            got.append(post(client, request_id).get_json())

        threads = [threading.Thread(target=resend), threading.Thread(target=resend)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        answers.append(got)

    for n, got in enumerate(answers):
        assert len(got) == 2 and {a["ticket"]["number"] for a in got} == {f"A{n + 1:03d}"}
        statuses = sorted(a["print"]["status"] for a in got)
        assert statuses == ["printed", "skipped"], got
        skipped = next(a["print"] for a in got if a["print"]["status"] == "skipped")
        # the other copy was printing it that moment, or had printed it already
        assert skipped["reason"] in ("printing", "already_issued")
    settle(app.test_client(), printer, rounds + 1)
    assert numbers_printed(printer) == {**{f"A{n + 1:03d}": 1 for n in range(rounds)}, "B001": 1}


def test_a_failed_print_is_printed_by_the_next_resend(make_app, printers):
    port = unused_port()  # the printer is switched off
    client = make_app(port).test_client()
    first = post(client, "tap-fail-0001")
    assert first.status_code == 201 and first.get_json()["print"] == {"status": "failed", "reason": "offline"}

    printer = printers(port)  # switched on again; the kiosk page sends the same request again
    again = post(client, "tap-fail-0001")
    body = again.get_json()
    assert again.status_code == 200 and body["created"] is False
    assert body["ticket"]["id"] == first.get_json()["ticket"]["id"]
    assert body["print"] == PRINTED
    assert b"A001\n" in printer.wait_job()

    assert post(client, "tap-fail-0001").get_json()["print"] == ALREADY
    settle(client, printer, 2)
    assert numbers_printed(printer) == {"A001": 1, "B001": 1}


def test_a_printer_out_of_paper_then_refilled_prints_on_the_resend(make_app, printers):
    printer = printers(state="paper_out")
    client = make_app(printer.port).test_client()
    first = post(client, "tap-paper-0001")
    assert first.get_json()["print"] == {"status": "failed", "reason": "paper_out"}
    assert numbers_printed(printer)["A001"] == 0

    printer.state = "ok"  # paper refilled
    again = post(client, "tap-paper-0001")
    assert again.status_code == 200 and again.get_json()["print"] == PRINTED
    wait_for(lambda: numbers_printed(printer)["A001"] == 1, 10, "the ticket to reach the printer")
    assert post(client, "tap-paper-0001").get_json()["print"] == ALREADY


# ------------------------------------------------------------------------------------------------ wait_replicas
def test_the_resend_after_a_replication_timeout_prints_the_ticket(make_app, printers, tmp_path):
    """``[redis] wait_replicas = 1`` and the replica not there yet: the issue is answered 503 ``replication_timeout``
    (the ticket exists, nothing printed); the replica catches up and the kiosk's resend gets the ticket — printed."""
    primary = EmbeddedRedis(tmp_path / "primary").start()
    replica = EmbeddedRedis(tmp_path / "replica")
    try:
        printer = printers()
        client = make_app(printer.port, redis_url=primary.url,
                          redis=RedisSettings(wait_replicas=1, wait_timeout_ms=500)).test_client()
        first = post(client, "tap-wait-0001")
        assert first.status_code == 503 and first.get_json()["error"]["code"] == "replication_timeout"
        assert printer.jobs == []  # the answer was an error: the printer was never asked

        import redis as redis_py

        replica.start()
        with redis_py.Redis(port=replica.port, decode_responses=True) as r:
            r.replicaof("127.0.0.1", primary.port)
            wait_for(lambda: r.info("replication").get("master_link_status") == "up", 30, "the replica to sync")

        again = post(client, "tap-wait-0001")
        body = again.get_json()
        assert again.status_code == 200 and body["created"] is False and body["ticket"]["number"] == "A001"
        assert body["print"] == PRINTED
        assert b"A001\n" in printer.wait_job()
        assert post(client, "tap-wait-0001").get_json()["print"] == ALREADY
        assert len(printer.jobs) == 1
    finally:
        replica.stop()
        primary.stop()


def test_a_print_whose_worker_died_is_printed_by_a_resend_once_its_lease_ends(make_app, printers, engine, clock):
    """The worker claimed the print and was killed before printing (no outcome recorded): a resend meanwhile is told
    the ticket is being printed; once the claim's lease has ended, the resend prints it."""
    from shared.print_claims import PrintClaims

    printer = printers()
    client = make_app(printer.port).test_client()
    issued = lost_answer(engine, "tap-died-0001")
    lease_ms = 15_000
    assert PrintClaims(engine).claim(issued["id"], lease_ms).claimed  # … and the worker died here

    meanwhile = post(client, "tap-died-0001")
    assert meanwhile.status_code == 200 and meanwhile.get_json()["print"] == {"status": "skipped",
                                                                             "reason": "printing"}
    clock.advance(seconds=lease_ms / 1000 + 1)
    later = post(client, "tap-died-0001")
    assert later.get_json()["print"] == PRINTED
    wait_for(lambda: numbers_printed(printer)["A001"] == 1, 10, "the ticket to reach the printer")
    assert post(client, "tap-died-0001").get_json()["print"] == ALREADY
