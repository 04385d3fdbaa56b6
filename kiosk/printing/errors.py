"""The one error the printing package raises for printer trouble."""

from __future__ import annotations

from shared.errors import OneWindowError

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
