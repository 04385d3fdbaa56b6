"""The printer interface every backend implements, and what it deals in: the one error it raises for printer
trouble (:class:`PrinterFault`), what a printer says about itself (real-time status ``DLE EOT n``, the outcome of one
print) and the hard deadline a print runs under (blocking I/O in a worker thread, given up after
``timeout_seconds``)."""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

from shared.errors import OneWindowError

from .settings import PrinterSettings
from .ticket import TicketSlip

log = logging.getLogger(__name__)
T = TypeVar("T")


# ------------------------------------------------------------------------------------------------ faults
FAULT_KINDS = frozenset({"offline", "paper_out", "cover_open", "timeout", "error"})


class PrinterFault(OneWindowError):
    """The ticket printer could not print (offline, out of paper, cover open, too slow, or another error)."""

    code = "printer_fault"
    status = 503

    def __init__(self, kind: str, message: str, **details: object) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown printer fault kind {kind!r}")
        self.kind = kind
        super().__init__(message, kind=kind, **details)


# ------------------------------------------------------------------------------------------------ status
Paper = Literal["ok", "low", "out", "unknown"]

# DLE EOT n replies (Epson ESC/POS): bits 1 and 4 are always set, bits 0 and 7 always clear.
_FIXED_MASK, _FIXED_BITS = 0x93, 0x12
_OFFLINE = 0x08  # n=1: printer status, bit 3
_COVER_OPEN = 0x04  # n=2: offline cause, bit 2
_PAPER_STOP = 0x20  # n=2: printing stopped by paper end, bit 5
_NEAR_END = 0x0C  # n=4: roll paper near-end sensor, bits 2-3
_PAPER_END = 0x60  # n=4: roll paper end sensor, bits 5-6


@dataclass(frozen=True)
class PrinterStatus:
    """The printer's state as far as we know it. ``None`` / ``"unknown"`` mean it did not (or cannot) say."""

    online: bool | None
    paper: Paper
    detail: str = ""
    cover_open: bool | None = None

    @property
    def fault(self) -> str | None:
        """The :class:`PrinterFault` kind this status amounts to, or ``None`` when it can print."""
        if self.paper == "out":
            return "paper_out"
        if self.cover_open:
            return "cover_open"
        if self.online is False:
            return "offline"
        return None


UNKNOWN = PrinterStatus(None, "unknown", "the printer did not answer the status query")


@dataclass(frozen=True)
class PrintResult:
    """A print that was handed over without a fault.

    ``confirmed`` is true only when the printer answered a status query *after* the ticket's bytes (so it had
    received all of them) and said it was online with paper; otherwise ``status`` says what is known.
    """

    backend: str
    number: str
    bytes_sent: int
    confirmed: bool
    status: PrinterStatus
    seconds: float
    files: tuple[Path, ...] = field(default=())


def _valid(reply: int | None) -> bool:
    return reply is not None and reply & _FIXED_MASK == _FIXED_BITS


def probe(query: Callable[[int], int | None]) -> PrinterStatus:
    """Ask ``DLE EOT 1`` (printer), ``4`` (paper) and, when offline, ``2`` (why) through ``query(n)``.

    ``query`` returns the reply byte or ``None`` when the printer did not answer in time; an unanswered or
    malformed reply ends the probe with what is known so far.
    """
    printer = query(1)
    if not _valid(printer):
        return UNKNOWN if printer is None else PrinterStatus(None, "unknown", f"odd status reply 0x{printer:02x}")
    online = not printer & _OFFLINE
    paper_reply = query(4)
    paper: Paper = "unknown"
    if _valid(paper_reply):
        paper = "out" if paper_reply & _PAPER_END else "low" if paper_reply & _NEAR_END else "ok"
    cover: bool | None = None
    if not online:
        cause = query(2) if paper_reply is not None else None
        if _valid(cause):
            cover = bool(cause & _COVER_OPEN)
            if cause & _PAPER_STOP:
                paper = "out"
    else:
        cover = False
    return PrinterStatus(online, paper, _describe(online, paper, cover), cover)


def _describe(online: bool, paper: Paper, cover: bool | None) -> str:
    if paper == "out":
        return "out of paper"
    if cover:
        return "cover open"
    if not online:
        return "offline"
    return "online, paper low" if paper == "low" else "online" if paper == "ok" else "online, paper unknown"


# ------------------------------------------------------------------------------------------------ the interface
class Printer(ABC):
    """A ticket printer. Neither method blocks longer than ``settings.timeout_seconds`` (plus a few ms)."""

    name = "printer"

    def __init__(self, settings: PrinterSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()  # one job at a time per printer; see run_with_deadline

    @abstractmethod
    def print_slip(self, slip: TicketSlip) -> PrintResult:
        """Print one ticket. Raises :class:`PrinterFault` for every printer problem, nothing else."""

    @abstractmethod
    def status(self) -> PrinterStatus:
        """Ask the printer how it is. Never raises."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


# ------------------------------------------------------------------------------------------------ the deadline
class Deadline:
    """A point in time (monotonic clock) that a whole print must finish by."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def left(self, floor: float = 0.001) -> float:
        """Seconds left, at least ``floor`` (socket timeouts of 0 would mean non-blocking)."""
        return max(floor, self.at - time.monotonic())

    @property
    def passed(self) -> bool:
        return time.monotonic() >= self.at


def run_with_deadline(job: Callable[[], T], deadline: Deadline, *, what: str, abort: Callable[[], None],
                      lock: threading.Lock) -> T:
    """Run ``job`` in a daemon thread holding ``lock``; raise ``PrinterFault("timeout")`` when the deadline passes.

    ``lock`` (one per printer) keeps jobs from interleaving on the device; the worker releases it when it really
    ends, so a job stuck past its deadline makes the next ones fail fast instead of writing into the same device.
    On timeout ``abort`` is called to unblock the worker (close its socket or device).
    """
    if not lock.acquire(timeout=deadline.left()):
        raise PrinterFault("timeout", f"{what}: the printer is still busy with an earlier job")
    outcome: dict[str, object] = {}
    finished = threading.Event()

    def work() -> None:
        try:
            outcome["value"] = job()
        except BaseException as exc:  # handed to the caller below
            outcome["error"] = exc
        finally:
            finished.set()
            lock.release()

    try:
        threading.Thread(target=work, name=f"printer: {what}", daemon=True).start()
    except BaseException:
        lock.release()
        raise
    if not finished.wait(deadline.left()):
        log.warning("%s: no result within %.1fs, giving up", what, deadline.seconds)
        try:
            abort()
        except Exception:  # aborting is best effort
            log.debug("abort of %s failed", what, exc_info=True)
        raise PrinterFault("timeout", f"{what}: the printer did not finish within {deadline.seconds:g}s")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
