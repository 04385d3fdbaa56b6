"""The network backend against a fake Epson-style printer: a real TCP server on 127.0.0.1."""

from __future__ import annotations

import socket
import time
from dataclasses import replace

import pytest
from fake_printer import FakePrinter

from kiosk.printing import PrinterFault, PrinterSettings, TicketSlip, make_printer, ticket_bytes

Q1, Q2, Q4 = b"\x10\x04\x01", b"\x10\x04\x02", b"\x10\x04\x04"  # DLE EOT n: printer / offline cause / paper

MARGIN = 3.0  # seconds allowed beyond timeout_seconds: generous (CI shares two cores); without the deadline these hang forever


@pytest.fixture
def fake():
    printers: list[FakePrinter] = []

    def start(*args, **kwargs) -> FakePrinter:
        printer = FakePrinter(*args, **kwargs)
        printers.append(printer)
        return printer

    yield start
    for printer in printers:
        printer.stop()


def settings_for(port: int, **kw) -> PrinterSettings:
    return PrinterSettings(backend="network", host="127.0.0.1", port=port, timeout_seconds=kw.pop("timeout", 2.0), **kw)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_prints_exactly_the_ticket_bytes_between_status_queries(fake):
    printer = fake()
    settings = settings_for(printer.port)
    result = make_printer(settings).print_slip(TicketSlip.sample())
    expected = ticket_bytes(TicketSlip.sample(), settings)
    # status before (refuse to print into a stopped printer), the ticket, status after (proves receipt)
    assert printer.wait_job() == Q1 + Q4 + expected + Q1 + Q4
    assert result.confirmed is True
    assert (result.status.online, result.status.paper) == (True, "ok")
    assert result.bytes_sent == len(expected)
    assert result.backend == f"127.0.0.1:{printer.port}" and result.number == "A012"


def test_image_mode_sends_the_raster_ticket(fake):
    printer = fake()
    settings = settings_for(printer.port, mode="image")
    result = make_printer(settings).print_slip(TicketSlip.sample())
    expected = ticket_bytes(TicketSlip.sample(), settings)
    job = printer.wait_job()
    assert job.startswith(Q1 + Q4) and job.endswith(Q1 + Q4)
    assert job[len(Q1 + Q4):-len(Q1 + Q4)] == expected
    assert result.confirmed is True and result.bytes_sent == len(expected) > 50_000


def test_printer_not_listening_is_offline_at_once():
    settings = settings_for(free_port(), timeout=20.0)
    started = time.monotonic()
    with pytest.raises(PrinterFault) as info:
        make_printer(settings).print_slip(TicketSlip.sample())
    assert info.value.kind == "offline"
    assert info.value.status == 503 and info.value.code == "printer_fault"
    assert time.monotonic() - started < MARGIN  # refused at once, not after the 20 s timeout


def test_printer_that_never_answers_the_connection_is_offline_within_the_deadline():
    # a listener whose accept queue is full drops further SYNs: the connection attempt hangs (like a host gone)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        queued = [socket.create_connection(("127.0.0.1", port), timeout=1.0)]
        settings = settings_for(port, timeout=1.0)
        started = time.monotonic()
        with pytest.raises(PrinterFault) as info:
            make_printer(settings).print_slip(TicketSlip.sample())
        assert info.value.kind == "offline"
        assert time.monotonic() - started < 1.0 + MARGIN
        status = make_printer(settings).status()
        assert status.online is False
        for conn in queued:
            conn.close()


def test_printer_that_never_reads_times_out_within_the_deadline(fake):
    printer = fake(read=False)
    settings = settings_for(printer.port, timeout=1.0, mode="image")  # ~80 KB: more than the socket buffers hold
    started = time.monotonic()
    with pytest.raises(PrinterFault) as info:
        make_printer(settings).print_slip(TicketSlip.sample())
    elapsed = time.monotonic() - started
    assert info.value.kind == "timeout"
    assert elapsed < 1.0 + MARGIN


