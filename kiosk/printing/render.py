"""The whole ticket as a 1-bit Pillow image: printed as a raster in ``image`` mode, saved as the preview PNG."""

from __future__ import annotations

import io
import logging
import threading
from functools import lru_cache
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont

from . import ticket
from .encoding import wrap
from .settings import PrinterSettings
from .ticket import TicketSlip

log = logging.getLogger(__name__)

WHITE, BLACK = 255, 0
_THRESHOLD = 160  # grey above this prints white: thin strokes of small Chinese glyphs survive
_MAX_HEIGHT = 4000
_MIN_FONT = 20
_RENDER_LOCK = threading.Lock()  # the cached FreeType faces are shared; do not draw with them from two threads


@lru_cache(maxsize=64)
def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size)


def qr_image(content: str, box: int) -> Image.Image:
    """A QR code (error correction M, no quiet zone: the caller leaves white around it) as a 1-bit image."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box, border=0)
    code.add_data(content)
    code.make(fit=True)
    return code.make_image().get_image().convert("1")


def qr_box(content: str, target_px: int) -> int:
    """Module size (dots) that makes the QR code about ``target_px`` wide, at least 3 dots a module."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(content)
    code.make(fit=True)
    return max(3, target_px // code.modules_count)


class _Canvas:
    """A tall white strip drawn top to bottom, centred, then cropped."""

    def __init__(self, width: int, font_path: Path) -> None:
        self.width = width
        self.scale = width / 576
        self.font_scale = self.scale ** 0.5  # narrow paper keeps its letters readable: fewer per line instead
        self.margin = round(20 * self.scale)
        self.font_path = font_path
        self.img = Image.new("L", (width, _MAX_HEIGHT), WHITE)
        self.draw = ImageDraw.Draw(self.img)
        self.y = round(16 * self.scale)

    def px(self, value: float) -> int:
        return max(1, round(value * self.scale))

    def font(self, size: float) -> ImageFont.FreeTypeFont:
        """The CJK font at ``size`` (points of the 80 mm layout), never smaller than 20 dots (2.5 mm)."""
        return _font(self.font_path, max(_MIN_FONT, round(size * self.font_scale)))

    def gap(self, value: float) -> None:
        self.y += self.px(value)

    def text(self, text: str, size: float, *, bold: bool = False, fill: int = BLACK) -> None:
        font = self.font(size)
        ascent, descent = font.getmetrics()
        for line in wrap(text, self.width - 2 * self.margin, font.getlength):
            x = (self.width - font.getlength(line)) / 2
            for dx in range(self.px(1.5) + 1 if bold else 1):  # bold = double strike, a dot or two to the right
                self.draw.text((x + dx, self.y), line, font=font, fill=fill, anchor="la")
            self.y += ascent + descent + self.px(4)

    def number(self, text: str) -> None:
        """The ticket number: as large as fits, at most about 30 mm tall on 80 mm paper."""
        size, stroke = self.px(250), self.px(3)
        while True:
            font = _font(self.font_path, size)
            left, top, right, bottom = font.getbbox(text, anchor="ls", stroke_width=stroke)
            if right - left <= self.width - 4 * self.margin or size <= 24:
                break
            size -= 4
        self.draw.text(((self.width - (right - left)) / 2 - left, self.y - top), text, font=font, fill=BLACK,
                       anchor="ls", stroke_width=stroke, stroke_fill=BLACK)
        self.y += bottom - top

    def rule(self) -> None:
        self.gap(10)
        self.draw.line((self.margin, self.y, self.width - self.margin, self.y), fill=BLACK, width=self.px(2))
        self.gap(14)

    def banner(self, text: str, size: float) -> None:
        """White text on a black band (绿色通道)."""
        font = self.font(size)
        ascent, descent = font.getmetrics()
        height = ascent + descent + self.px(12)
        self.draw.rounded_rectangle((self.margin, self.y, self.width - self.margin, self.y + height),
                                    radius=self.px(10), fill=BLACK)
        self.y += self.px(6)
        self.text(text, size, bold=True, fill=WHITE)
        self.y += self.px(6) + self.px(6)

    def image(self, img: Image.Image, quiet: int = 0) -> None:
        """Paste ``img`` centred, with ``quiet`` white dots above and below (a QR code's quiet zone)."""
        self.y += quiet
        self.img.paste(img, ((self.width - img.width) // 2, self.y))
        self.y += img.height + quiet

    def finish(self) -> Image.Image:
        self.gap(24)
        if self.y > _MAX_HEIGHT:
            log.warning("ticket image cut at %d dots (content needs %d)", _MAX_HEIGHT, self.y)
        cropped = self.img.crop((0, 0, self.width, min(self.y, _MAX_HEIGHT)))
        return cropped.point(lambda v: WHITE if v > _THRESHOLD else BLACK).convert("1", dither=Image.Dither.NONE)


def render_image(slip: TicketSlip, settings: PrinterSettings) -> Image.Image:
    """The ticket as a 1-bit image exactly as wide as the paper's printable area (384 or 576 dots)."""
    with _RENDER_LOCK:
        return _draw(slip, settings)


def _draw(slip: TicketSlip, settings: PrinterSettings) -> Image.Image:
    c = _Canvas(settings.paper_dots, settings.font)
    c.text(slip.hall_name, 36, bold=True)
    c.rule()
    if slip.priority:
        c.banner(f"{ticket.PRIORITY_ZH}  {ticket.PRIORITY_EN}", 34)
        c.text(ticket.PRIORITY_NOTE_ZH, 28, bold=True)
        c.text(ticket.PRIORITY_NOTE_EN, 22)
    if slip.appointment:
        c.banner(f"{ticket.appointment_zh(slip)}  {ticket.appointment_en(slip)}", 34)
    c.text(slip.service_zh, 50, bold=True)
    c.text(slip.service_en, 24)
    c.gap(14)
    c.number(slip.number)
    c.gap(22)
    c.text(ticket.windows_zh(slip), 40, bold=True)
    c.text(ticket.windows_en(slip), 26)
    c.gap(8)
    c.text(ticket.ahead_zh(slip), 28)
    c.text(ticket.ahead_en(slip), 22)
    wait_zh, wait_en = ticket.wait_zh(slip), ticket.wait_en(slip)
    if wait_zh and wait_en:
        c.text(wait_zh, 28)
        c.text(wait_en, 22)
    c.rule()
    box = qr_box(slip.tracking_url, round(210 * c.font_scale))
    c.image(qr_image(slip.tracking_url, box), quiet=2 * box)
    c.text(ticket.SCAN_ZH, 24)
    c.text(ticket.SCAN_EN, 20)
    c.rule()
    c.text(ticket.NOTICE_ZH, 32, bold=True)
    c.text(ticket.NOTICE_EN, 22)
    c.gap(6)
    c.text(ticket.issued(slip), 22)
    for extra in (ticket.address_line(slip), ticket.phone_line(slip)):
        if extra:
            c.text(extra, 22)
    return c.finish()


def png_bytes(img: Image.Image) -> bytes:
    """An image as PNG bytes, tagged 203 dpi (the printer's resolution)."""
    buf = io.BytesIO()
    img.save(buf, format="PNG", dpi=(203, 203), optimize=True)
    return buf.getvalue()


def render_png(slip: TicketSlip, settings: PrinterSettings) -> bytes:
    """The ticket as a PNG image."""
    return png_bytes(render_image(slip, settings))
