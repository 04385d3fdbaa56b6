"""The printers a kiosk can print on, and :func:`make_printer`, which picks one by ``[printer] backend``.

``network``, ``usb``, ``serial`` and ``file`` drive a real ESC/POS device through python-escpos. Every print: open
the device, ask its real-time status (``DLE EOT``) and refuse to send into a printer that is out of paper or open,
send the ticket, ask again (an answer proves every byte before it arrived), close. All of it runs in a worker thread
under one deadline of ``timeout_seconds``. ``preview`` prints to files: the exact printer bytes and a PNG of how the
ticket looks.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from pathlib import Path
from typing import Any

from escpos.constants import RT_STATUS
from escpos.exceptions import DeviceNotFoundError
from escpos.printer import File, Network, Serial, Usb

from shared.errors import ConfigError

from .layout import image_ticket, text_ticket, ticket_bytes
from .printer import UNKNOWN, Deadline, Printer, PrinterFault, PrinterStatus, PrintResult, probe, run_with_deadline
from .render import png_bytes, render_image
from .settings import PrinterSettings
from .ticket import TicketSlip

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------------------ ESC/POS devices
NO_STATUS = PrinterStatus(None, "unknown", "this backend cannot read the printer's status")


def fault_from(exc: BaseException, what: str) -> PrinterFault:
    """Translate whatever the I/O raised into a :class:`PrinterFault`."""
    if isinstance(exc, PrinterFault):
        return exc
    if isinstance(exc, DeviceNotFoundError):
        return PrinterFault("offline", f"{what}: printer not reachable ({' '.join(str(exc).split())})")
    if isinstance(exc, TimeoutError):
        return PrinterFault("timeout", f"{what}: the printer stopped taking data ({exc or 'timed out'})")
    if isinstance(exc, ConnectionError):
        return PrinterFault("offline", f"{what}: the connection to the printer broke ({exc})")
    return PrinterFault("error", f"{what}: {type(exc).__name__}: {exc}")


class _Querier:
    """Asks ``DLE EOT n`` on an open device; after one unanswered question it stops asking (a late answer would
    be read as the reply to the next question)."""

    def __init__(self, printer: EscposPrinter, device: Any, deadline: Deadline) -> None:
        self.printer, self.device, self.deadline = printer, device, deadline
        self.usable = printer.can_query
        self.wait = deadline.seconds

    def ask(self, n: int) -> int | None:
        if not self.usable or self.deadline.passed:
            self.usable = False
            return None
        reply = self.printer._query(self.device, n, min(self.wait, self.deadline.left()))
        if reply is None:
            self.usable = False
        return reply

    def probe(self, wait: float) -> PrinterStatus:
        if not self.usable:
            return NO_STATUS if not self.printer.can_query else UNKNOWN
        self.wait = wait
        status = probe(self.ask)
        if status.online is None:
            self.usable = False
        return status


class EscposPrinter(Printer):
    """Common flow of the python-escpos device backends; subclasses open, query and abort their device."""

    can_query = True

    def _open(self, deadline: Deadline) -> Any:
        raise NotImplementedError

    def _send(self, device: Any, data: bytes, deadline: Deadline) -> None:
        device._raw(data)

    def _query(self, device: Any, n: int, wait: float) -> int | None:
        """The reply byte to ``DLE EOT n``, or ``None`` if none came within ``wait`` seconds."""
        return None

    def _abort(self, device: Any) -> None:
        """Unblock a worker stuck in I/O (called from another thread)."""

    def _close(self, device: Any) -> None:
        device.close()

    def print_slip(self, slip: TicketSlip) -> PrintResult:
        started = time.monotonic()
        deadline = Deadline(self.settings.timeout_seconds)
        what = f"print {slip.number} on {self.name}"
        opened: list[Any] = []

        def job() -> tuple[int, PrinterStatus, bool]:
            data = ticket_bytes(slip, self.settings)
            device = self._open(deadline)
            opened.append(device)
            try:
                return len(data), *self._print(device, data, deadline)
            finally:
                self._close(device)

        try:
            sent, status, confirmed = run_with_deadline(job, deadline, what=what, lock=self._lock,
                                                        abort=lambda: opened and self._abort(opened[0]))
        except Exception as exc:
            fault = fault_from(exc, what)
            log.warning("ticket %s not printed: %s (%s)", slip.number, fault.kind, fault.message)
            if fault is exc:
                raise
            raise fault from exc
        if confirmed:
            log.info("ticket %s printed on %s (%s)", slip.number, self.name, status.detail)
        else:
            log.warning("ticket %s sent to %s but not confirmed: %s", slip.number, self.name, status.detail)
        return PrintResult(self.name, slip.number, sent, confirmed, status, time.monotonic() - started)

    def _print(self, device: Any, data: bytes, deadline: Deadline) -> tuple[PrinterStatus, bool]:
        ask = _Querier(self, device, deadline)
        before = ask.probe(wait=deadline.seconds / 3)
        if before.fault:
            raise PrinterFault(before.fault, f"{self.name}: {before.detail}; the ticket was not sent", sent=False)
        self._send(device, data, deadline)
        after = ask.probe(wait=deadline.seconds)
        if after.fault:
            raise PrinterFault(after.fault, f"{self.name}: {after.detail} after the ticket was sent", sent=True)
        return after, after.online is True and after.paper in ("ok", "low")

    def status(self) -> PrinterStatus:
        deadline = Deadline(self.settings.timeout_seconds)
        opened: list[Any] = []

        def job() -> PrinterStatus:
            device = self._open(deadline)
            opened.append(device)
            try:
                return _Querier(self, device, deadline).probe(wait=deadline.seconds)
            finally:
                self._close(device)

        try:
            return run_with_deadline(job, deadline, what=f"status of {self.name}", lock=self._lock,
                                     abort=lambda: opened and self._abort(opened[0]))
        except Exception as exc:  # status() never raises
            fault = fault_from(exc, self.name)
            online = None if fault.kind in ("timeout", "error") else False
            return PrinterStatus(online, "unknown", fault.message)


class NetworkPrinter(EscposPrinter):
    """A LAN printer on a raw TCP port (9100)."""

    SEND_BUFFER = 16 * 1024  # small: when sendall returns, the printer's TCP stack has taken nearly everything

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"{self.settings.host}:{self.settings.port}"

    def _open(self, deadline: Deadline) -> Network:
        # connecting may take most of the time, not all: an unreachable host is then "offline", not "timeout"
        device = Network(self.settings.host, self.settings.port, timeout=deadline.left() * 0.9,
                         profile=self.settings.profile)
        device.open()
        device.device.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.SEND_BUFFER)
        return device

    def _send(self, device: Network, data: bytes, deadline: Deadline) -> None:
        device.device.settimeout(deadline.left())
        device._raw(data)

    def _query(self, device: Network, n: int, wait: float) -> int | None:
        _drain(device.device)  # a stray earlier reply must not pass for this one
        device.device.settimeout(wait)
        try:
            reply = device.query_status(RT_STATUS + bytes([n]))
        except TimeoutError:
            return None
        if not reply:
            raise ConnectionResetError("the printer closed the connection")
        return reply[-1]

    def _abort(self, device: Network) -> None:
        sock = device._device
        if sock:
            sock.shutdown(socket.SHUT_RDWR)

    def _close(self, device: Network) -> None:
        if device._device:  # unread bytes at close would make it send RST, which can drop unsent data
            _drain(device._device)
        device.close()


def _drain(sock: socket.socket) -> None:
    """Read and drop whatever already arrived on ``sock``, without waiting."""
    try:
        sock.setblocking(False)
        while sock.recv(64):
            pass
    except OSError:
        pass


class UsbPrinter(EscposPrinter):
    """A USB printer (needs pyusb). Untested against hardware here."""

    name = "usb"

    def _open(self, deadline: Deadline) -> Usb:
        device = Usb(self.settings.usb_vendor_id, self.settings.usb_product_id,
                     timeout=max(1, int(deadline.left() * 1000)), profile=self.settings.profile)
        device.open()
        return device

    def _send(self, device: Usb, data: bytes, deadline: Deadline) -> None:
        device.timeout = max(1, int(deadline.left() * 1000))
        device._raw(data)

    def _query(self, device: Usb, n: int, wait: float) -> int | None:
        device._raw(RT_STATUS + bytes([n]))
        try:
            reply = bytes(device.device.read(device.in_ep, 16, max(1, int(wait * 1000))))
        except Exception:  # pyusb raises USBTimeoutError (or USBError) when nothing comes
            return None
        return reply[-1] if reply else None

    def _abort(self, device: Usb) -> None:
        device.close()


class SerialPrinter(EscposPrinter):
    """A serial (RS-232) printer (needs pyserial). Untested against hardware here."""

    name = "serial"

    def _open(self, deadline: Deadline) -> Serial:
        device = Serial(self.settings.serial_device, baudrate=self.settings.baudrate, timeout=deadline.left(),
                        profile=self.settings.profile)
        device.open()
        device.device.write_timeout = deadline.left()
        return device

    def _send(self, device: Serial, data: bytes, deadline: Deadline) -> None:
        device.device.write_timeout = deadline.left()
        device._raw(data)

    def _query(self, device: Serial, n: int, wait: float) -> int | None:
        device.device.timeout = wait
        device._raw(RT_STATUS + bytes([n]))
        reply = device._read()
        return reply[-1] if reply else None

    def _abort(self, device: Serial) -> None:
        device.device.cancel_write()
        device.device.cancel_read()


class FilePrinter(EscposPrinter):
    """Writes the bytes to a file or a device node (``/dev/usb/lp0``); cannot read status back."""

    can_query = False

    @property
    def name(self) -> str:  # type: ignore[override]
        return str(self.settings.file_path)

    def _open(self, deadline: Deadline) -> File:
        device = File(str(self.settings.file_path), profile=self.settings.profile)
        device.open()
        return device

    def status(self) -> PrinterStatus:
        """Whether the file can be written (opening it to check would truncate it)."""
        path = self.settings.file_path
        target = path if path.exists() else path.parent
        if not os.access(target, os.W_OK):
            return PrinterStatus(False, "unknown", f"{target} is not writable")
        return PrinterStatus(None, "unknown", f"{path} is writable; this backend cannot read the printer's status")


# ------------------------------------------------------------------------------------------------ preview files
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
