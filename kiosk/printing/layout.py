"""The exact ESC/POS bytes of a ticket, text mode (printer fonts) or image mode (one raster image).

python-escpos' :class:`~escpos.printer.Dummy` writes the commands (init, alignment, ``GS !`` sizes, ``GS ( k``
QR codes, ``GS v 0`` rasters, cut); the text itself goes through :func:`encoding.encode_text`.
"""

from __future__ import annotations

from escpos.constants import QR_ECLEVEL_M
from escpos.printer import Dummy
from PIL import Image

from . import ticket
from .encoding import display_width, encode_text, wrap
from .render import qr_image, render_image
from .settings import PrinterSettings
from .ticket import TicketSlip

NUMBER_MAX_SCALE = 6  # GS ! 0x55: 6x wide, 6x high — "A012" is 24 columns, 144 dots (18 mm) tall
QR_MODULE = {58: 5, 80: 6}  # dots per QR module


class _Writer:
    """A Dummy printer plus our own line encoding and wrapping."""

    def __init__(self, settings: PrinterSettings) -> None:
        self.settings = settings
        self.p = Dummy(profile=settings.profile)
        self.columns = settings.columns

    def size(self, width: int = 1, height: int = 1) -> None:
        """``GS ! n``: scales ASCII and Chinese alike (``ESC !`` would leave Chinese characters small)."""
        self.p.set(custom_size=True, width=width, height=height)

    def line(self, text: str, width: int = 1) -> None:
        """One or more lines, wrapped to the columns left at character width ``width``."""
        for part in wrap(text, self.columns // width):
            self.p._raw(encode_text(part) + b"\n")

    def blank(self) -> None:
        self.p._raw(b"\n")

    def rule(self) -> None:
        self.p._raw(b"-" * self.columns + b"\n")

    def big(self, text: str, width: int, height: int, *, bold: bool = True) -> None:
        self.p.set(bold=bold)
        self.size(width, height)
        self.line(text, width)
        self.size()
        self.p.set(bold=False)

    def qr(self, content: str) -> None:
        box = QR_MODULE[self.settings.paper_width_mm]
        if self.settings.qr == "native":
            self.p.qr(content, ec=QR_ECLEVEL_M, size=box, native=True)
        else:
            self.raster(qr_image(content, box), margin=4 * box)

    def raster(self, img: Image.Image, margin: int = 0) -> None:
        """A ``GS v 0`` raster centred on a strip as wide as the paper (python-escpos would centre it on the
        profile's width, which is wrong for 58 mm paper in an 80 mm printer profile)."""
        strip = Image.new("1", (self.settings.paper_dots, img.height + 2 * margin), 1)
        strip.paste(img, ((strip.width - img.width) // 2, margin))
        self.p.image(strip)


def text_ticket(slip: TicketSlip, settings: PrinterSettings) -> bytes:
    """The ticket in printer fonts: Chinese in ``FS &`` mode, the number at ``GS !`` 6x, the QR code per settings."""
    w = _Writer(settings)
    w.p.hw("INIT")
    w.p.set(align="center")
    w.big(slip.hall_name, 1, 2)
    w.rule()
    if slip.priority:
        w.p.set(invert=True)
        w.big(f" {ticket.PRIORITY_ZH} ", 2, 2)
        w.p.set(invert=False)
        w.line(ticket.PRIORITY_EN)
        w.line(ticket.PRIORITY_NOTE_ZH)
        w.line(ticket.PRIORITY_NOTE_EN)
    if slip.appointment:
        w.p.set(invert=True)
        w.big(f" {ticket.appointment_zh(slip)} ", 2, 2)
        w.p.set(invert=False)
        w.line(ticket.appointment_en(slip))
    w.big(slip.service_zh, 2, 2)
    w.line(slip.service_en)
    w.blank()
    scale = max(1, min(NUMBER_MAX_SCALE, w.columns // max(1, display_width(slip.number))))
    w.big(slip.number, scale, scale)
    w.blank()
    w.big(ticket.windows_zh(slip), 1, 2)
    w.line(ticket.windows_en(slip))
    w.line(ticket.ahead_zh(slip))
    w.line(ticket.ahead_en(slip))
    wait_zh, wait_en = ticket.wait_zh(slip), ticket.wait_en(slip)
    if wait_zh and wait_en:
        w.line(wait_zh)
        w.line(wait_en)
    w.rule()
    w.qr(slip.tracking_url)
    w.line(ticket.SCAN_ZH)
    w.line(ticket.SCAN_EN)
    w.rule()
    w.big(ticket.NOTICE_ZH, 1, 1)
    w.line(ticket.NOTICE_EN)
    w.line(ticket.issued(slip))
    for extra in (ticket.address_line(slip), ticket.phone_line(slip)):
        if extra:
            w.line(extra)
    w.p.cut()
    return w.p.output


def image_ticket(img: Image.Image, settings: PrinterSettings) -> bytes:
    """The rendered ticket as ``GS v 0`` raster image(s) between init and cut."""
    w = _Writer(settings)
    w.p.hw("INIT")
    w.raster(img)
    w.p.cut()
    return w.p.output


def ticket_bytes(slip: TicketSlip, settings: PrinterSettings) -> bytes:
    """Everything sent to the printer for one ticket, in the configured mode."""
    if settings.mode == "image":
        return image_ticket(render_image(slip, settings), settings)
    return text_ticket(slip, settings)
