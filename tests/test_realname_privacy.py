"""Grep-proof privacy: a scripted day of real-name service — ID cards read through the (simulated) reader agent,
numbers typed (and mistyped), bookings made, confirmed, cancelled and missed, check-ins by card and by code, real-name
and remote tickets issued, called, finished, marked no-show, rated, notified through the webhook, tickets printed —
and then no ID number, nor its run of digits, is anywhere: not in Redis (any key or value, nor its append-only
file), the event stream, the statistics archive, the outboxes, what the webhook received, the log records, or the
bytes sent to the printer."""

from __future__ import annotations

import json
import logging
import sqlite3
import urllib.request
from datetime import date, datetime

import pytest
from fake_printer import FakePrinter
from fake_webhook import FakeWebhook
from reception_support import booking_hall, everything_in_redis, make_number, with_notifications, with_remote, \
    with_rules

from kiosk.printing import PrinterSettings, make_printer, slip_for, ticket_bytes
from shared import bookings, ratings, remote
from shared.cardreader import CARD_PATH, identify_card
from shared.cardreader_sim import SimulatedReader
from shared.checkin import check_in
from shared.clock import Clock
from shared.engine import Engine
from shared.errors import OneWindowError, ValidationError
from shared.haocaiping import rating_outbox
from shared.identity import identify
from shared.logs import JsonFormatter
from shared.notify import notification_outbox, notification_sender, notify_ahead
from shared.stats import Archive, archive_closed_days

HALL = "http://127.0.0.1:8000"
WED, FRI, SAT = date(2026, 11, 25), date(2026, 11, 27), date(2026, 11, 28)

#: the people of the day (made-up numbers); the senior's number ends in X
PEOPLE = {
    "booker": make_number("340404", date(1984, 7, 9), 611),
    "missed": make_number("340403", date(1979, 3, 30), 622),
    "canceller": make_number("340402", date(1992, 12, 1), 633),
    "walk_in": make_number("340421", date(1966, 8, 8), 644),
    "remote": make_number("340422", date(2001, 5, 17), 655),
    "lapsed": make_number("340406", date(1999, 9, 9), 666),
}
SENIOR = next(n for n in (make_number("340404", date(1950, 2, 14), s) for s in range(700, 800)) if n.endswith("X"))
PEOPLE["senior"] = SENIOR


def at(clock, day: date, hhmm: str) -> None:
    clock.set(datetime.combine(day, datetime.strptime(hhmm, "%H:%M").time(), tzinfo=clock.tz))


