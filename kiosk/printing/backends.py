"""Choosing a printer backend, and the ``preview`` backend that prints to files."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from escpos.printer import Serial, Usb

from shared.errors import ConfigError

from .base import Printer
from .deadline import Deadline, run_with_deadline
from .devices import FilePrinter, NetworkPrinter, SerialPrinter, UsbPrinter
from .errors import PrinterFault
from .layout import image_ticket, text_ticket
from .render import png_bytes, render_image
from .settings import PrinterSettings
from .slip import TicketSlip
from .status import PrinterStatus, PrintResult

__all__ = ["Printer", "PreviewPrinter", "make_printer", "preview_stem"]

log = logging.getLogger(__name__)


def preview_stem(slip: TicketSlip) -> str:
    """``20261127-A012-091500``: issue date, number and time, in the slip's own time zone."""
    number = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "_" for ch in slip.number)
    return f"{slip.issued_at:%Y%m%d}-{number}-{slip.issued_at:%H%M%S}"


class PreviewPrinter(Printer):
    """Writes ``<preview_dir>/<stem>.bin`` (the exact printer bytes) and ``<stem>.png`` (how it looks)."""

    name = "preview"

    def print_slip(self, slip: TicketSlip) -> PrintResult:
        started = time.monotonic()
        directory = self.settings.preview_dir

        def job() -> tuple[int, tuple[Path, Path]]:
            image = render_image(slip, self.settings)
            data = image_ticket(image, self.settings) if self.settings.mode == "image" else text_ticket(
                slip, self.settings)
            stem = directory / preview_stem(slip)
            bin_path, png_path = stem.with_suffix(".bin"), stem.with_suffix(".png")
            directory.mkdir(parents=True, exist_ok=True)
            _write(bin_path, data)
            _write(png_path, png_bytes(image))
            return len(data), (bin_path, png_path)

        try:
            sent, files = run_with_deadline(job, Deadline(self.settings.timeout_seconds), what=f"preview {slip.number}",
                                            abort=lambda: None, lock=self._lock)
        except OSError as exc:
            log.error("preview of ticket %s could not be written: %s", slip.number, exc)
            raise PrinterFault("error", f"could not write the ticket preview in {directory}: {exc}") from exc
        log.info("ticket %s previewed as %s", slip.number, files[0].with_suffix(""))
        return PrintResult(self.name, slip.number, sent, True, PrinterStatus(True, "ok", f"written to {directory}"),
                           time.monotonic() - started, files)

    def status(self) -> PrinterStatus:
        directory = self.settings.preview_dir
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return PrinterStatus(False, "unknown", f"cannot create {directory}: {exc.strerror or exc}")
        if not os.access(directory, os.W_OK):
            return PrinterStatus(False, "unknown", f"{directory} is not writable")
        return PrinterStatus(True, "ok", f"previews go to {directory}")


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def make_printer(settings: PrinterSettings) -> Printer:
    """The printer for ``settings.backend``; raises :class:`ConfigError` if its driver library is missing."""
    if settings.backend == "usb" and not Usb.is_usable():
        raise ConfigError("printer.backend", "the usb backend needs pyusb: pip install 'python-escpos[usb]'")
    if settings.backend == "serial" and not Serial.is_usable():
        raise ConfigError("printer.backend", "the serial backend needs pyserial: pip install 'python-escpos[serial]'")
    kinds: dict[str, type[Printer]] = {"preview": PreviewPrinter, "network": NetworkPrinter, "usb": UsbPrinter,
                                       "serial": SerialPrinter, "file": FilePrinter}
    return kinds[settings.backend](settings)
