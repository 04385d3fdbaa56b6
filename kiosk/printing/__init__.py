"""Ticket printing for the kiosk. No Flask in here. The rooms:

* ``ticket`` — what a ticket says (:class:`TicketSlip`) and its words;
* ``encoding``, ``layout`` — the exact ESC/POS bytes (text mode, or one raster image); ``render`` — that image;
* ``settings`` — ``[printer]`` validated (:class:`PrinterSettings`);
* ``printer`` — the interface every backend implements, :class:`PrinterFault`, status and the hard deadline;
* ``backends`` — network, usb, serial, file and preview, and :func:`make_printer`;
* ``kiosk_printer`` — the kiosk's printer in the server: print each ticket once (a resent request prints a ticket
  nobody printed), record the printer's health.

Typical use::

    settings = PrinterSettings.from_mapping(config.printer, base_dir)
    printer = make_printer(settings)          # once, at start-up
    result = printer.print_slip(slip)         # raises PrinterFault; never blocks past timeout_seconds
"""

from __future__ import annotations

from .backends import make_printer
from .kiosk_printer import NO_KIOSK, PRINTING_ELSEWHERE, REPLAYED, KioskPrinter, PrintOutcome, printer_settings, slip_for
from .layout import ticket_bytes
from .printer import Printer, PrinterFault, PrinterStatus, PrintResult
from .render import render_png
from .settings import PrinterSettings
from .ticket import TicketSlip

__all__ = [
    "NO_KIOSK", "PRINTING_ELSEWHERE", "REPLAYED", "KioskPrinter", "PrintOutcome", "Printer", "PrinterFault", "PrinterSettings",
    "PrinterStatus", "PrintResult", "TicketSlip", "make_printer", "print_sample", "printer_settings", "render_png",
    "slip_for", "ticket_bytes",
]


def print_sample(settings: PrinterSettings) -> PrintResult:
    """Print :meth:`TicketSlip.sample` on the configured printer (a test print)."""
    return make_printer(settings).print_slip(TicketSlip.sample())
