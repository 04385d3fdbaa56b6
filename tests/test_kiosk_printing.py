"""Issuing through the kiosk API prints the ticket: a fake network printer (a real TCP server on 127.0.0.1) gets the
bytes; a printer that is down or slow never costs the citizen the ticket or more than the timeout; faults become
events and the kiosk health endpoint follows the printer down and back up."""

from __future__ import annotations

import re
import socket
import time
from dataclasses import replace

import pytest

from hall_support import KIOSK2_TOKEN, KIOSK_TOKEN
from kiosk_support import unused_port
from kiosk.printing import printer_settings, slip_for
from kiosk.printing import ticket_bytes
from kiosk.printing.encoding import FS_CHINESE_OFF, FS_CHINESE_ON, encode_text
from shared import events

MARGIN = 3.0  # seconds allowed beyond timeout_seconds for the whole HTTP request (generous: CI shares two cores; without the deadline it would hang)
KIOSK = {"Authorization": f"Bearer {KIOSK_TOKEN}"}  # the registered kiosk lobby-1


@pytest.fixture
def app_with_printer(redis_client, redis_server, hall_config, clock):
    """``app_with_printer(port, **printer_keys)``: the test app printing to a network printer on 127.0.0.1."""
    from onewindow import create_app

    def make(port: int, **printer):
        config = replace(hall_config, printer={"backend": "network", "host": "127.0.0.1", "port": port,
                                               "timeout_seconds": 2.0, **printer})
        return create_app({"TESTING": True, "CONFIG": config, "REDIS_URL": redis_server.url, "CLOCK": clock,
                           "START_RELAY": False})

    return make


def issue(client, service="renshe", request_id="tap-print-0001", **extra):
    started = time.monotonic()
    r = client.post("/api/v1/tickets", json={"service": service, "request_id": request_id, "kiosk": "lobby-1", **extra},
                    headers=KIOSK)
    return r, time.monotonic() - started


def chinese_runs(job: bytes) -> list[str]:
    """Every FS & … FS . run of the job, decoded strictly as GB18030 (a bad byte raises)."""
    pattern = re.escape(FS_CHINESE_ON) + b"(.*?)" + re.escape(FS_CHINESE_OFF)
    return [m.group(1).decode("gb18030") for m in re.finditer(pattern, job, re.S)]


def qr_payload(job: bytes) -> str:
    """The data stored by ``GS ( k pL pH 49 80 48 d…`` (QR code: store the data in the symbol storage area)."""
    m = re.search(rb"\x1d\(k(.)(.)\x31\x50\x30", job, re.S)
    assert m, "no native QR code in the job"
    length = m.group(1)[0] + 256 * m.group(2)[0] - 3
    return job[m.end():m.end() + length].decode("ascii")


def printer_events(engine, kind: str) -> list[dict]:
    return [e.data for e in engine.events_since() if e.type == kind]


# ------------------------------------------------------------------------------------------------ printing
def test_issued_ticket_is_printed_with_correct_chinese_english_number_and_qr(app_with_printer, printers, hall_config):
    printer = printers()
    app = app_with_printer(printer.port)
    r, _ = issue(app.test_client())
    assert r.status_code == 201
    body = r.get_json()
    ticket = body["ticket"]
    assert body["print"] == {"status": "printed", "reason": None, "confirmed": True}
    job = printer.wait_job()

    # exactly the ticket's bytes went out (between the printer's status questions)
    settings = printer_settings(replace(hall_config, printer={"backend": "network", "host": "127.0.0.1",
                                                             "port": printer.port}))
    assert ticket_bytes(slip_for(ticket, hall_config), settings) in job

    # Chinese: in FS & mode, GB18030, decodes with no replacement characters
    runs = chinese_runs(job)
    text = "".join(runs)
    assert "\ufffd" not in text
    for expected in ("测试政务服务中心", "人社综合", "请到", "号窗口", "前面没有人等候", "暂无窗口办理", "扫码查看排队进度",
                     "过号请重新取号", "取号时间"):
        assert expected in runs, expected
    for line in ("请到 1、2、3、5、6 号窗口", "取号时间 Issued 2026-11-27 10:00"):
        assert encode_text(line) in job, line
    # English and the number as plain ASCII
    for english in (b"Human Resources & Social Security", b"Windows 1, 2, 3, 5, 6", b"No one ahead of you",
                    b"If you miss your call, please take a new ticket", b"A001\n"):
        assert english in job, english
    # the QR code holds the ticket's tracking URL
    assert qr_payload(job) == ticket["tracking_url"] == f"http://127.0.0.1:8000/t/{ticket['token']}"
    assert b"\x1dV" in job  # and a cut (GS V)


