"""A booking checked in at the kiosk whose ticket did not print: the kiosk's 重新打印 sends the same check-in again
(same ``request_id``) and the server prints the ticket — at most once, through the same print claim as a walk-in
ticket (``print_claim.lua``, ``KioskPrinter.print_once``). Likewise a check-in whose answer was lost: the resend
prints what nobody printed. A real fake network printer counts the paper; the store is a real server."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hall_support import KIOSK_TOKEN
from reception_support import OTHER, book, booking_hall

from faults import wait_for
from kiosk_support import unused_port
from shared.checkin import check_in
from shared.engine import Engine

AUTH = {"Authorization": f"Bearer {KIOSK_TOKEN}"}  # the registered kiosk lobby-1
PRINTED = {"status": "printed", "reason": None, "confirmed": True}
ALREADY = {"status": "skipped", "reason": "already_issued"}


@pytest.fixture
def config(hall_config):
    return booking_hall(hall_config)


@pytest.fixture
def engine(redis_client, config, clock):
    return Engine(redis_client, config, clock)


@pytest.fixture
def kiosk_at(redis_client, redis_server, config, clock):
    """``kiosk_at(port)``: a test client of the registered kiosk, its tickets printed to a network printer on
    ``port``."""
    from onewindow import create_app

    def make(port: int):
        printing = replace(config, printer={"backend": "network", "host": "127.0.0.1", "port": port,
                                            "timeout_seconds": 2.0})
        app = create_app({"TESTING": True, "CONFIG": printing, "REDIS_URL": redis_server.url, "CLOCK": clock,
                          "START_RELAY": False})
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = AUTH["Authorization"]
        return client

    return make


def check_in_by_code(client, code: str, request_id: str):
    return client.post("/api/v1/check-ins", json={"code": code, "request_id": request_id, "kiosk": "lobby-1"})


def paper_tickets(printer, number: str) -> int:
    return sum(1 for job in printer.jobs if f"{number}\n".encode() in job)


def printed_of(body: dict) -> list[dict]:
    return [{k: v for k, v in p.items() if k != "ticket"} for p in body["print"]]


def test_a_failed_check_in_print_is_printed_by_the_resend_once(kiosk_at, printers, engine):
    booked = book(engine, OTHER, "2026-11-27T10:30")
    port = unused_port()  # the printer is switched off
    client = kiosk_at(port)
    first = check_in_by_code(client, booked["code"], "ci-fail-0001")
    assert first.status_code == 201, first.get_json()
    [ticket] = first.get_json()["tickets"]
    assert printed_of(first.get_json()) == [{"status": "failed", "reason": "offline"}]

    printer = printers(port)  # switched on again; the citizen taps 重新打印: the same check-in again
    again = check_in_by_code(client, booked["code"], "ci-fail-0001")
    body = again.get_json()
    assert again.status_code == 200 and body["created"] is False, body
    assert [t["id"] for t in body["tickets"]] == [ticket["id"]]
    assert body["print"] == [{"ticket": ticket["id"], **PRINTED}]
    wait_for(lambda: paper_tickets(printer, ticket["number"]) == 1, 10, "the ticket to reach the printer")

    once_more = check_in_by_code(client, booked["code"], "ci-fail-0001").get_json()
    assert once_more["print"] == [{"ticket": ticket["id"], **ALREADY}]  # printed at most once
    assert paper_tickets(printer, ticket["number"]) == 1


def test_a_check_in_whose_answer_was_lost_is_printed_by_the_resend_once(kiosk_at, printers, engine):
    booked = book(engine, OTHER, "2026-11-27T10:30")
    # the check-in reached the core, its answer never came back to be printed (a dropped connection, a dead worker)
    [ticket] = check_in(engine, code=booked["code"], kiosk="lobby-1", request_id="ci-lost-0001")["tickets"]
    printer = printers()
    client = kiosk_at(printer.port)
    again = check_in_by_code(client, booked["code"], "ci-lost-0001").get_json()
    assert [t["id"] for t in again["tickets"]] == [ticket["id"]] and again["created"] is False
    assert again["print"] == [{"ticket": ticket["id"], **PRINTED}]
    wait_for(lambda: paper_tickets(printer, ticket["number"]) == 1, 10, "the ticket to reach the printer")
    assert check_in_by_code(client, booked["code"], "ci-lost-0001").get_json()["print"] == [
        {"ticket": ticket["id"], **ALREADY}]
    assert paper_tickets(printer, ticket["number"]) == 1
