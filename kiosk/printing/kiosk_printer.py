"""The kiosk's printer in the server: printing issued tickets, and the printer's health.

One paper ticket per ticket (:meth:`KioskPrinter.print_once`): whether this request prints is decided in Redis from
the ticket's print record (:mod:`shared.print_claims`), not from whether it created the ticket — so a request sent
again after its answer was lost prints a ticket nobody printed, a replay of a printed ticket prints nothing, and a
failed print is printed by the next resend. A print never takes longer than the printer's ``timeout_seconds``; whatever goes wrong, the ticket already exists and the caller gets an outcome, never an
exception. What each print or probe shows is recorded per kiosk through :class:`shared.printer_health.PrinterHealth`
(one script decides and appends ``printer_faulted`` / ``printer_recovered``). Staff see the events and the
supervisor's alerts; citizens only ever see the outcome's ``status``/``reason`` codes, which the kiosk page turns
into sentences.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


from shared.config import Config
from shared.print_claims import PRINTING, PrintClaims
from shared.printer_health import PrinterHealth, Recorded

from .backends import make_printer
from .printer import Printer, PrinterFault, PrinterStatus
from .settings import PrinterSettings
from .ticket import TicketSlip

logger = logging.getLogger(__name__)

DEFAULT_KIOSK = "default"

# print outcome statuses
PRINTED = "printed"
FAILED = "failed"
PREVIEW = "preview"
SKIPPED = "skipped"  # an idempotent replay: the ticket was printed (or not) when it was created


@dataclass(frozen=True)
class PrintOutcome:
    """What the kiosk page learns about the print: a status and a machine reason code (never exception text)."""

    status: str
    reason: str | None = None
    confirmed: bool | None = None

    def to_dict(self) -> dict:
        out: dict = {"status": self.status, "reason": self.reason}
        if self.confirmed is not None:
            out["confirmed"] = self.confirmed
        return out


REPLAYED = PrintOutcome(SKIPPED, "already_issued")  # sent again: the ticket is printed already
PRINTING_ELSEWHERE = PrintOutcome(SKIPPED, "printing")  # sent again while another copy of the request prints it
NO_KIOSK = PrintOutcome(SKIPPED, "no_kiosk")  # issued by another client (phone, API): nothing to print on


def printer_settings(config: Config) -> PrinterSettings:
    """``[printer]`` of ``config`` validated; relative paths from the config file's folder, and previews under
    ``<var_dir>/tickets`` unless ``preview_dir`` says otherwise."""
    base_dir = config.source.resolve().parent if config.source else Path.cwd()
    raw = dict(config.printer)
    raw.setdefault("preview_dir", str(config.var_dir / "tickets"))
    return PrinterSettings.from_mapping(raw, base_dir=base_dir)


def slip_for(ticket: dict, config: Config) -> TicketSlip:
    """The printed content of a public ticket (as :meth:`Engine.public_ticket` returns it, with its tracking URL)."""
    return TicketSlip(
        hall_name=config.hall_name,
        number=ticket["number"],
        service_zh=ticket["service_name"],
        service_en=ticket.get("service_name_en") or "",
        windows=ticket.get("windows") or (),
        ahead=ticket.get("ahead") or 0,
        wait_minutes=ticket.get("estimated_wait_minutes"),
        issued_at=datetime.fromisoformat(ticket["issued_at"]),
        tracking_url=ticket["tracking_url"],
        priority=bool(ticket.get("priority")),
        hall_address=config.hall_address,
        hall_phone=config.hall_phone,
        wait_state=(ticket.get("wait") or {}).get("state"),
        appointment=bool(ticket.get("appointment")),
        slot=ticket.get("slot") or "" if ticket.get("appointment") else "",
    )


class KioskPrinter:
    """The configured printer of this server process, and the record of what it showed."""

    def __init__(self, records: PrinterHealth, printer: Printer) -> None:
        self.records = records
        self.config = records.engine.config
        self.clock = records.engine.clock
        self.printer = printer
        self.backend = printer.settings.backend
        self.claims = PrintClaims(records.engine)
        # a claim stands this long without an outcome (its worker died mid-print): the print's own deadline, the
        # bookkeeping after it, and room for a loaded machine
        self.lease_ms = int(max(15.0, 3 * printer.settings.timeout_seconds) * 1000)

    @classmethod
    def from_config(cls, records: PrinterHealth) -> KioskPrinter:
        """Validate ``[printer]`` and open nothing yet (devices are opened per print)."""
        return cls(records, make_printer(printer_settings(records.engine.config)))

    # -------------------------------------------------------------------------------------------- printing
    def print_once(self, ticket: dict, kiosk: str = "", *, again: bool = False) -> PrintOutcome:
        """Print ``ticket`` (issued now or earlier: a resent request) unless it was printed or another attempt is
        printing it — decided by one script (``print_claim.lua``); then record whether the paper came out. A print
        that failed gives its claim back: the next resend of the request prints. Redis errors of the claim propagate
        (nothing was printed; the kiosk sends the request again), those of the outcome are logged. ``again``: a
        reprint a new request asked for (printed even if printed before, but not while another attempt prints it)."""
        claim = self.claims.claim(ticket["id"], self.lease_ms, again=again)
        if not claim.claimed:
            return PRINTING_ELSEWHERE if claim.state == PRINTING else REPLAYED
        outcome = self.print_ticket(ticket, kiosk)
        try:  # "no exception" is not "printed": the outcome says (sent without a status answer counts as printed)
            self.claims.settle(claim, printed=outcome.status in (PRINTED, PREVIEW))
        except Exception as exc:  # noqa: BLE001 - the ticket is issued and the print done either way
            logger.error("could not record the print of ticket %s: %s (a resend after %s s may print it again)",
                         ticket.get("number"), exc, self.lease_ms // 1000)
        return outcome

    def print_ticket(self, ticket: dict, kiosk: str = "") -> PrintOutcome:
        """Print a ticket now (no claim: see :meth:`print_once`); never raises, never blocks past the printer timeout (plus bookkeeping)."""
        kiosk = kiosk or DEFAULT_KIOSK
        number = ticket.get("number")
        try:
            result = self.printer.print_slip(slip_for(ticket, self.config))
        except PrinterFault as fault:
            self._after_print(kiosk, fault=fault.kind, message=fault.message, number=number)
            return PrintOutcome(FAILED, fault.kind)
        except Exception:  # a bug must not cost the citizen the ticket: it exists, the page shows it
            logger.exception("printing ticket %s failed unexpectedly", number)
            self._after_print(kiosk, fault="error", message="unexpected error while printing (see the server log)",
                              number=number)
            return PrintOutcome(FAILED, "error")
        self._after_print(kiosk, status=result.status, number=number)
        if self.backend == "preview":
            return PrintOutcome(PREVIEW, None, True)
        return PrintOutcome(PRINTED, None, result.confirmed)

    def _after_print(self, kiosk: str, **seen) -> None:
        """Record what a print showed; trouble with the store is logged, never raised (the ticket exists)."""
        try:
            self.observe(kiosk, **seen)
        except Exception as exc:  # noqa: BLE001 - the store's errors included: the ticket is issued either way
            logger.error("could not record the printer state of kiosk %s: %s", kiosk, exc)

    # -------------------------------------------------------------------------------------------- health
    def health(self, kiosk: str) -> dict:
        """Ask the printer now (bounded by its timeout) and report it with what was recorded for ``kiosk``.

        A kiosk that has printed before gets its record updated (and ``printer_recovered`` / ``printer_faulted``
        appended) from a definite answer; an unknown answer changes nothing.
        """
        live = self.printer.status()
        if live.fault:
            recorded = self.observe(kiosk, fault=live.fault, message=live.detail, status=live, probe=True)
        else:
            recorded = self.observe(kiosk, status=live if live.online else None, probe=True)
        state = recorded.state or {}
        fault = live.fault or (state.get("fault") if live.online is None else None)
        return {
            "kiosk": kiosk,
            "status": "faulted" if fault else "ok" if live.online else "unknown",
            "printer": {
                "backend": self.backend,
                "online": live.online,
                "paper": live.paper,
                "cover_open": live.cover_open,
                "detail": live.detail,
                "fault": fault,
                "last_fault": state.get("last_fault"),
                "last_print": state.get("last_print"),
                "checked_at": self.clock.now().isoformat(),
            },
        }

    # -------------------------------------------------------------------------------------------- the record
    def observe(self, kiosk: str, *, fault: str | None = None, message: str = "", status: PrinterStatus | None = None,
                number: str | None = None, probe: bool = False) -> Recorded:
        """Record what one print (``number``) or ``probe`` showed: a ``fault``, or the printer's ``status``
        (neither, on a probe: nothing definite, the record is only read). Redis errors propagate."""
        if probe and not fault and status is None:
            return self.records.record(kiosk, None, probe=True)
        now = self.clock.now().isoformat()
        seen: dict = {"backend": self.backend, "fault": fault, "updated_at": now}
        if status is not None:
            seen.update(online=status.online, paper=status.paper, detail=status.detail)
        elif fault:
            seen["detail"] = message
            if fault == "offline":
                seen["online"] = False
        if number:
            seen["last_print"] = {"number": number, "at": now, "status": FAILED if fault else "ok"}
        if fault:
            seen["last_fault"] = {"kind": fault, "message": message, "at": now, "number": number}
        faulted = {"kiosk": kiosk, "kind": fault, "message": message, "number": number, "backend": self.backend}
        return self.records.record(kiosk, seen, faulted if fault else None, probe=probe)