def test_small_job_to_a_printer_that_never_reads_is_reported_unconfirmed_in_time(fake):
    printer = fake(read=False)
    settings = settings_for(printer.port, timeout=1.0)
    started = time.monotonic()
    result = make_printer(settings).print_slip(TicketSlip.sample())
    assert time.monotonic() - started < 1.0 + MARGIN
    assert result.confirmed is False
    assert result.status.online is None and result.status.paper == "unknown"


def test_printer_that_reads_but_never_answers_status_is_unconfirmed(fake):
    printer = fake(answer=False)
    settings = settings_for(printer.port, timeout=1.0)
    started = time.monotonic()
    result = make_printer(settings).print_slip(TicketSlip.sample())
    assert time.monotonic() - started < 1.0 + MARGIN
    assert result.confirmed is False
    assert result.status.online is None and "did not answer" in result.status.detail
    # after one unanswered question no more are asked: a late reply would be taken for the next answer
    assert printer.wait_job() == Q1 + ticket_bytes(TicketSlip.sample(), settings)


def test_paper_out_before_printing_sends_nothing(fake):
    printer = fake("paper_out")
    with pytest.raises(PrinterFault) as info:
        make_printer(settings_for(printer.port)).print_slip(TicketSlip.sample())
    assert info.value.kind == "paper_out"
    assert info.value.details["sent"] is False
    assert printer.wait_job() == Q1 + Q4 + Q2  # only questions, no ticket


def test_paper_running_out_during_the_ticket_is_a_fault(fake):
    printer = fake(paper_out_after=100)
    with pytest.raises(PrinterFault) as info:
        make_printer(settings_for(printer.port)).print_slip(TicketSlip.sample())
    assert info.value.kind == "paper_out"
    assert info.value.details["sent"] is True


def test_cover_open_is_reported(fake):
    printer = fake("cover_open")
    with pytest.raises(PrinterFault) as info:
        make_printer(settings_for(printer.port)).print_slip(TicketSlip.sample())
    assert info.value.kind == "cover_open"


def test_paper_low_still_prints_and_says_so(fake):
    printer = fake("paper_low")
    result = make_printer(settings_for(printer.port)).print_slip(TicketSlip.sample())
    assert result.confirmed is True
    assert result.status.paper == "low"


def test_status_follows_the_printer_and_recovers(fake):
    printer = fake()
    port = printer.port
    device = make_printer(settings_for(port, timeout=1.0))
    status = device.status()
    assert (status.online, status.paper) == (True, "ok")

    printer.state = "paper_out"
    status = device.status()
    assert (status.online, status.paper) == (False, "out")

    printer.state = "cover_open"
    status = device.status()
    assert (status.online, status.cover_open) == (False, True)

    printer.stop()
    started = time.monotonic()
    status = device.status()
    assert status.online is False and status.paper == "unknown"
    assert time.monotonic() - started < 1.0 + MARGIN

    fake(port=port)  # the printer is back on the same address
    status = device.status()
    assert (status.online, status.paper) == (True, "ok")
    assert device.print_slip(TicketSlip.sample()).confirmed is True


def test_status_of_a_silent_printer_is_unknown_within_the_timeout(fake):
    printer = fake(answer=False)
    started = time.monotonic()
    status = make_printer(settings_for(printer.port, timeout=1.0)).status()
    assert time.monotonic() - started < 1.0 + MARGIN
    assert status.online is None and status.paper == "unknown"


def test_a_job_stuck_past_its_deadline_does_not_interleave_with_the_next(fake):
    printer = fake(read=False)
    device = make_printer(settings_for(printer.port, timeout=0.6, mode="image"))
    with pytest.raises(PrinterFault):
        device.print_slip(TicketSlip.sample())
    # the worker was unblocked by the abort: the next job gets the device again, and fails the same quick way
    started = time.monotonic()
    with pytest.raises(PrinterFault) as info:
        device.print_slip(replace(TicketSlip.sample(), number="A013"))
    assert info.value.kind == "timeout"
    assert time.monotonic() - started < 0.6 + MARGIN
