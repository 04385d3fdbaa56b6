"""The kiosk's real-name and check-in API (issue 14): who is this card, today's bookings and remote tickets, a
real-name ticket, check-in by card / typed number / booking code (on time → appointment band, late → walk-in),
a remote ticket activated on arrival; only registered kiosks, exactly once, limited, bad input a 4xx that changes
nothing, and the ID number in no answer and no log line."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from hall_support import KIOSK2_TOKEN, KIOSK_TOKEN, state_fingerprint
from reception_support import ADULT, OTHER, SENIOR, book, booking_hall, with_remote, with_rules

from faults import wait_for
from kiosk_support import unused_port
from shared import remote
from shared.checkin import check_in
from shared.engine import Engine
from shared.identity import identify

AUTH = {"Authorization": f"Bearer {KIOSK_TOKEN}"}
CARD = {"name": "王秀英", "id_number": SENIOR, "birth_date": "1956-11-27", "sex": "女", "nation": "汉"}


def wrong_check_digit(number: str) -> str:
    last = number[-1]
    return number[:-1] + ("0" if last != "0" else "1")


@pytest.fixture
def config(hall_config):
    cfg = with_rules(booking_hall(hall_config), max_open=1, green_age=60)
    return with_remote(cfg)


@pytest.fixture
def engine(redis_client, config, clock):
    return Engine(redis_client, config, clock)


@pytest.fixture
def app(redis_client, redis_server, config, clock):
    from onewindow import create_app

    return create_app({"TESTING": True, "CONFIG": config, "REDIS_URL": redis_server.url, "CLOCK": clock,
                       "START_RELAY": False})


@pytest.fixture
def kiosk(app):
    c = app.test_client()
    c.environ_base["HTTP_AUTHORIZATION"] = AUTH["Authorization"]
    return c


def test_identify_shows_the_masked_person_with_todays_bookings_and_remote_tickets(kiosk, engine):
    booked = book(engine, SENIOR, "2026-11-27T10:30")
    taken = remote.take(engine, "renshe", identify(engine.config, ADULT, today=engine.clock.business_date())).ticket
    r = kiosk.post("/api/v1/kiosk/identify", json={"card": CARD})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["person"] == {"masked": SENIOR[:4] + "*" * 10 + SENIOR[-4:], "name": "王**", "birth_year": 1956,
                              "source": "card"}
    assert body["green"] == ["renshe"] and body["remote"] == []
    [b] = body["bookings"]
    assert (b["id"], b["slot"], b["state"], b["service_name"]) == (booked["id"], "10:30", "confirmed", "人社综合")
    assert "code" not in b and "qr" not in b
    typed = kiosk.post("/api/v1/kiosk/identify", json={"id_number": ADULT[:6] + " " + ADULT[6:].lower()}).get_json()
    assert typed["bookings"] == [] and typed["green"] == []
    assert [t["id"] for t in typed["remote"]] == [taken["id"]] and "token" not in typed["remote"][0]
    for answer in (r.get_data(as_text=True), str(typed)):
        assert SENIOR not in answer and ADULT not in answer and SENIOR[:14] not in answer


def test_bad_input_is_a_4xx_with_a_code_and_changes_nothing(app, kiosk, redis_client):
    before = state_fingerprint(redis_client)
    cases = [
        ({"id_number": wrong_check_digit(ADULT)}, 400, "id_check_digit"),
        ({"id_number": "12345"}, 400, "id_format"),
        ({"card": {**CARD, "birth_date": "1956-11-28"}}, 400, "card_mismatch"),
        ({"card": {**CARD, "photo": "…"}}, 400, "invalid_card"),
        ({"card": CARD, "id_number": ADULT}, 400, "invalid_request"),
        ({"card": "340404"}, 400, "wrong_type"),
        ({}, 400, "missing_field"),
        ({"kiosk": "lobby-2", "card": CARD}, 403, "wrong_kiosk"),
    ]
    for body, status, code in cases:
        r = kiosk.post("/api/v1/kiosk/identify", json=body)
        assert (r.status_code, r.get_json()["error"]["code"]) == (status, code), body
        assert wrong_check_digit(ADULT) not in r.get_data(as_text=True)
    for body, status, code in [({"id_number": wrong_check_digit(ADULT)}, 400, "id_check_digit"),
                               ({"code": "ABCD-EFGH"}, 404, "not_found"), ({}, 400, "invalid_request"),
                               ({"code": "ABCDEFGH", "card": CARD}, 400, "invalid_request")]:
        r = kiosk.post("/api/v1/check-ins", json=body)
        assert (r.status_code, r.get_json()["error"]["code"]) == (status, code), body
    r = kiosk.post("/api/v1/tickets", json={"service": "renshe", "id_number": wrong_check_digit(ADULT)})
    assert (r.status_code, r.get_json()["error"]["code"]) == (400, "id_check_digit")
    anonymous = app.test_client()
    for path in ("/api/v1/kiosk/identify", "/api/v1/check-ins"):
        r = anonymous.post(path, json={"id_number": ADULT})
        assert (r.status_code, r.get_json()["error"]["code"]) == (401, "device_required")
    r = anonymous.post("/api/v1/tickets", json={"service": "renshe", "id_number": ADULT})
    assert (r.status_code, r.get_json()["error"]["code"]) == (403, "kiosk_required")
    assert state_fingerprint(redis_client) == before


def test_a_real_name_ticket_then_a_second_for_the_same_service_is_refused_in_both_languages(kiosk):
    r = kiosk.post("/api/v1/tickets", json={"service": "renshe", "id_number": ADULT, "request_id": "rn-000001"})
    assert r.status_code == 201, r.get_json()
    ticket = r.get_json()["ticket"]
    assert ticket["realname"] and not ticket["priority"] and r.get_json()["print"]["status"] == "preview"
    again = kiosk.post("/api/v1/tickets", json={"service": "renshe", "id_number": ADULT, "request_id": "rn-000001"})
    assert again.status_code == 200 and again.get_json()["ticket"]["id"] == ticket["id"]  # a resend: the same one
    r = kiosk.post("/api/v1/tickets", json={"service": "renshe", "card": {"id_number": ADULT, "name": "李明"},
                                            "request_id": "rn-000002"})
    assert r.status_code == 409
    err = r.get_json()["error"]
    assert err["code"] == "id_open_limit"
    assert err["details"]["message_zh"] == "您在人社综合已有 1 个未办结的号，办结后才能再取。"
    assert "Human Resources & Social Security" in err["details"]["message_en"]
    other = kiosk.post("/api/v1/tickets", json={"service": "shichang", "id_number": ADULT}).get_json()["ticket"]
    assert other["realname"]  # another service is another count
    senior = kiosk.post("/api/v1/tickets", json={"service": "renshe", "card": CARD}).get_json()["ticket"]
    assert senior["priority"] and senior["green"] == "age"  # 60+ (green_age = 60 here): 绿色通道 without asking


def test_check_in_by_code_on_time_prints_once_and_a_resend_is_the_same_answer(kiosk, engine):
    booked = book(engine, OTHER, "2026-11-27T10:30")
    headers = {"Idempotency-Key": "kiosk-checkin-0001"}
    r = kiosk.post("/api/v1/check-ins", json={"code": booked["code"]}, headers=headers)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    [ticket] = body["tickets"]
    assert (ticket["appointment"], ticket["slot"], ticket["booking"]) == (True, "10:30", booked["id"])
    assert ticket["tracking_url"].endswith("/t/" + ticket["token"])
    assert body["items"][0]["outcome"] == "checked_in" and body["created"] is True
    assert body["print"] == [{"ticket": ticket["id"], "status": "preview", "reason": None, "confirmed": True}]
    replay = kiosk.post("/api/v1/check-ins", json={"code": booked["code"]}, headers=headers)
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json()["tickets"][0]["id"] == ticket["id"] and replay.get_json()["created"] is False
    assert replay.get_json()["print"][0]["status"] == "skipped"  # printed once
    again = kiosk.post("/api/v1/check-ins", json={"code": booked["code"]}).get_json()  # a new tap: reprint
    assert again["items"][0]["outcome"] == "already" and again["tickets"][0]["id"] == ticket["id"]


def test_check_in_late_by_card_becomes_a_walk_in_and_too_early_is_refused(kiosk, engine, clock):
    book(engine, ADULT, "2026-11-27T11:00")
    r = kiosk.post("/api/v1/check-ins", json={"id_number": ADULT, "request_id": "ci-early-01"})
    assert r.status_code == 409
    err = r.get_json()["error"]
    assert err["code"] == "too_early" and "10:30起可签到" in err["details"]["message_zh"]
    clock.advance(minutes=80)  # 11:20: the window closed at 11:15
    r = kiosk.post("/api/v1/check-ins", json={"card": {"id_number": ADULT, "name": "李明"}, "request_id": "ci-late-01"})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["items"][0]["outcome"] == "walk_in" and not body["tickets"][0]["appointment"]


def test_a_remote_ticket_is_activated_by_the_card_on_arrival(kiosk, engine):
    me = identify(engine.config, ADULT, today=engine.clock.business_date())
    taken = remote.take(engine, "renshe", me).ticket
    assert taken["arrived"] is False
    r = kiosk.post("/api/v1/check-ins", json={"id_number": ADULT, "request_id": "ci-remote-1"})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["items"][0]["outcome"] == "activated"
    [ticket] = body["tickets"]
    assert ticket["id"] == taken["id"] and ticket["arrived"] is True and body["print"][0]["status"] == "preview"
    assert kiosk.post("/api/v1/kiosk/identify", json={"id_number": ADULT}).get_json()["remote"] == []


def test_look_ups_of_one_kiosk_are_limited_per_device(app, kiosk):
    statuses = [kiosk.post("/api/v1/kiosk/identify", json={"id_number": OTHER}).status_code for _ in range(21)]
    assert statuses[:20] == [200] * 20 and statuses[20] == 429
    r = kiosk.post("/api/v1/check-ins", json={"code": "ABCD-EFGH"})
    assert r.status_code == 429 and r.get_json()["error"]["details"]["message_zh"].startswith("查询太频繁")
    other = app.test_client()
    other.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {KIOSK2_TOKEN}"
    assert other.post("/api/v1/kiosk/identify", json={"id_number": OTHER}).status_code == 200


def test_the_id_number_reaches_no_log_line(kiosk, engine, caplog):
    book(engine, SENIOR, "2026-11-27T10:30")
    with caplog.at_level(logging.DEBUG):
        kiosk.post("/api/v1/kiosk/identify", json={"card": CARD})
        kiosk.post("/api/v1/check-ins", json={"card": CARD})
        kiosk.post("/api/v1/tickets", json={"service": "shichang", "id_number": ADULT})
        kiosk.post("/api/v1/tickets", json={"service": "shichang", "id_number": wrong_check_digit(OTHER)})
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "check-in at lobby-1" in text  # the log was recorded …
    for number in (SENIOR, ADULT, wrong_check_digit(OTHER)):  # … and holds no number
        assert number[:14] not in text


# ------------------------------------------------------------------------------------------------ 重新打印 after a check-in
# A booking checked in whose ticket did not print: the kiosk's 重新打印 sends the same check-in again (same
# ``request_id``) and the ticket prints — at most once, through the same print claim as a walk-in ticket
# (``print_claim.lua``, ``KioskPrinter.print_once``); likewise the resend of a check-in whose answer was lost.
PRINTED = {"status": "printed", "reason": None, "confirmed": True}
ALREADY = {"status": "skipped", "reason": "already_issued"}


@pytest.fixture
def kiosk_at(redis_client, redis_server, config, clock):
    """``kiosk_at(port)``: a test client of the registered kiosk, its tickets printed to a network printer on
    ``port`` (a fake one counts the paper)."""
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
