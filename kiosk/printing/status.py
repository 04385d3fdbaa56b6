"""What a printer says about itself: real-time status (``DLE EOT n``) and the outcome of one print."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

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