def test_no_id_number_anywhere_after_a_day_of_real_name_service(redis_server, redis_client, hall_config, clock,
                                                                 tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    hook = FakeWebhook(7, {"error": 0.2, "sent_error": 0.1}).start()
    printer = FakePrinter()
    reader = SimulatedReader(origins=[HALL]).start()
    config = with_rules(with_remote(booking_hall(hall_config, capacity=5)), max_open=1, green_age=70,
                        noshow_limit=3)
    config = with_notifications(config, url=hook.url, ahead=5, timeout_seconds=0.25, backoff_seconds=0.005,
                                max_backoff_seconds=0.02, poll_seconds=0.02, max_attempts=1000)
    engine = Engine(redis_client, config, clock)
    printed: list[bytes] = []
    last_seq = [0]

    def card(who: str, name: str, today: date):
        """The kiosk page's way: the card goes on the reader, the page polls the agent, the read goes to the server."""
        last_seq[0] = reader.place(PEOPLE[who], name=name)
        with urllib.request.urlopen(f"{reader.url}{CARD_PATH}?after={last_seq[0] - 1}&wait=10") as r:
            read = json.loads(r.read())
        return identify_card(config, read["card"], today=today)

    def typed(who: str, today: date, *, spaced: bool = False):
        n = PEOPLE[who]
        return identify(config, f"{n[:6]} {n[6:14]} {n[14:].lower()}" if spaced else n, today=today)

    def print_ticket(ticket: dict) -> None:
        ticket = {**ticket, "tracking_url": f"{HALL}/t/{ticket['token']}"}
        slip = slip_for(ticket, config)
        for mode in ("text", "image"):
            printed.append(ticket_bytes(slip, PrinterSettings(mode=mode)))
        make_printer(PrinterSettings(backend="network", host="127.0.0.1", port=printer.port)).print_slip(slip)
        printed.append(printer.wait_job())

    try:
        # Wednesday: bookings from the phone (typed numbers), one mistyped first
        at(clock, WED, "19:30")
        wrong = PEOPLE["booker"][:10] + str((int(PEOPLE["booker"][10]) + 1) % 10) + PEOPLE["booker"][11:]
        with pytest.raises(ValidationError) as err:
            identify(config, wrong, today=WED)
        logging.getLogger("test.kiosk").warning("refused: %s", err.value.to_dict())  # what an edge would log
        codes = {}
        for who, start in (("booker", "2026-11-27T10:00"), ("missed", "2026-11-27T10:00"),
                           ("canceller", "2026-11-27T11:00")):
            held = bookings.hold(engine, "renshe", start, typed(who, WED, spaced=True), phone="13812345678")
            codes[who] = bookings.confirm(engine, held["code"])["code"]
        bookings.hold(engine, "renshe", "2026-11-27T11:30", typed("walk_in", WED))  # a hold never confirmed
        bookings.cancel(engine, codes["canceller"])
        # Friday at the kiosk: cards and codes
        at(clock, FRI, "09:40")
        for t in check_in(engine, identity=card("booker", "李明", FRI), kiosk="lobby-1")["tickets"]:
            print_ticket(t)
        senior = engine.issue("renshe", identity=card("senior", "王秀英", FRI), kiosk="lobby-1").ticket
        assert senior["green"] == "age"
        print_ticket(senior)
        walk_in = engine.issue("renshe", identity=card("walk_in", "赵刚", FRI), kiosk="lobby-1").ticket
        print_ticket(walk_in)
        with pytest.raises(OneWindowError):  # a second ticket for the same ID
            engine.issue("renshe", identity=card("walk_in", "赵刚", FRI), kiosk="lobby-2")
        far = remote.take(engine, "renshe", typed("remote", FRI), phone="13900001111").ticket
        remote.take(engine, "renshe", typed("lapsed", FRI), openid="oWx-abcdef123")
        print_ticket(check_in(engine, code=f"{HALL}/t/{far['token']}")["tickets"][0])
        with pytest.raises(OneWindowError):
            check_in(engine, identity=card("canceller", "孙丽", FRI))
        notify_ahead(engine)
        # the windows work
        at(clock, FRI, "10:01")
        served = []
        for window in (1, 2, 5, 6):
            served.append(engine.call_next(window))
        engine.finish(1, "handled")
        engine.no_show(2)
        engine.finish(5, "consulted")
        ratings.rate(engine, 1, served[0]["id"], 5)
        at(clock, FRI, "10:20")
        assert bookings.sweep(engine).missed == 1
        for window in (1, 2, 5):
            try:
                engine.call_next(window)
            except OneWindowError:
                pass
        sender = notification_sender(engine, clock=Clock(config.timezone))  # driven by step() here: no thread of its own
        try:
            outbox = notification_outbox(engine)
            deadline = datetime.now().timestamp() + 120
            while outbox.counts()["pending"] and datetime.now().timestamp() < deadline:
                sender.step(0.05)
        finally:
            sender.stop()
        assert outbox.counts()["pending"] == 0 and len(hook.sent) >= 5
        # the day closes and goes to the archive
        at(clock, SAT, "08:00")
        archive = Archive(tmp_path / "stats.sqlite3")
        assert "2026-11-27" in archive_closed_days(engine, archive, trim=False).archived
    finally:
        hook.stop()
        printer.stop()
        reader.stop()

    # everything the hall kept or sent
    redis_text = everything_in_redis(redis_client)
    stream = json.dumps([f for _i, f in redis_client.xrange(engine.keys.events)], ensure_ascii=False)
    with sqlite3.connect(tmp_path / "stats.sqlite3") as conn:
        archived = "\n".join(conn.iterdump())
    outboxes = json.dumps([e.view() for box in (notification_outbox(engine), rating_outbox(engine))
                           for state in ("pending", "sent", "failed") for e in box.list(state, 10000)],
                          ensure_ascii=False)
    webhook = json.dumps(hook.requests, ensure_ascii=False)
    formatter = JsonFormatter(config.timezone)
    logs = "\n".join(formatter.format(r) + repr(r.args) for r in caplog.records)
    aof = b"".join(p.read_bytes() for p in redis_server.data_dir.rglob("*") if p.is_file())
    tickets = b"".join(printed)

    # (the haystacks hold the day: the checks below mean something)
    assert redis_text.count("idh") >= 3 and len(stream) > 5000 and "realname" in archived
    assert '"kind": "called"' in outboxes or '"kind":"called"' in outboxes.replace(" ", "")
    assert "booking BK" in logs and b"A00" in tickets and len(aof) > 10000
    assert engine.redis.hget(engine.keys.bookings, "BK0000001") and "3404**********" in redis_text
    for who, number in PEOPLE.items():
        for needle in {number, number[:17], number[:14], number.lower()}:
            for name, haystack in (("redis", redis_text), ("event stream", stream), ("archive", archived),
                                   ("outbox", outboxes), ("webhook", webhook), ("logs", logs)):
                assert needle not in haystack, f"{who}'s ID number in the {name}"
            for name, data in (("printed tickets", tickets), ("append-only file", aof)):
                assert needle.encode() not in data, f"{who}'s ID number in the {name}"