def test_priority_ticket_prints_the_priority_label(app_with_printer, printers):
    printer = printers()
    r, _ = issue(app_with_printer(printer.port).test_client(), priority=True)
    assert r.get_json()["ticket"]["priority"] is True
    job = printer.wait_job()
    assert "绿色通道" in chinese_runs(job) and b"Priority service" in job


def test_a_replayed_request_prints_nothing_more(app_with_printer, printers, engine):
    printer = printers()
    client = app_with_printer(printer.port).test_client()
    first, _ = issue(client)
    printer.wait_job()
    again, _ = issue(client)
    assert again.status_code == 200 and again.get_json()["created"] is False
    assert again.get_json()["ticket"]["id"] == first.get_json()["ticket"]["id"]
    # printing is decided and done before the answer: "skipped" means no second job can still be on its way
    assert again.get_json()["print"] == {"status": "skipped", "reason": "already_issued"}
    assert len(printer.jobs) == 1
    assert len([e for e in engine.events_since() if e.type == events.TICKET_ISSUED]) == 1


# ------------------------------------------------------------------------------------------------ faults
def test_printer_down_still_issues_records_the_fault_and_health_follows_it_back_up(app_with_printer, printers,
                                                                                  engine):
    port = unused_port()  # nothing listens: the printer is switched off
    client = app_with_printer(port).test_client()
    r, elapsed = issue(client)
    assert r.status_code == 201 and elapsed < 2.0 + MARGIN
    body = r.get_json()
    assert body["print"] == {"status": "failed", "reason": "offline"}
    ticket = body["ticket"]
    assert client.get(f"/api/v1/tickets/{ticket['id']}").get_json()["ticket"]["status"] == "waiting"
    # nothing technical reaches the citizen
    assert "127.0.0.1:" not in r.get_data(as_text=True).replace(ticket["tracking_url"], "")
    assert "Error" not in r.get_data(as_text=True)

    faults = printer_events(engine, events.PRINTER_FAULTED)
    assert len(faults) == 1
    assert faults[0]["kiosk"] == "lobby-1" and faults[0]["kind"] == "offline" and faults[0]["message"]
    assert faults[0]["number"] == "A001"

    # still down: the next ticket is issued too, and the ongoing fault is not announced twice
    r2, _ = issue(client, request_id="tap-print-0002")
    assert r2.status_code == 201 and r2.get_json()["print"]["status"] == "failed"
    assert len(printer_events(engine, events.PRINTER_FAULTED)) == 1

    health = client.get("/api/v1/kiosks/lobby-1/health", headers=KIOSK).get_json()
    assert health["status"] == "faulted"
    assert health["printer"]["online"] is False and health["printer"]["fault"] == "offline"
    assert health["printer"]["last_fault"]["kind"] == "offline"
    assert health["printer"]["last_print"]["number"] == "A002" and health["printer"]["last_print"]["status"] == "failed"

    printers(port)  # switched back on, same address
    health = client.get("/api/v1/kiosks/lobby-1/health", headers=KIOSK).get_json()
    assert health["status"] == "ok"
    assert health["printer"]["online"] is True and health["printer"]["paper"] == "ok"
    assert health["printer"]["fault"] is None and health["printer"]["last_fault"]["kind"] == "offline"
    recovered = printer_events(engine, events.PRINTER_RECOVERED)
    assert len(recovered) == 1 and recovered[0]["kiosk"] == "lobby-1" and recovered[0]["after"] == "offline"

    r3, _ = issue(client, request_id="tap-print-0003")
    assert r3.get_json()["print"]["status"] == "printed"
    assert len(printer_events(engine, events.PRINTER_RECOVERED)) == 1  # already known to work


