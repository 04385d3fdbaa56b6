"""The printer interface every backend implements."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod

from .settings import PrinterSettings
from .slip import TicketSlip
from .status import PrinterStatus, PrintResult


class Printer(ABC):
    """A ticket printer. Neither method blocks longer than ``settings.timeout_seconds`` (plus a few ms)."""

    name = "printer"

    def __init__(self, settings: PrinterSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()  # one job at a time per printer; see deadline.run_with_deadline

    @abstractmethod
    def print_slip(self, slip: TicketSlip) -> PrintResult:
        """Print one ticket. Raises :class:`PrinterFault` for every printer problem, nothing else."""

    @abstractmethod
    def status(self) -> PrinterStatus:
        """Ask the printer how it is. Never raises."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"
