"""Ticket printing for the kiosk: ESC/POS bytes, preview images and printer backends. No Flask in here.

Typical use::

    settings = PrinterSettings.from_mapping(config.printer, base_dir)
    printer = make_printer(settings)          # once, at start-up
    result = printer.print_slip(slip)         # raises PrinterFault; never blocks past timeout_seconds
"""

from __future__ import annotations

from .backends import Printer, make_printer
from .errors import PrinterFault
from .layout import ticket_bytes
from .render import render_png
from .settings import PrinterSettings
from .slip import TicketSlip
from .status import PrinterStatus, PrintResult

__all__ = [
    "Printer", "PrinterFault", "PrinterSettings", "PrinterStatus", "PrintResult", "TicketSlip",
    "make_printer", "print_sample", "render_png", "ticket_bytes",
]


def print_sample(settings: PrinterSettings) -> PrintResult:
    """Print :meth:`TicketSlip.sample` on the configured printer (a test print)."""
    return make_printer(settings).print_slip(TicketSlip.sample())