def test_slow_printer_times_out_but_the_ticket_is_returned_in_time(app_with_printer, printers, engine):
    printer = printers(read=False)  # takes the connection, never reads: a big raster job cannot be sent
    client = app_with_printer(printer.port, timeout_seconds=1.0, mode="image").test_client()
    r, elapsed = issue(client)
    assert elapsed < 1.0 + MARGIN
    assert r.status_code == 201 and r.get_json()["ticket"]["number"] == "A001"
    assert r.get_json()["print"] == {"status": "failed", "reason": "timeout"}
    faults = printer_events(engine, events.PRINTER_FAULTED)
    assert [f["kind"] for f in faults] == ["timeout"] and faults[0]["kiosk"] == "lobby-1"
    health = client.get("/api/v1/kiosks/lobby-1/health", headers=KIOSK).get_json()
    assert health["status"] in ("faulted", "unknown") and health["printer"]["last_fault"]["kind"] == "timeout"


def test_printer_that_never_answers_status_prints_unconfirmed_within_the_timeout(app_with_printer, engine):
    silent = socket.socket()  # accepts (the kernel does), never reads, never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    try:
        client = app_with_printer(silent.getsockname()[1], timeout_seconds=1.0).test_client()
        r, elapsed = issue(client)
        assert elapsed < 1.0 + MARGIN and r.status_code == 201
        assert r.get_json()["print"] == {"status": "printed", "reason": None, "confirmed": False}
        assert printer_events(engine, events.PRINTER_FAULTED) == []
    finally:
        silent.close()


def test_health_of_a_kiosk_that_never_printed_reports_the_printer_and_records_nothing(app_with_printer, printers,
                                                                                     engine):
    client = app_with_printer(unused_port()).test_client()
    health = client.get("/api/v1/kiosks/lobby-2/health", headers={"Authorization": f"Bearer {KIOSK2_TOKEN}"}).get_json()
    assert health["kiosk"] == "lobby-2" and health["status"] == "faulted"
    assert health["printer"]["backend"] == "network" and health["printer"]["last_fault"] is None
    assert engine.events_since() == []
    assert client.get("/api/v1/kiosks/bad%20id!/health", headers=KIOSK).status_code == 404
    assert client.get("/api/v1/kiosks/lobby-1%0A/health", headers=KIOSK).status_code == 404  # no trailing newline
    # only that kiosk asks its printer (asking talks to the printer)
    assert client.get("/api/v1/kiosks/lobby-2/health", headers=KIOSK).status_code == 403
    assert client.get("/api/v1/kiosks/lobby-2/health").status_code == 401


def test_two_processes_seeing_one_fault_announce_it_once(redis_server, redis_client, hall_config, clock, engine):
    """Two server processes (each its own Redis client) record the same print outcomes at the same moment: each
    change between working and faulted is one event, decided in the script from the state it finds."""
    import threading

    from kiosk.printing import KioskPrinter
    from shared.engine import Engine
    from shared.printer_health import PrinterHealth
    from shared.redis_client import connect

    processes = [KioskPrinter.from_config(PrinterHealth(Engine(connect(redis_server.url), hall_config, clock)))
                 for _ in range(2)]
    rounds = 30
    barrier = threading.Barrier(len(processes))

    def observe(printing: KioskPrinter) -> None:
        for i in range(rounds):
            barrier.wait()
            if i % 2 == 0:
                printing.observe("lobby-1", fault="paper_out", message="缺纸", number=f"A{i + 1:03d}")
            else:
                printing.observe("lobby-1", number=f"A{i + 1:03d}")

    threads = [threading.Thread(target=observe, args=(p,)) for p in processes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(printer_events(engine, events.PRINTER_FAULTED)) == rounds // 2
    assert len(printer_events(engine, events.PRINTER_RECOVERED)) == rounds // 2
    health = processes[0].health("lobby-1")["printer"]
    assert health["last_fault"]["kind"] == "paper_out" and health["last_print"]["status"] == "ok"
